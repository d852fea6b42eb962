"""post_svc: posts, their life from PENDING_MEDIA to PUBLISHED, and profile grids."""
