"""Bearer tokens: made by graph_svc, known everywhere else only by their hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    return "ps_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    # Tokens are 256 random bits, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).digest()
