"""What every Photoshare service needs: settings, ids, errors, server bootstrap, events."""
