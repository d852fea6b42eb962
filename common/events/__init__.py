"""The event log between services: interfaces, the proto codec, and the embedded backend."""
