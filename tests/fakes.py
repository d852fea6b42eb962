"""In-memory stand-ins for remote services and gRPC contexts, for unit tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import replace
from typing import Any, cast

import grpc
from photoshare.events.v1 import events_pb2
from photoshare.graph.v1.user_summary_pb2 import UserSummary
from photoshare.post.v1 import post_service_pb2 as post_pb

from common.events.codec import decode
from common.events.memory import InMemoryEventLog
from common.metadata import as_caller
from feed_svc.models import (
    Candidate,
    Engagement,
    FeedEntry,
    FeedKey,
    Followee,
    Hydration,
    ReaderFollows,
)


class FakeGraph:
    def __init__(self) -> None:
        self.follows: set[tuple[int, int]] = set()  # (follower, followed)

    def follow(self, follower: int, followed: int) -> None:
        self.follows.add((follower, followed))

    def unfollow(self, follower: int, followed: int) -> None:
        self.follows.discard((follower, followed))

    async def follower_count(self, user_id: int) -> int:
        return sum(1 for _, b in self.follows if b == user_id)

    async def follower_id_chunks(
        self, user_id: int, chunk_size: int
    ) -> AsyncGenerator[list[int], None]:
        ids = sorted(a for a, b in self.follows if b == user_id)
        for start in range(0, len(ids), chunk_size):
            yield ids[start : start + chunk_size]

    async def followees(self, user_id: int) -> list[Followee]:
        return [Followee(b, await self.follower_count(b)) for a, b in self.follows if a == user_id]

    async def filter_followed(self, user_id: int, candidate_ids: Sequence[int]) -> set[int]:
        return {c for c in candidate_ids if (user_id, c) in self.follows}

    async def reader_follows(
        self, user_id: int, candidate_ids: Sequence[int], min_follower_count: int
    ) -> ReaderFollows:
        big = [
            f.user_id
            for f in await self.followees(user_id)
            if f.follower_count >= min_follower_count
        ]
        return ReaderFollows(await self.filter_followed(user_id, candidate_ids), big)

    async def summaries(self, user_ids: Sequence[int]) -> dict[int, UserSummary]:
        """Every id is a user named `user<id>`."""
        return {i: UserSummary(id=i, username=f"user{i}") for i in user_ids}


class FakePosts:
    def __init__(self) -> None:
        self.posts: dict[int, post_pb.Post] = {}
        self.engagements: dict[tuple[int, int], Engagement] = {}  # (post, reader)
        self.hydrations: list[tuple[list[int], list[int]]] = []  # (post ids, author ids) asked
        self.deleted: set[int] = set()  # deleted by their authors, still in timelines and caches
        self.get_many_calls = 0
        self.recent_calls: list[list[int]] = []  # the authors of each `recent` asked
        self._next_id = 1

    def add_published(self, author_id: int, at_ms: int) -> FeedEntry:
        post = post_pb.Post(
            id=self._next_id,
            author_id=author_id,
            state=post_pb.POST_STATE_PUBLISHED,
            caption=f"post {self._next_id}",
        )
        post.published_at.FromMilliseconds(at_ms)
        self.posts[post.id] = post
        self._next_id += 1
        return FeedEntry(at_ms, post.id, author_id)

    async def get_many(self, post_ids: Sequence[int]) -> dict[int, post_pb.Post]:
        self.get_many_calls += 1
        return {i: self.posts[i] for i in post_ids if i in self.posts}

    async def hydrate(
        self, post_ids: Sequence[int], author_ids: Sequence[int], reader_id: int
    ) -> Hydration:
        self.hydrations.append((list(post_ids), list(author_ids)))
        return Hydration(
            {
                i: replace(
                    self.engagements.get((i, reader_id), Engagement()), deleted=i in self.deleted
                )
                for i in post_ids
            },
            {i: UserSummary(id=i, username=f"user{i}") for i in author_ids},
        )

    async def recent(
        self, author_ids: Sequence[int], before: FeedKey | None, limit: int
    ) -> AsyncGenerator[list[Candidate], None]:
        self.recent_calls.append(list(author_ids))
        authors = set(author_ids)
        matching = sorted(
            (
                p
                for p in self.posts.values()
                if p.author_id in authors and (before is None or _key(p) < before)
            ),
            key=_key,
            reverse=True,
        )[:limit]
        for start in range(0, len(matching), 7):  # small batches, to exercise batching
            yield [
                Candidate(FeedEntry(*_key(p), p.author_id), p) for p in matching[start : start + 7]
            ]


def _key(post: post_pb.Post) -> FeedKey:
    return (post.published_at.ToMilliseconds(), post.id)


class _Context:
    def __init__(self, user_id: int | None) -> None:
        self._metadata = as_caller(user_id) if user_id is not None else ()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    async def send_initial_metadata(self, metadata: tuple[tuple[str, str], ...]) -> None:
        """A streaming RPC's headers, sent before its first message."""


def context_of(user_id: int | None = None) -> grpc.aio.ServicerContext[Any, Any]:
    """A servicer context with what the servicers read of it: the caller (None: anonymous)."""
    return cast("grpc.aio.ServicerContext[Any, Any]", _Context(user_id))


def decoded(log: InMemoryEventLog, topic: str) -> list[tuple[str, events_pb2.Event]]:
    """(key, event) of everything published on `topic`, oldest first."""
    return [(r.key, decode(r)) for r in log.published(topic)]
