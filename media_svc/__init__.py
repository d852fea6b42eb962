"""media_svc: upload slots, photo validation and processing, media serving."""
