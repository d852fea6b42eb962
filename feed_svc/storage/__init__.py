"""Where feed_svc keeps home timelines."""
