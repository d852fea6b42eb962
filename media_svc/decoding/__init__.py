"""The decoding side of media_svc: what runs in the worker processes, never in the service.

Everything here but `contract` parses untrusted bytes (libvips, ffmpeg) and blocks; the
service process imports `media_svc.decoding.contract` only (make lint checks it), so it never
loads a decoder. Keep this file free of imports for the same reason.
"""
