"""Likes and comments through the REST API alone, on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, eventually

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]


@pytest.fixture
def photo(samples: Path) -> Path:
    return samples / "orientation" / "Landscape_1.jpg"


def test_people_like_and_comment_on_each_others_photos(
    api: Api, photo: Path, username: Names
) -> None:
    ada_id, ada = api.sign_up(username("ada"))
    bob_id, bob = api.sign_up(username("bob"))
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    api.ok("POST", "/v1/follows", {"followedId": bob_id}, token=ada)
    ada_post = api.post_photo(ada, photo)
    bob_post = api.post_photo(bob, photo)

    liked = api.ok("POST", f"/v1/posts/{ada_post}/likes", {}, token=bob)
    assert liked == {"likeCount": "1", "likedByViewer": True}
    assert api.ok("POST", f"/v1/posts/{ada_post}/likes", {}, token=bob)["likeCount"] == "1"
    api.ok("POST", f"/v1/posts/{bob_post}/likes", {}, token=ada)
    said = api.ok("POST", f"/v1/posts/{ada_post}/comments", {"text": " lovely "}, token=bob)
    comment = said["comment"]
    assert (comment["text"], comment["authorId"], comment["postId"]) == (
        "lovely",
        bob_id,
        ada_post,
    )

    # Each reader sees the counts and their own like on the post and on the profile grid.
    as_bob = api.ok("GET", f"/v1/posts/{ada_post}", token=bob)["post"]
    assert (as_bob["likeCount"], as_bob["commentCount"], as_bob["likedByViewer"]) == (
        "1",
        "1",
        True,
    )
    as_ada = api.ok("GET", f"/v1/users/{ada_id}/posts", token=ada)["posts"][0]
    assert (as_ada["id"], as_ada["likeCount"], as_ada["likedByViewer"]) == (ada_post, "1", False)

    def in_bobs_feed() -> dict[str, Any] | None:
        posts = api.ok("GET", "/v1/feed", token=bob)["posts"]
        return next((p for p in posts if p["id"] == ada_post), None)

    item = eventually(in_bobs_feed)
    assert item is not None
    assert (item["likeCount"], item["commentCount"], item["likedByViewer"]) == ("1", "1", True)
    own = next(p for p in api.ok("GET", "/v1/feed", token=ada)["posts"] if p["id"] == bob_post)
    assert (own["likeCount"], own["likedByViewer"]) == ("1", True)

    likers = api.ok("GET", f"/v1/posts/{ada_post}/likes", token=ada)
    assert [like["userId"] for like in likers["likes"]] == [bob_id]
    assert "nextPageToken" not in likers

    # The post's author may delete anyone's comment on it; the count follows.
    api.ok("DELETE", f"/v1/posts/{ada_post}/comments/{comment['id']}", token=ada)
    again = api.call("DELETE", f"/v1/posts/{ada_post}/comments/{comment['id']}", token=ada)
    assert again.status == 404
    unliked = api.ok("DELETE", f"/v1/posts/{ada_post}/likes", token=bob)
    assert unliked == {"likeCount": "0", "likedByViewer": False}
    assert api.ok("DELETE", f"/v1/posts/{ada_post}/likes", token=bob)["likeCount"] == "0"
    post = api.ok("GET", f"/v1/posts/{ada_post}", token=bob)["post"]
    assert (post["likeCount"], post["commentCount"], post["likedByViewer"]) == ("0", "0", False)


def test_a_long_thread_pages_without_repeats_while_others_comment(
    api: Api, photo: Path, username: Names
) -> None:
    _, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    post_id = api.post_photo(ada, photo)
    path = f"/v1/posts/{post_id}/comments"
    written = [
        api.ok("POST", path, {"text": f"c{i}"}, token=ada)["comment"]["id"] for i in range(7)
    ]
    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            api.ok("POST", path, {"text": "meanwhile"}, token=bob)

    talking = threading.Thread(target=chatter)
    talking.start()
    try:
        seen: list[str] = []
        token = ""
        while True:
            page = api.ok("GET", f"{path}?pageSize=3&pageToken={token}", token=ada)
            seen += [c["id"] for c in page["comments"]]
            if len(seen) >= len(written) or "nextPageToken" not in page:
                break
            token = page["nextPageToken"]
    finally:
        stop.set()
        talking.join()
    assert seen[: len(written)] == written
    everything = api.ok("GET", f"{path}?pageSize=200", token=ada)["comments"]
    ids = [c["id"] for c in everything]
    assert len(ids) == len(set(ids))
    assert api.ok("GET", f"/v1/posts/{post_id}", token=ada)["post"]["commentCount"] == str(len(ids))


def test_bad_engagement_input_gets_a_clear_4xx(api: Api, photo: Path, username: Names) -> None:
    _, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    post_id = api.post_photo(ada, photo)
    other_post = api.post_photo(ada, photo)
    comment = api.ok("POST", f"/v1/posts/{post_id}/comments", {"text": "hi"}, token=ada)
    comment_id = comment["comment"]["id"]
    cases = [
        ("POST", f"/v1/posts/{post_id}/comments", {"text": "   "}, 400),
        ("POST", f"/v1/posts/{post_id}/comments", {"text": "x" * 2201}, 400),
        ("POST", "/v1/posts/404/likes", {}, 404),
        ("POST", "/v1/posts/not-a-number/likes", {}, 400),
        ("GET", f"/v1/posts/{post_id}/comments?pageSize=500", None, 400),
        ("GET", f"/v1/posts/{post_id}/likes?pageToken=forged", None, 400),
        ("DELETE", f"/v1/posts/{other_post}/comments/{comment_id}", None, 404),
        ("DELETE", f"/v1/posts/{post_id}/comments/{comment_id}", None, 403),  # bob's try
    ]
    for method, path, body, status in cases:
        reply = api.call(method, path, body, token=bob)
        assert reply.status == status, (method, path, reply.status, reply.body)
        assert reply.json()["error"]["message"]
    page = api.ok("GET", f"/v1/posts/{post_id}/likes?pageSize=1", token=ada)
    assert "nextPageToken" not in page
