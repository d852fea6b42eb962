"""Notifications, the second kind of feed: who followed a user, liked or commented on their
posts, built from the event log.

Likes of one post are one entry that grows, the way Stream-Framework's aggregated feeds do:
the entry keeps its actor count and its latest actors, and moves to the top (a new position)
when someone else likes the post. A follow and a comment are an entry each.

Every change is idempotent, and safe against a crash between its writes, because an event is
redelivered until it is handled:
- an actor is recorded in an entry last; an actor already recorded changes nothing (so a
  redelivered like, or a like taken back and given again after the entry was read, does not
  notify twice);
- the entry remembers the ids of the latest events applied to it, so an event that updated
  the entry but crashed before recording its actor only records the actor on redelivery.
Events of one entry arrive in order: likes and comments are keyed by post, follows by
follower.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, replace

from common.errors import InvalidArgument, check_page_size
from common.ids import IdGenerator, now_ms
from common.signing import KeysetCursor, Signer
from feed_svc.models import (
    FollowGraph,
    Hydration,
    Notification,
    NotificationEvents,
    NotificationGroup,
    NotificationKind,
    NotificationPage,
    PostSource,
)
from feed_svc.storage.base import NotificationStore

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
CATCH_UP_BATCH = 8  # entries a live stream reads first when told something changed
SHOWN_ACTORS = 3  # the latest actors a notification names
KEPT_ACTORS = 15  # the latest actors an entry remembers (Stream-Framework keeps 15)
KEPT_EVENT_IDS = 15  # events applied to an entry, remembered to apply each once
UNREAD_CAP = 1000  # unread entries are counted up to this
ERASE_BATCH = 500  # entries an erased user is taken out of, per round
MAX_COMMENT_CHARS = 100  # of a comment's text, quoted in its notification


class Notifications:
    """Example:
    notifications = Notifications(
        store, graph_client, cached_posts, ids, Signer(secret, ...)
    )
    await notifications.liked(post_id, post_author_id, user_id, event_id)
    page = await notifications.page(post_author_id, page_size=20, page_token="")
    """

    def __init__(
        self,
        store: NotificationStore,
        graph: FollowGraph,
        posts: PostSource,
        ids: IdGenerator,
        page_signer: Signer,
        clock: Callable[[], int] = now_ms,
        events: NotificationEvents | None = None,
    ) -> None:
        """`events`: told when a user has a new entry at the top (their open streams read
        it); default: nobody."""
        self._store = store
        self._events = events
        self._graph = graph
        self._posts = posts
        self._ids = ids
        self._pages = KeysetCursor(page_signer, what="page_token")
        self._clock = clock

    # What the event log tells: each adds an actor to an entry, or takes one back.

    async def followed(self, follower_id: int, followed_id: int, event_id: str) -> None:
        subject = _Subject(f"follow:{follower_id}", NotificationKind.FOLLOW)
        await self._add(followed_id, subject, follower_id, event_id)

    async def unfollowed(self, follower_id: int, followed_id: int, event_id: str) -> None:
        await self._take_back(followed_id, f"follow:{follower_id}", follower_id, event_id)

    async def liked(self, post_id: int, author_id: int, user_id: int, event_id: str) -> None:
        subject = _Subject(f"like:{post_id}", NotificationKind.LIKE, post_id=post_id)
        await self._add(author_id, subject, user_id, event_id)

    async def unliked(self, post_id: int, author_id: int, user_id: int, event_id: str) -> None:
        await self._take_back(author_id, f"like:{post_id}", user_id, event_id)

    async def commented(
        self, comment_id: int, post_id: int, author_id: int, user_id: int, text: str, event_id: str
    ) -> None:
        subject = _Subject(
            f"comment:{comment_id}",
            NotificationKind.COMMENT,
            post_id=post_id,
            comment_id=comment_id,
            comment_text=text[:MAX_COMMENT_CHARS],
        )
        await self._add(author_id, subject, user_id, event_id)

    async def comment_deleted(
        self, comment_id: int, author_id: int, user_id: int, event_id: str
    ) -> None:
        await self._take_back(author_id, f"comment:{comment_id}", user_id, event_id)

    async def post_deleted(self, author_id: int, post_id: int) -> None:
        """The author's entries about a deleted post go, with their actors."""
        for group in await self._store.groups_about_post(author_id, post_id):
            await self._store.delete_group(author_id, group)

    # What the user asks.

    async def page(self, recipient_id: int, page_size: int, page_token: str) -> NotificationPage:
        size = check_page_size(
            page_size, name="page_size", default=DEFAULT_PAGE_SIZE, maximum=MAX_PAGE_SIZE
        )
        before = self._pages.decode(page_token, recipient_id)[0] if page_token else None
        groups = await self._store.page(recipient_id, before, size + 1)
        more = len(groups) > size
        groups = groups[:size]
        token = self._pages.encode(recipient_id, (groups[-1].position, 0)) if more else None
        return await self._shown(recipient_id, groups, token)

    async def above(self, recipient_id: int, position: int, limit: int) -> NotificationPage | None:
        """The entries above `position`, newest first, as a page shows them (a live stream's
        catching up); None when there are more than `limit`."""
        newer: list[NotificationGroup] = []
        before: int | None = None
        batch = CATCH_UP_BATCH  # usually one or two are new: read a few, more only if needed
        while True:
            groups = await self._store.page(recipient_id, before, batch)
            above = [g for g in groups if g.position > position]
            newer += above
            if len(newer) > limit:
                return None
            if len(above) < len(groups) or len(groups) < batch:
                return await self._shown(recipient_id, newer, None)
            before, batch = groups[-1].position, MAX_PAGE_SIZE

    async def _shown(
        self, recipient_id: int, groups: list[NotificationGroup], token: str | None
    ) -> NotificationPage:
        read_up_to = await self._store.read_up_to(recipient_id)
        shown = {g.key: g.recent_actor_ids[:SHOWN_ACTORS] for g in groups}
        # The page's people and posts, one call each, and whether a post was deleted (its
        # entries are then left out until the deletion removes them), asked together.
        post_ids = sorted({g.post_id for g in groups if g.post_id})
        actors, posts, hydration = await asyncio.gather(
            self._graph.summaries(sorted({a for ids in shown.values() for a in ids})),
            self._posts.get_many(post_ids),
            self._deletions(post_ids, recipient_id),
        )
        unread = await self._store.count_above(recipient_id, read_up_to, UNREAD_CAP)
        # Actors whose accounts are being erased have no summary: an entry left with nobody
        # to show goes until their erasure takes it back.
        visible = {key: [actors[a] for a in ids if a in actors] for key, ids in shown.items()}
        notifications = [
            Notification(g, visible[g.key], g.position <= read_up_to, posts.get(g.post_id))
            for g in groups
            if visible[g.key] and not (g.post_id and hydration.deleted(g.post_id))
        ]
        return NotificationPage(notifications, unread, token)

    async def _deletions(self, post_ids: list[int], reader_id: int) -> Hydration:
        if not post_ids:
            return Hydration({}, {})
        return await self._posts.hydrate(post_ids, [], reader_id)

    async def mark_read(self, recipient_id: int, up_to: str) -> int:
        """Marks everything up to the notification id `up_to` read; returns the unread count."""
        try:
            position = int(up_to)
        except ValueError:
            position = -1
        if not 0 < position < 2**63:
            raise InvalidArgument(
                "upTo must be the id of a notification",
                reason="INVALID_NOTIFICATION_ID",
                field="up_to",
            )
        await self._store.mark_read(recipient_id, position)
        read_up_to = await self._store.read_up_to(recipient_id)
        return await self._store.count_above(recipient_id, read_up_to, UNREAD_CAP)

    async def _add(
        self, recipient_id: int, subject: _Subject, actor_id: int, event_id: str
    ) -> None:
        if actor_id == recipient_id:
            return  # your own actions never notify you
        if await self._store.has_actor(recipient_id, subject.key, actor_id):
            return
        group = await self._store.group(recipient_id, subject.key)
        if group is None and subject.post_id and await self._is_deleted(subject.post_id):
            return  # a like or comment whose event arrives after its post's deletion
        if group is None or event_id not in group.applied:
            updated = self._with_actor(group, subject, actor_id, event_id)
            await self._store.save_group(
                recipient_id, updated, group.position if group is not None else None
            )
        if self._events is not None:
            # Before the actor is recorded: a crash in between tells the streams again.
            await self._events.changed(recipient_id)
        await self._store.add_actor(recipient_id, subject.key, actor_id)

    async def _is_deleted(self, post_id: int) -> bool:
        return (await self._deletions([post_id], 0)).deleted(post_id)

    async def _take_back(self, recipient_id: int, key: str, actor_id: int, event_id: str) -> None:
        """Undone before it was read, an action no longer notifies; once read, it stays."""
        if not await self._store.has_actor(recipient_id, key, actor_id):
            return
        group = await self._store.group(recipient_id, key)
        if group is not None and event_id not in group.applied:
            if group.position <= await self._store.read_up_to(recipient_id):
                return
            await self._without_actor(recipient_id, group, actor_id, event_id)
        await self._store.remove_actor(recipient_id, key, actor_id)

    async def _without_actor(
        self, recipient_id: int, group: NotificationGroup, actor_id: int, applied_id: str
    ) -> None:
        """The group one actor smaller, `applied_id` recorded so that it is not done twice;
        a group left with nobody goes."""
        if group.actor_count <= 1:
            await self._store.delete_group(recipient_id, group)
            return
        smaller = replace(
            group,
            actor_count=group.actor_count - 1,
            recent_actor_ids=tuple(a for a in group.recent_actor_ids if a != actor_id),
            applied=(*group.applied, applied_id)[-KEPT_EVENT_IDS:],
        )
        await self._store.save_group(recipient_id, smaller, group.position)

    async def erase_user(self, user_id: int) -> None:
        """An erased account: its own notifications go, and it leaves every entry it is an
        actor of, read or not (an entry left with nobody goes). Idempotent."""
        await self._store.erase_recipient(user_id)
        while found := await self._store.groups_with_actor(user_id, ERASE_BATCH):
            for recipient_id, key in found:
                group = await self._store.group(recipient_id, key)
                marker = f"erased:{user_id}"  # a crash before the actor goes repeats nothing
                if group is not None and marker not in group.applied:
                    await self._without_actor(recipient_id, group, user_id, marker)
                await self._store.remove_actor(recipient_id, key, user_id)

    def _with_actor(
        self, group: NotificationGroup | None, subject: _Subject, actor_id: int, event_id: str
    ) -> NotificationGroup:
        """The group with one more actor, at a new position at the top."""
        position = self._ids.next_id()
        if group is None:
            return NotificationGroup(
                key=subject.key,
                kind=subject.kind,
                position=position,
                updated_at_ms=self._clock(),
                actor_count=1,
                recent_actor_ids=(actor_id,),
                applied=(event_id,),
                post_id=subject.post_id,
                comment_id=subject.comment_id,
                comment_text=subject.comment_text,
            )
        recent = (actor_id, *(a for a in group.recent_actor_ids if a != actor_id))
        return replace(
            group,
            position=position,
            updated_at_ms=self._clock(),
            actor_count=group.actor_count + 1,
            recent_actor_ids=recent[:KEPT_ACTORS],
            applied=(*group.applied, event_id)[-KEPT_EVENT_IDS:],
        )


@dataclass(frozen=True, slots=True)
class _Subject:
    """What an entry is about, as an event tells it."""

    key: str
    kind: NotificationKind
    post_id: int = 0
    comment_id: int = 0
    comment_text: str = ""
