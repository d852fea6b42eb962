"""Where graph_svc keeps users, tokens, follows and counters."""
