"""Erasing an account: hidden at once, then everything it left deleted, step by step.

The erasure is a row in the graph store with the step it reached; the runner takes each step
to its end, records the next, and after a crash or restart starts again at the recorded
step. Every step can run again without harm: deleting what is gone deletes nothing, and an
event sent twice is handled once downstream.

Steps:
- HIDE (in the request): the user is marked erased (profile and username lookups answer 404,
  summaries leave them out, so their posts, likes and comments drop from every read once
  post_svc drops its cached summary, which it is asked to at once), every session is signed
  out, the password goes, `UserErased` is announced.
- FOLLOWS: every edge, both ways, is removed with its counts, announced as an unfollow (the
  feed drops the posts, notifications the follow).
- POSTS: post_svc deletes each of their posts as a post deletion does, and keeps of each only
  an anonymous tombstone (so that no late event brings it back).
- MEDIA: media_svc deletes every upload of theirs (posts' media and avatars) with the files
  and the renditions nobody else uses, then the upload rows.
- ENGAGEMENT: post_svc takes back their likes and comments on other posts, as unliking and
  deleting them do (counts corrected, notifications taken back).
- FEEDS: feed_svc drops their timeline and notifications, and takes them out of every entry
  they are an actor of (read ones too).
- ACCOUNT: profile, avatar, counters and remembered requests.
- RELEASE (once the grace period is over): the user row goes and the username is free.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from common.errors import NotFound, Unavailable
from common.ids import now_ms
from graph_svc.caching import CachedFollowing
from graph_svc.models import Erasure
from graph_svc.sessions import Sessions
from graph_svc.storage.base import GraphStore

log = logging.getLogger(__name__)

STEPS = ("HIDE", "FOLLOWS", "POSTS", "MEDIA", "ENGAGEMENT", "FEEDS", "ACCOUNT", "RELEASE", "DONE")
HIDE, FOLLOWS, POSTS, MEDIA, ENGAGEMENT, FEEDS, ACCOUNT, RELEASE, DONE = STEPS
NEXT_STEP = dict(itertools.pairwise(STEPS))


class ErasureEvents(Protocol):
    async def follow_changed(self, follower_id: int, followed_id: int, following: bool) -> None: ...

    async def user_erased(self, user_id: int) -> None: ...


class FeedEraser(Protocol):
    async def erase_feeds(self, user_id: int) -> None:
        """The user's timeline and notifications go, and they leave others' notifications."""
        ...


class MediaEraser(Protocol):
    async def erase_media(self, author_id: int, limit: int) -> bool:
        """Deletes up to `limit` uploads of the author; whether any are left."""
        ...


class PostEraser(Protocol):
    async def erase_posts(self, author_id: int, limit: int) -> bool:
        """Deletes up to `limit` of the author's posts; whether any are left."""
        ...

    async def erase_engagement(self, user_id: int, limit: int) -> bool:
        """Takes back up to `limit` likes and comments of the user; whether any are left."""
        ...

    async def forget_author(self, user_id: int) -> None:
        """Drops the user's cached summary, so that their content is hidden at once."""
        ...


@dataclass(frozen=True, slots=True)
class ErasurePolicy:
    grace_ms: int = 30 * 86_400_000  # until the username is free again
    edges_per_round: int = 100  # follows removed concurrently
    items_per_call: int = 100  # posts, uploads, or likes and comments
    sweep_s: float = 5.0  # how often the runner looks for erasures to resume or release


class Erasures:
    """Example:
    erasures = Erasures(store, sessions, following, events, posts, media, feeds)
    erasure = await erasures.request(user_id)   # DELETE /v1/users/me
    await erasures.run()                         # the worker, until cancelled
    """

    def __init__(
        self,
        store: GraphStore,
        sessions: Sessions,
        following: CachedFollowing,
        events: ErasureEvents,
        posts: PostEraser,
        media: MediaEraser,
        feeds: FeedEraser,
        policy: ErasurePolicy = ErasurePolicy(),
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._following = following
        self._events = events
        self._posts = posts
        self._media = media
        self._feeds = feeds
        self._policy = policy
        self._clock = clock
        self._wake = asyncio.Event()
        self._steps: dict[str, Callable[[Erasure], Awaitable[None]]] = {
            HIDE: self._hide,
            FOLLOWS: self._follows,
            POSTS: self._erase_posts,
            MEDIA: self._erase_media,
            ENGAGEMENT: self._erase_engagement,
            FEEDS: self._erase_feeds,
            ACCOUNT: self._account,
            RELEASE: self._release,
        }

    async def request(self, user_id: int) -> Erasure:
        """Starts erasing the user; they are hidden when this returns."""
        found = await self._store.get_users([user_id])
        if user_id not in found:
            raise NotFound(f"user {user_id} does not exist", reason="USER_NOT_FOUND")
        now = self._clock()
        erasure = await self._store.start_erasure(
            Erasure(user_id, found[user_id].username, HIDE, now, now + self._policy.grace_ms)
        )
        if erasure.step == HIDE:
            await self._hide(erasure)
            erasure = await self._reached(erasure, FOLLOWS)
        self._wake.set()
        return erasure

    async def status(self, user_id: int) -> Erasure | None:
        """The erasure of the user, if one is under way (a finished one is forgotten)."""
        return next((e for e in await self._store.erasures() if e.user_id == user_id), None)

    async def run(self) -> None:
        """Advances every erasure under way, now and whenever one is requested or the sweep
        comes round, until cancelled."""
        while True:
            for erasure in await self._store.erasures():
                # A failed step was logged; it is taken up again at the next round.
                with contextlib.suppress(Exception):
                    await self.advance(erasure)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._policy.sweep_s)
            self._wake.clear()

    async def advance(self, erasure: Erasure) -> Erasure:
        """Runs the erasure's steps in order until it is done, or waits for its release."""
        while erasure.step != DONE:
            if erasure.step == RELEASE and self._clock() < erasure.release_at_ms:
                return erasure
            started = time.perf_counter()
            try:
                await self._steps[erasure.step](erasure)
            except Exception:
                log.exception("erasure of user %d stopped at %s", erasure.user_id, erasure.step)
                raise
            took_s = time.perf_counter() - started
            log.info("erasure of user %d: %s took %.2f s", erasure.user_id, erasure.step, took_s)
            erasure = await self._reached(erasure, NEXT_STEP[erasure.step])
        await self._store.finish_erasure(erasure.user_id)
        log.info("user %d is erased", erasure.user_id)
        return erasure

    async def _reached(self, erasure: Erasure, step: str) -> Erasure:
        erasure = replace(erasure, step=step)
        await self._store.save_erasure(erasure)
        return erasure

    async def _hide(self, erasure: Erasure) -> None:
        await self._store.mark_erased(erasure.user_id, self._clock())
        await self._sessions.erase(erasure.user_id)
        await self._events.user_erased(erasure.user_id)
        # At once, not when the event arrives; if post_svc cannot be asked, the event does it.
        try:
            await self._posts.forget_author(erasure.user_id)
        except Unavailable:
            log.warning("post_svc unavailable: user %d is hidden by the event", erasure.user_id)

    async def _follows(self, erasure: Erasure) -> None:
        user_id, size = erasure.user_id, self._policy.edges_per_round
        # Announced before removed: a crash in between repeats both, never loses the event.
        while followees := await self._store.followees(user_id, 0, size):
            await asyncio.gather(*(self._unfollow(user_id, f.user_id) for f in followees))
        while followers := await self._store.follower_ids(user_id, 0, size):
            await asyncio.gather(*(self._unfollow(f, user_id) for f in followers))

    async def _unfollow(self, follower_id: int, followed_id: int) -> None:
        await self._events.follow_changed(follower_id, followed_id, False)
        await self._store.remove_follow(follower_id, followed_id)
        await self._following.changed(follower_id)

    async def _erase_posts(self, erasure: Erasure) -> None:
        await self._in_batches(self._posts.erase_posts, erasure.user_id)

    async def _erase_media(self, erasure: Erasure) -> None:
        await self._in_batches(self._media.erase_media, erasure.user_id)

    async def _erase_engagement(self, erasure: Erasure) -> None:
        await self._in_batches(self._posts.erase_engagement, erasure.user_id)

    async def _in_batches(self, erase: Callable[[int, int], Awaitable[bool]], user_id: int) -> None:
        """Calls another service's erasure until it says nothing is left."""
        while await erase(user_id, self._policy.items_per_call):
            pass

    async def _erase_feeds(self, erasure: Erasure) -> None:
        await self._feeds.erase_feeds(erasure.user_id)

    async def _account(self, erasure: Erasure) -> None:
        await self._store.erase_account_rows(erasure.user_id)

    async def _release(self, erasure: Erasure) -> None:
        await self._store.release_user(erasure.user_id, erasure.username)
