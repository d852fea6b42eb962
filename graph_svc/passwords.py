"""Password hashing: Argon2id through argon2-cffi, off the event loop (docs/adr/0006)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

T = TypeVar("T")


class Argon2Passwords:
    """argon2-cffi's default profile (RFC 9106 low-memory: t=3, 64 MiB, p=4), about 0.1 s a
    hash here. Hashes run on their own few threads: each takes 64 MiB and a core for 0.1 s, so
    a burst of sign-ins queues here instead of starving the service.

    Example:
        passwords = Argon2Passwords()
        stored = await passwords.hash("correct horse")
        assert await passwords.verify(stored, "correct horse")
    """

    def __init__(self, hasher: argon2.PasswordHasher | None = None, *, threads: int = 2) -> None:
        self._hasher = hasher or argon2.PasswordHasher()
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="argon2")
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """Whether the password matches; with no stored hash (no such user, or no password
        set) a dummy hash is verified instead, as slowly, and the answer is False."""
        if stored_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash("no password matches this hash")
            await self._run(self._matches, self._dummy, password)
            return False
        return await self._run(self._matches, stored_hash, password)

    def needs_rehash(self, stored_hash: str) -> bool:
        """The hash was made with other parameters than today's (upgraded at sign-in)."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True

    def _matches(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)
