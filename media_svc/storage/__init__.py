"""Where media_svc keeps upload slots (metadata) and bytes (originals and renditions)."""
