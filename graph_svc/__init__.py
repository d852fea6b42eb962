"""graph_svc: users, API tokens and the follow graph."""
