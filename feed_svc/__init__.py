"""feed_svc: the hybrid home feed (fan-out on write, celebrity posts pulled at read time)."""
