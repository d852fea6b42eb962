"""Who is behind posts, likes and comments: author summaries read from the cache first and
asked of the graph service in one call for all that are missing, so a page costs the same
whatever its size. A ProfileUpdated event drops a summary (see events.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol

from photoshare.graph.v1.user_summary_pb2 import UserSummary

from common.counting import NOT_COUNTED, CacheCounter
from common.errors import InvalidArgument, Unavailable
from post_svc.storage.base import AuthorCache

MAX_AUTHORS = 500  # per call, as the graph service allows


class UserDirectory(Protocol):
    async def summaries(self, user_ids: Sequence[int]) -> dict[int, UserSummary]:
        """Summaries of the known users among `user_ids`."""
        ...


class Authors:
    """Example:
    authors = Authors(UserDirectoryClient(channel, timeout_s=5), make_author_cache(settings))
    summaries = await authors.summaries([post.author_id for post in page])
    """

    def __init__(
        self, directory: UserDirectory, cache: AuthorCache, counted: CacheCounter = NOT_COUNTED
    ) -> None:
        self._directory = directory
        self._cache = cache
        self._counted = counted

    async def summaries(self, user_ids: Sequence[int]) -> dict[int, UserSummary]:
        """The known users among `user_ids`; unknown (erased) ones are left out."""
        unique = list(dict.fromkeys(user_ids))
        if len(unique) > MAX_AUTHORS:
            raise InvalidArgument(f"at most {MAX_AUTHORS} authors per call", field="author_ids")
        if not unique:
            return {}
        try:
            cached = await self._cache.get_many(unique)
        except Unavailable:
            cached = {}  # the cache is down: graph_svc answers the whole page
        found = {i: UserSummary.FromString(data) for i, data in cached.items()}
        missing = [i for i in unique if i not in found]
        self._counted.count(len(found), len(missing))
        if missing:
            fetched = await self._directory.summaries(missing)
            with contextlib.suppress(Unavailable):  # a fill only saves the next read work
                await self._cache.fill({i: s.SerializeToString() for i, s in fetched.items()})
            found.update(fetched)
        return found

    async def forget(self, user_id: int) -> None:
        """The user's profile changed: the next read asks the graph service again. Raises
        `Unavailable` while the cache is down (the ProfileUpdated event waits for it)."""
        await self._cache.invalidate(user_id)
