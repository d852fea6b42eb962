"""The live home feed over Server-Sent Events, on both backends (production: two replicas of
every process, so a reconnect may resume on the other one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from httpx_sse import ServerSentEvent, connect_sse

from tests.e2e.conftest import CELEBRITY_THRESHOLD, Api, eventually

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]
STREAM = "/v1/feed:stream"
NOTIFICATIONS = "/v1/notifications:stream"
# The issue's promise: a published post is on its readers' open streams within a second.
LIVE_WITHIN_S = 1.0


@contextmanager
def stream(
    api: Api, token: str, *, last_event_id: str = "", query: str = "", path: str = STREAM
) -> Iterator[Iterator[ServerSentEvent]]:
    """An open live feed, as a browser's EventSource holds it; leaving the block drops the
    connection."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    with (
        httpx.Client(timeout=httpx.Timeout(10.0)) as client,
        connect_sse(client, "GET", api.base_url + path + query, headers=headers) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        # A block without data (after a heartbeat comment) is no event to a browser (the SSE
        # spec); httpx-sse hands it over with the last id: skipped here the same way.
        yield (event for event in source.iter_sse() if event.data)


def data(event: ServerSentEvent) -> Any:
    return orjson.loads(event.data)


def next_post(events: Iterator[ServerSentEvent]) -> tuple[ServerSentEvent, dict[str, Any]]:
    """The next post event (a read times out after 10 s: the test fails, it does not hang)."""
    for event in events:
        if event.event == "post":
            return event, data(event)["post"]
    raise AssertionError("the stream ended")


def published_at(post: dict[str, Any]) -> float:
    return datetime.fromisoformat(post["publishedAt"].replace("Z", "+00:00")).timestamp()


def test_posts_arrive_within_a_second_and_deletes_and_unfollows_follow_them(
    api: Api, username: Names, samples: Path
) -> None:
    photo = samples / "orientation" / "Landscape_1.jpg"
    ada_id, ada = api.sign_up(username("ada"))
    celebrity_id, celebrity = api.sign_up(username("star"))
    _, bob = api.sign_up(username("bob"))
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    api.ok("POST", "/v1/follows", {"followedId": celebrity_id}, token=bob)
    for _ in range(CELEBRITY_THRESHOLD - 1):  # pulled at read time, never pushed
        api.ok(
            "POST",
            "/v1/follows",
            {"followedId": celebrity_id},
            token=api.sign_up(username("fan"))[1],
        )
    with stream(api, bob) as events:
        posted = api.post_photo(ada, photo, caption="live")
        event, post = next_post(events)
        received = time.time()
        assert post["id"] == posted
        assert (post["caption"], post["author"]["id"], post["likeCount"]) == ("live", ada_id, "0")
        assert post["media"]["placeholder"]["blurhash"]  # the same item the feed returns
        assert event.id  # where to resume from
        assert received - published_at(post) < LIVE_WITHIN_S

        from_celebrity = api.post_photo(celebrity, photo)
        _, post = next_post(events)
        assert post["id"] == from_celebrity
        assert time.time() - published_at(post) < LIVE_WITHIN_S
        own = api.post_photo(bob, photo)
        assert next_post(events)[1]["id"] == own

        assert api.call("DELETE", f"/v1/posts/{posted}", token=ada).status in (200, 202)
        removed = next(events)
        assert (removed.event, data(removed)) == ("removedPostId", {"removedPostId": posted})
        api.ok("DELETE", f"/v1/follows/{ada_id}", token=bob)
        hidden = next(events)
        assert (hidden.event, data(hidden)) == ("hiddenAuthorId", {"hiddenAuthorId": ada_id})


class Poster(threading.Thread):
    """An author who keeps posting while the reader comes and goes."""

    def __init__(self, api: Api, token: str, photo: Path, count: int) -> None:
        super().__init__(daemon=True)
        self.api, self.token, self.photo, self.count = api, token, photo, count
        self.posted: list[str] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for n in range(self.count):
                self.posted.append(self.api.post_photo(self.token, self.photo, caption=f"#{n}"))
        except BaseException as exc:  # reported by the test's thread
            self.failure = exc


def test_a_reader_who_drops_and_reconnects_gets_every_post_once_in_order(
    api: Api, username: Names, samples: Path
) -> None:
    ada_id, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    poster = Poster(api, ada, samples / "orientation" / "Landscape_1.jpg", count=16)
    received: list[str] = []
    ids: list[str] = []
    with stream(api, bob) as events:
        poster.start()
        for _ in range(3):
            event, post = next_post(events)
            received.append(post["id"])
            ids.append(event.id)
    last_event_id = ids[-1]
    # Three times: the connection drops; posts are published while the reader is away; it
    # reconnects (on either replica) with the last event id it got, and reads on.
    for _ in range(3):
        away_from = len(poster.posted)

        def posted_while_away(n: int = away_from) -> bool:
            return len(poster.posted) > n + 1 or not poster.is_alive()

        eventually(posted_while_away)
        with stream(api, bob, last_event_id=last_event_id) as events:
            for _ in range(4):
                event, post = next_post(events)
                received.append(post["id"])
                last_event_id = event.id
    poster.join(timeout=120)
    assert poster.failure is None, poster.failure
    with stream(api, bob, last_event_id=last_event_id) as events:
        while len(received) < len(poster.posted):
            event, post = next_post(events)
            received.append(post["id"])
    assert received == poster.posted  # none twice, none left out, oldest first
    # An id given as ?after= works the same way (a client that cannot set the header).
    with stream(api, bob, query=f"?after={ids[0]}") as events:
        assert [next_post(events)[1]["id"] for _ in range(2)] == received[1:3]


def test_a_bad_last_event_id_gets_an_error_event_then_the_stream_ends(
    api: Api, username: Names
) -> None:
    _, bob = api.sign_up(username("bob"))
    for resume in ({"last_event_id": "not-an-id"}, {"query": "?after=not-an-id"}):
        with stream(api, bob, **resume) as events:
            got = list(events)  # it ends by itself
        assert [e.event for e in got] == ["error"]
        error = data(got[0])["error"]
        assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
        assert "Last-Event-ID" in error["message"]


def test_a_quiet_stream_sends_heartbeats_and_needs_a_token(api: Api, username: Names) -> None:
    _, bob = api.sign_up(username("bob"))
    headers = {"Authorization": f"Bearer {bob}"}
    with (
        httpx.Client(timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", api.base_url + STREAM, headers=headers) as response,
    ):
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith(":"))  # within 10 s
    anonymous = api.call("GET", STREAM)
    assert anonymous.status == 401


def test_notifications_arrive_live_and_a_reconnect_gets_what_it_missed(
    api: Api, username: Names, samples: Path
) -> None:
    ada_id, ada = api.sign_up(username("ada"))
    bob_id, bob = api.sign_up(username("bob"))
    post_id = api.post_photo(ada, samples / "orientation" / "Landscape_1.jpg")
    with stream(api, ada, path=NOTIFICATIONS) as events:
        # The stream is open once a first event came: bob follows until one has (a follow
        # made before the stream registered is in the list, not on the stream).
        api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
        followed = next(events)
        assert followed.event == "notification"
        assert data(followed)["notification"]["kind"] == "NOTIFICATION_KIND_FOLLOW"
        assert data(followed)["unreadCount"] == "1"
        api.ok("POST", f"/v1/posts/{post_id}/likes", {}, token=bob)
        liked = next(events)
        entry = data(liked)["notification"]
        assert (entry["kind"], entry["postId"], entry["actors"][0]["id"]) == (
            "NOTIFICATION_KIND_LIKE",
            post_id,
            bob_id,
        )
    # Away: a comment arrives; the reconnect gets it first.
    api.ok("POST", f"/v1/posts/{post_id}/comments", {"text": "lovely"}, token=bob)
    with stream(api, ada, path=NOTIFICATIONS, last_event_id=liked.id) as events:
        commented = next(events)
        assert data(commented)["notification"]["commentText"] == "lovely"
        assert data(commented)["unreadCount"] == "3"
