"""gateway: REST/JSON for external clients, routed from the protos' google.api.http rules."""
