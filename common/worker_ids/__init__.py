"""Worker ids that no two live processes share: leased from the store in production
(`lease.py`, `cassandra.py`), locked in a file embedded (`lock_file.py`)."""
