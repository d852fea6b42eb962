"""The home feed's read path: merge, cursor, celebrities, unfollow, trimming, cold start."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import pytest

from common.errors import InvalidArgument, Unavailable
from common.signing import Signer
from feed_svc.fanout import Fanout, FanoutPolicy
from feed_svc.feed import FeedPolicy, HomeFeed
from feed_svc.models import Engagement, FeedEntry, FeedKey, PulledAuthor, TimelinePage
from feed_svc.storage.memory import InMemoryTimelineStore
from feed_svc.storage.memory_pulled import InMemoryPulledAuthors
from feed_svc.threshold import AdaptiveThreshold, ThresholdPolicy
from tests.fakes import FakeGraph, FakePosts

READER = 1
THRESHOLD = 3


# The threshold held still; tests/unit/feed_svc/test_threshold.py moves it.
FIXED = ThresholdPolicy(start=THRESHOLD, minimum=THRESHOLD, maximum=THRESHOLD)
SMALL_CHUNKS = FanoutPolicy(chunk_size=2)


class World:
    def __init__(
        self,
        *,
        max_len: int = 800,
        store: InMemoryTimelineStore | None = None,
        author_timelines: InMemoryTimelineStore | None = None,
        pulled: InMemoryPulledAuthors | None = None,
        threshold: ThresholdPolicy = FIXED,
        fanout_policy: FanoutPolicy = SMALL_CHUNKS,
    ) -> None:
        self.clock = 1_000  # ms
        self.graph = FakeGraph()
        self.posts = FakePosts()
        self.store = store or InMemoryTimelineStore(max_len=max_len, max_timelines=1000)
        self.author_timelines = author_timelines or InMemoryTimelineStore(
            max_len=max_len, max_timelines=1000
        )
        self.pulled = pulled or InMemoryPulledAuthors()
        self.threshold = AdaptiveThreshold(threshold, clock=lambda: self.clock / 1000)
        self.feed = HomeFeed(
            self.store,
            self.author_timelines,
            self.pulled,
            self.graph,
            self.posts,
            Signer(b"k", purpose="feed"),
            FeedPolicy(threshold.pull_candidates_from, timeline_max_len=max_len),
        )
        self.fanout = Fanout(
            self.store,
            self.author_timelines,
            self.pulled,
            self.graph,
            self.posts,
            self.threshold,
            fanout_policy,
            clock=lambda: self.clock / 1000,
        )

    async def post(self, author: int) -> int:
        self.clock += 10
        entry = self.posts.add_published(author, self.clock)
        await self.fanout.post_published(entry)
        return entry.post_id

    async def read_all(self, reader: int = READER, limit: int = 3) -> list[int]:
        seen: list[int] = []
        cursor = ""
        while True:
            page = await self.feed.read(reader, limit, cursor)
            seen += [p.id for p in page.posts]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


def make_celebrity(world: World, user: int) -> None:
    for fan in range(100, 100 + THRESHOLD):
        world.graph.follow(fan, user)


async def test_feed_is_newest_first_with_own_posts() -> None:
    world = World()
    world.graph.follow(READER, 2)
    await world.feed.ensure_timeline(READER)
    ids = [await world.post(2), await world.post(READER), await world.post(2)]
    assert await world.read_all() == ids[::-1]


async def test_cold_start_rebuilds_instead_of_showing_empty() -> None:
    world = World()
    world.graph.follow(READER, 2)
    ids = [await world.post(2) for _ in range(5)]  # nobody had a timeline: nothing pushed
    assert await world.read_all() == ids[::-1]


async def test_pages_never_duplicate_or_skip_while_new_posts_arrive() -> None:
    world = World()
    world.graph.follow(READER, 2)
    old = [await world.post(2) for _ in range(10)]
    first = await world.feed.read(READER, 4, "")
    for _ in range(5):
        await world.post(2)  # arrive between pages, above the cursor
    seen = [p.id for p in first.posts]
    cursor = first.next_cursor
    while cursor:
        page = await world.feed.read(READER, 4, cursor)
        seen += [p.id for p in page.posts]
        cursor = page.next_cursor
    assert seen == old[::-1]


async def test_celebrity_posts_are_pulled_and_merged_in_order() -> None:
    world = World()
    make_celebrity(world, 9)
    world.graph.follow(READER, 9)
    world.graph.follow(READER, 2)
    await world.feed.ensure_timeline(READER)
    ids = []
    for author in (2, 9, 2, 9, 9, 2):
        ids.append(await world.post(author))
    assert await world.fanout.post_published(world.posts.add_published(9, 1)) == 0  # nothing pushed
    assert ids[-1] in await world.read_all()
    assert (await world.read_all())[: len(ids)] == ids[::-1]
    page = await world.store.page(READER, None, 100)
    assert page is not None
    assert {e.author_id for e in page.entries} == {2}


async def test_a_celebritys_posts_are_read_from_their_author_timeline_once_it_is_made() -> None:
    world = World()
    make_celebrity(world, 9)
    world.graph.follow(READER, 9)
    before = [await world.post(9) for _ in range(3)]
    assert await world.read_all() == before[::-1]  # the first read builds it from the stores
    world.posts.recent_calls.clear()
    later = await world.post(9)  # fan-out lands it in the author timeline
    assert await world.read_all() == [later, *before[::-1]]
    assert world.posts.recent_calls == []  # post_svc was not asked
    # A deleted post leaves the author timeline with its event.
    deleted = world.posts.add_published(9, world.clock)
    await world.fanout.post_published(deleted)
    await world.fanout.post_deleted(deleted)
    page = await world.author_timelines.page(9, None, 100)
    assert page is not None
    assert deleted.post_id not in [e.post_id for e in page.entries]


async def test_an_author_timeline_trimmed_below_its_floor_is_read_on_from_the_stores() -> None:
    world = World(max_len=4)
    make_celebrity(world, 9)
    world.graph.follow(READER, 9)
    world.graph.follow(READER, 2)
    await world.feed.ensure_timeline(READER)
    ids = [await world.post(author) for author in (9, 2, 9, 9, 2, 9, 9, 9, 2, 9)]
    # Every post once, in order, over pages of 3 across the floor of both timelines.
    assert await world.read_all(limit=3) == ids[::-1]
    assert [9] in world.posts.recent_calls


async def test_an_erased_authors_timeline_and_record_go() -> None:
    world = World()
    make_celebrity(world, 9)
    world.graph.follow(READER, 9)
    await world.post(9)
    await world.read_all()
    assert await world.author_timelines.is_ready(9)
    assert 9 in await world.pulled.get([9])
    await world.feed.erase_reader(9)
    assert not await world.author_timelines.is_ready(9)
    assert await world.pulled.get([9]) == {}


async def test_unfollow_hides_posts_at_once() -> None:
    world = World()
    world.graph.follow(READER, 2)
    world.graph.follow(READER, 3)
    await world.feed.ensure_timeline(READER)
    kept, hidden = await world.post(3), await world.post(2)
    world.graph.unfollow(READER, 2)  # before the unfollow event reaches the fan-out
    assert await world.read_all() == [kept]
    await world.fanout.unfollowed(READER, 2)
    page = await world.store.page(READER, None, 9)
    assert page is not None
    assert hidden not in [e.post_id for e in page.entries]


async def test_follow_backfills_recent_posts() -> None:
    world = World()
    await world.feed.ensure_timeline(READER)
    ids = [await world.post(2) for _ in range(3)]
    world.graph.follow(READER, 2)
    await world.fanout.followed(READER, 2)
    page = await world.store.page(READER, None, 10)
    assert page is not None
    assert [e.post_id for e in page.entries] == ids[::-1]


async def test_trimmed_timeline_reads_on_from_the_stores_to_the_true_end() -> None:
    world = World(max_len=5)
    world.graph.follow(READER, 2)
    await world.feed.ensure_timeline(READER)
    ids = [await world.post(2) for _ in range(12)]
    page = await world.store.page(READER, None, 100)
    assert page is not None
    assert len(page.entries) == 5
    assert page.floor is not None
    assert await world.read_all(limit=4) == ids[::-1]


async def test_limit_and_cursor_are_validated() -> None:
    world = World()
    with pytest.raises(InvalidArgument, match="at most 100"):
        await world.feed.read(READER, 101, "")
    with pytest.raises(InvalidArgument, match="cursor"):
        await world.feed.read(READER, 10, "not-a-cursor")
    world.graph.follow(2, 3)
    for _ in range(3):
        world.posts.add_published(3, world.clock)
        world.clock += 1
    other = await world.feed.read(2, 1, "")
    assert other.next_cursor
    with pytest.raises(InvalidArgument, match="another list"):
        await world.feed.read(READER, 1, other.next_cursor)


async def test_no_next_cursor_only_at_the_true_end() -> None:
    world = World()
    world.graph.follow(READER, 2)
    for _ in range(4):
        await world.post(2)
    page = await world.feed.read(READER, 4, "")
    assert len(page.posts) == 4
    assert page.next_cursor is None
    page = await world.feed.read(READER, 3, "")
    assert page.next_cursor is not None


async def test_each_reader_sees_current_counts_and_their_own_likes_on_feed_items() -> None:
    world = World()
    world.graph.follow(READER, 2)
    world.graph.follow(5, 2)
    post_id = await world.post(2)
    world.posts.engagements[(post_id, READER)] = Engagement(3, 1, liked_by_reader=True)
    world.posts.engagements[(post_id, 5)] = Engagement(3, 1, liked_by_reader=False)
    (mine,) = (await world.feed.read(READER, 10, "")).posts
    (theirs,) = (await world.feed.read(5, 10, "")).posts
    assert (mine.like_count, mine.comment_count, mine.liked_by_viewer) == (3, 1, True)
    assert (theirs.like_count, theirs.liked_by_viewer) == (3, False)
    assert not world.posts.posts[post_id].liked_by_viewer  # the source's copy is untouched


async def test_remembered_celebrities_are_hydrated_with_the_timeline() -> None:
    world = World()
    make_celebrity(world, 9)
    world.graph.follow(READER, 9)
    world.graph.follow(READER, 2)
    ids = [await world.post(author) for author in (9, 2, 9, 2)]
    await world.feed.read(READER, 10, "")  # the first read learns who the celebrities are
    world.posts.hydrations.clear()
    assert [p.id for p in (await world.feed.read(READER, 10, "")).posts] == ids[::-1]
    assert len(world.posts.hydrations) == 1  # the celebrity's posts were asked for at once
    world.graph.unfollow(READER, 9)  # the remembered guess only decides what is hydrated
    assert [p.id for p in (await world.feed.read(READER, 10, "")).posts] == [ids[3], ids[1]]


async def test_pulled_celebrity_posts_get_their_counts_too() -> None:
    world = World()
    make_celebrity(world, 9)
    world.graph.follow(READER, 9)
    world.graph.follow(READER, 2)
    pulled, pushed = await world.post(9), await world.post(2)
    world.posts.engagements[(pulled, READER)] = Engagement(7, 0, liked_by_reader=True)
    world.posts.engagements[(pushed, READER)] = Engagement(2, 0)
    posts = (await world.feed.read(READER, 10, "")).posts
    assert [(p.id, p.like_count, p.liked_by_viewer) for p in posts] == [
        (pushed, 2, False),
        (pulled, 7, True),
    ]


async def test_feed_items_carry_their_authors_from_one_hydration_per_page() -> None:
    world = World()
    celebrity = 9
    make_celebrity(world, celebrity)
    for author in (2, 3, 4, celebrity):
        world.graph.follow(READER, author)
    for author in (2, 3, 4, celebrity) * 5:
        await world.post(author)
    world.posts.hydrations.clear()
    posts = (await world.feed.read(READER, 20, "")).posts
    assert len(posts) == 20
    assert all(p.author.id == p.author_id for p in posts)
    assert {p.author.username for p in posts} == {"user2", "user3", "user4", "user9"}
    # The timeline's authors and counts in the first round; the pulled celebrity's at the end.
    assert len(world.posts.hydrations) == 2
    assert world.posts.hydrations[1] == (
        [p.id for p in posts if p.author_id == celebrity],
        [celebrity],
    )


@pytest.mark.parametrize("limit", [5, 20, 100])
async def test_a_page_costs_the_same_round_trips_whatever_its_size(limit: int) -> None:
    world = World()
    for author in range(2, 32):
        world.graph.follow(READER, author)
    for _ in range(5):
        for author in range(2, 32):
            await world.post(author)
    await world.feed.read(READER, limit, "")  # the timeline is built on the first read
    world.posts.hydrations.clear()
    world.posts.get_many_calls = 0
    page = await world.feed.read(READER, limit, "")
    assert len(page.posts) == limit
    assert all(p.author.id == p.author_id for p in page.posts)
    # One hydration (counts, likes, authors) and one batch of posts, for 5 posts or 100.
    assert (len(world.posts.hydrations), world.posts.get_many_calls) == (1, 1)


class DownTimelines(InMemoryTimelineStore):
    """A timeline store whose server is down (Redis stopped): every call fails fast."""

    def __init__(self) -> None:
        super().__init__(max_len=800, max_timelines=1000)
        self.down = False

    async def is_ready(self, owner_id: int) -> bool:
        self._fail_if_down()
        return await super().is_ready(owner_id)

    async def page(self, owner_id: int, before: FeedKey | None, limit: int) -> TimelinePage | None:
        self._fail_if_down()
        return await super().page(owner_id, before, limit)

    def _fail_if_down(self) -> None:
        if self.down:
            raise Unavailable("Redis is unavailable (circuit open)")


class DownPulledAuthors(InMemoryPulledAuthors):
    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def get(self, author_ids: Sequence[int]) -> dict[int, PulledAuthor]:
        if self.down:
            raise Unavailable("Redis is unavailable (circuit open)")
        return await super().get(author_ids)


async def test_feed_is_pulled_from_the_stores_while_the_timelines_are_down() -> None:
    # Home and author timelines and the pulled authors live in the same Redis: they go down
    # together.
    timelines, author_timelines, pulled = DownTimelines(), DownTimelines(), DownPulledAuthors()
    world = World(store=timelines, author_timelines=author_timelines, pulled=pulled)
    world.graph.follow(READER, 2)
    make_celebrity(world, 3)
    world.graph.follow(READER, 3)
    ids = [await world.post(author) for author in (2, 3, READER, 2, 3, 2, READER)]
    assert await world.read_all() == ids[::-1]  # warm: from the timeline

    timelines.down = author_timelines.down = pulled.down = True
    later = []
    for author in (2, 3):  # published while fan-out waits for the timelines to come back
        world.clock += 10
        later.append(world.posts.add_published(author, world.clock).post_id)
    assert await world.read_all() == (ids + later)[::-1]  # every post, pages of 3, no gap
    world.graph.unfollow(READER, 2)
    from_2 = {ids[0], ids[3], ids[5], later[0]}
    assert await world.read_all() == [i for i in (ids + later)[::-1] if i not in from_2]


async def test_a_deleted_post_leaves_the_feed_at_once_though_still_in_the_timeline() -> None:
    world = World()
    world.graph.follow(READER, 2)
    await world.feed.ensure_timeline(READER)
    ids = [await world.post(2) for _ in range(5)]
    world.posts.deleted.add(ids[3])  # deleted: its event has not been handled yet
    assert await world.read_all(limit=2) == [ids[4], ids[2], ids[1], ids[0]]


class FailingPushes(InMemoryTimelineStore):
    """A timeline store whose pushes fail for one follower (its Redis went down mid-fan-out)."""

    def __init__(self, failing_owner: int) -> None:
        super().__init__(max_len=800, max_timelines=1000)
        self.failing_owner = failing_owner

    async def push(self, owner_ids: Sequence[int], entry: FeedEntry) -> None:
        if self.failing_owner in owner_ids:
            raise Unavailable("Redis is unavailable (circuit open)")
        await super().push(owner_ids, entry)


async def test_a_failed_push_fails_the_fan_out_so_its_event_is_handled_again() -> None:
    store = FailingPushes(failing_owner=105)
    world = World(store=store, fanout_policy=FanoutPolicy(chunk_size=2, chunks_in_flight=3))
    world.threshold.current = 100
    fanout = world.fanout
    for fan in range(100, 110):
        world.graph.follow(fan, 2)
        await store.begin(fan)
        await store.complete(fan, [], None)
    entry = world.posts.add_published(2, 2_000)
    with pytest.raises(Unavailable):  # the error itself, for the consumer to wait out
        await fanout.post_published(entry)
    store.failing_owner = -1
    assert await fanout.post_published(entry) == 10  # the retry delivers to everyone
    for fan in range(100, 110):
        page = await store.page(fan, None, 10)
        assert page is not None
        assert [e.post_id for e in page.entries] == [entry.post_id]


class CountedPages(InMemoryTimelineStore):
    """A timeline store that counts the pages read of each timeline."""

    def __init__(self) -> None:
        super().__init__(max_len=800, max_timelines=1000)
        self.pages: Counter[int] = Counter()

    async def page(self, owner_id: int, before: FeedKey | None, limit: int) -> TimelinePage | None:
        self.pages[owner_id] += 1
        return await super().page(owner_id, before, limit)


async def test_a_read_reads_each_timelines_first_page_once() -> None:
    store, author_timelines = CountedPages(), CountedPages()
    world = World(store=store, author_timelines=author_timelines)
    make_celebrity(world, 9)
    world.graph.follow(READER, 9)
    world.graph.follow(READER, 2)
    ids = [await world.post(author) for author in (9, 2, 9, 2)]
    await world.feed.read(READER, 10, "")  # the celebrity is remembered from here on
    store.pages.clear()
    author_timelines.pages.clear()
    assert [p.id for p in (await world.feed.read(READER, 10, "")).posts] == ids[::-1]
    assert (store.pages[READER], author_timelines.pages[9]) == (1, 1)
