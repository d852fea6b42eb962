"""Where post_svc keeps posts."""
