"""HMAC signing of opaque tokens (cursors, upload URLs) with the mesh's shared secret."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
from pathlib import Path

from common.errors import InvalidArgument
from common.files import private_dir, private_opener

_TAG_BYTES = 16


def load_secret(configured: str, data_dir: Path) -> bytes:
    """The configured secret, or one made once and kept in the data directory."""
    if configured:
        return configured.encode()
    private_dir(data_dir)
    path = data_dir / "secret.key"
    if not path.exists():
        # Every service starts at once: write aside, then link, so all of them read one secret.
        tmp = data_dir / f".secret.{os.getpid()}.tmp"
        with open(tmp, "xb", opener=private_opener) as file:
            file.write(secrets.token_bytes(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


class Signer:
    """Turns bytes into a URL-safe token that cannot be altered without the secret.

    Example:
        signer = Signer(secret, purpose="feed-cursor")
        token = signer.sign(b"...")
        payload = signer.verify(token, what="cursor")
    """

    def __init__(self, secret: bytes, *, purpose: str) -> None:
        # One key per purpose, so a token made for one use is worthless for another.
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()

    def tag(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def sign(self, payload: bytes) -> str:
        return base64.urlsafe_b64encode(payload + self.tag(payload)).rstrip(b"=").decode()

    def verify(self, token: str, *, what: str) -> bytes:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if len(raw) <= _TAG_BYTES or not hmac.compare_digest(tag, self.tag(payload)):
            raise InvalidArgument(
                f"{what} is not valid: pass the value from a previous response unchanged",
                field=what,
            )
        return payload


class KeysetCursor:
    """Opaque page tokens over a (time, id) key, bound to the list they page.

    Example:
        cursors = KeysetCursor(Signer(secret, purpose="feed-cursor"), what="cursor")
        token = cursors.encode(reader_id, (published_at_ms, post_id))
        key = cursors.decode(token, reader_id)
    """

    _LAYOUT = struct.Struct(">qqq")

    def __init__(self, signer: Signer, *, what: str) -> None:
        self._signer = signer
        self._what = what

    def encode(self, owner: int, key: tuple[int, int]) -> str:
        return self._signer.sign(self._LAYOUT.pack(owner, *key))

    def decode(self, token: str, owner: int) -> tuple[int, int]:
        payload = self._signer.verify(token, what=self._what)
        try:
            signed_owner, first, second = self._LAYOUT.unpack(payload)
        except struct.error:
            signed_owner = None
        if signed_owner != owner:
            # Signed, but for another list: replaying it here would page the wrong data.
            raise InvalidArgument(
                f"{self._what} belongs to another list; start without it", field=self._what
            )
        return (first, second)
