"""Ways to run Photoshare: `python -m deploy.local` runs the whole mesh on one machine."""
