"""Notifications through the REST API alone, on both backends."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, eventually

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]


def notifications(api: Api, token: str) -> Any:
    return api.ok("GET", "/v1/notifications", token=token)


def test_many_likes_are_one_notification_that_vanishes_when_the_only_like_goes(
    api: Api, username: Names, samples: Path
) -> None:
    photo = samples / "orientation" / "Landscape_1.jpg"
    ada_id, ada = api.sign_up(username("ada"))
    fans = [api.sign_up(username("fan")) for _ in range(4)]
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=fans[0][1])
    post_id = api.post_photo(ada, photo)
    other_post = api.post_photo(ada, photo)
    api.ok("POST", f"/v1/posts/{post_id}/likes", {}, token=ada)  # her own: no notification
    for _, token in fans:
        api.ok("POST", f"/v1/posts/{post_id}/likes", {}, token=token)
    api.ok("POST", f"/v1/posts/{post_id}/comments", {"text": "wow"}, token=fans[1][1])

    def settled() -> Any:
        page = notifications(api, ada)
        kinds = [n["kind"] for n in page["notifications"]]
        likes = [n for n in page["notifications"] if n["kind"] == "NOTIFICATION_KIND_LIKE"]
        done = len(kinds) == 3 and likes and likes[0]["actorCount"] == "4"
        return page if done else None

    page = eventually(settled)
    assert page["unreadCount"] == "3"
    kinds = [n["kind"] for n in page["notifications"]]
    assert kinds == [
        "NOTIFICATION_KIND_COMMENT",
        "NOTIFICATION_KIND_LIKE",
        "NOTIFICATION_KIND_FOLLOW",
    ]
    comment, liked, followed = page["notifications"]
    assert (comment["commentText"], comment["actors"][0]["id"]) == ("wow", fans[1][0])
    assert liked["postId"] == post_id
    assert liked["postMedia"]["renditions"]  # its thumbnail, in the same call
    assert [a["id"] for a in liked["actors"]] == [fans[3][0], fans[2][0], fans[1][0]]
    assert followed["actors"][0]["id"] == fans[0][0]

    # Read up to the like: the comment stays unread.
    marked = api.ok("POST", "/v1/notifications:markRead", {"upTo": liked["id"]}, token=ada)
    assert marked == {"unreadCount": "1"}

    # The only like of the other post, taken back before Ada saw it, takes its notification.
    api.ok("POST", f"/v1/posts/{other_post}/likes", {}, token=fans[2][1])

    def other_post_notified() -> bool:
        return any(n["postId"] == other_post for n in notifications(api, ada)["notifications"])

    eventually(other_post_notified)
    api.ok("DELETE", f"/v1/posts/{other_post}/likes", token=fans[2][1])
    eventually(lambda: not other_post_notified())
    assert notifications(api, ada)["unreadCount"] == "1"


def test_bad_notification_requests_get_a_clear_400(api: Api, username: Names) -> None:
    _, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    for body in ({"upTo": "abc"}, {"upTo": ""}, {"upTo": 5}):
        reply = api.call("POST", "/v1/notifications:markRead", body, token=ada)
        assert reply.status == 400, reply.body
        assert reply.json()["error"]["message"]
    reply = api.call("GET", "/v1/notifications?pageToken=forged", token=ada)
    assert reply.status == 400, reply.body
    reply = api.call("GET", "/v1/notifications?pageSize=-1", token=bob)
    assert reply.status == 400, reply.body
