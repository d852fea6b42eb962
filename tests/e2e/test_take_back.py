"""Taking things back through the REST API, on both backends: editing a caption, deleting a
post."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, eventually
from tests.media_files import unique_photo

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]


@pytest.fixture
def photo(samples: Path) -> Path:
    return samples / "orientation" / "Landscape_1.jpg"


def patch_caption(api: Api, token: str, post_id: str, body: object) -> tuple[int, Any]:
    reply = api.call(
        "PATCH",
        f"/v1/posts/{post_id}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    return reply.status, reply.json()


def ada_and_a_follower(api: Api, username: Names) -> tuple[str, str, str]:
    """Ada's id and token, and the token of Bob, who follows her."""
    ada_id, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    return ada_id, ada, bob


def test_an_edited_caption_shows_everywhere_within_seconds(
    api: Api, photo: Path, username: Names
) -> None:
    ada_id, ada, bob = ada_and_a_follower(api, username)
    post_id = api.post_photo(ada, photo, caption="sunste")

    def captions() -> tuple[str, ...]:
        feed = api.ok("GET", "/v1/feed", token=bob)["posts"]
        grid = api.ok("GET", f"/v1/users/{ada_id}/posts", token=bob)["posts"]
        single = api.ok("GET", f"/v1/posts/{post_id}", token=bob)["post"]
        return (feed[0]["caption"], grid[0]["caption"], single["caption"])

    assert eventually(lambda: captions() == ("sunste",) * 3)  # the feed's cache holds it now
    status, edited = patch_caption(
        api, ada, post_id, {"post": {"caption": "sunset"}, "updateMask": "caption"}
    )
    assert status == 200, edited
    post = edited["post"]
    assert (post["id"], post["caption"], post["state"]) == (
        post_id,
        "sunset",
        "POST_STATE_PUBLISHED",
    )
    assert post["editedAt"] >= post["publishedAt"]
    assert eventually(lambda: captions() == ("sunset",) * 3, timeout_s=5.0)


def test_a_caption_edit_that_cannot_be_done_is_a_clear_4xx(
    api: Api, photo: Path, username: Names
) -> None:
    _, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    post_id = api.post_photo(ada, photo, caption="mine")
    cases = [
        (bob, post_id, {"post": {"caption": "yours?"}, "updateMask": "caption"}, 403, "author"),
        (ada, post_id, {"post": {"caption": "x"}, "updateMask": "caption,media"}, 400, "media"),
        (ada, post_id, {"post": {"caption": "x" * 2201}}, 400, "2200"),
        (ada, "123", {"post": {"caption": "x"}}, 404, "does not exist"),
        (ada, "abc", {"post": {"caption": "x"}}, 400, "integer"),
    ]
    for token, target, body, status, words in cases:
        got, reply = patch_caption(api, token, target, body)
        assert got == status, (body, reply)
        assert words in json.dumps(reply["error"]), reply
    assert api.ok("GET", f"/v1/posts/{post_id}", token=bob)["post"]["caption"] == "mine"


def test_a_deleted_post_vanishes_for_every_reader_at_once(
    api: Api, photo: Path, username: Names
) -> None:
    ada_id, ada, bob = ada_and_a_follower(api, username)
    regret = api.post_photo(ada, photo, caption="regret")
    kept = api.post_photo(ada, photo, caption="kept")
    eventually(lambda: api.feed_ids(bob) == [kept, regret])
    api.ok("POST", f"/v1/posts/{regret}/likes", {}, token=bob)
    api.ok("POST", f"/v1/posts/{regret}/comments", {"text": "oh no"}, token=bob)

    def notified_about() -> list[str]:
        page = api.ok("GET", "/v1/notifications", token=ada).get("notifications", [])
        return [n.get("postId", "") for n in page]

    eventually(lambda: notified_about().count(regret) == 2)  # the like and the comment

    assert api.call("DELETE", f"/v1/posts/{regret}", token=bob).status == 403
    assert api.ok("DELETE", f"/v1/posts/{regret}", token=ada) == {}
    for token in (ada, bob):
        assert api.call("GET", f"/v1/posts/{regret}", token=token).status == 404
    assert api.feed_ids(bob) == [kept]
    assert api.feed_ids(ada) == [kept]
    grid = api.ok("GET", f"/v1/users/{ada_id}/posts", token=bob)["posts"]
    assert [p["id"] for p in grid] == [kept]
    for method, path in [
        ("GET", f"/v1/posts/{regret}/likes"),
        ("GET", f"/v1/posts/{regret}/comments"),
        ("POST", f"/v1/posts/{regret}/likes"),
    ]:
        assert api.call(method, path, {} if method == "POST" else None, token=bob).status == 404
    assert regret not in notified_about()
    again = api.call("DELETE", f"/v1/posts/{regret}", token=ada)
    assert again.status == 404, again.body

    # Then, from the event: the count, and the entries behind the unread count, go too.
    def ada_sees() -> tuple[str, int]:
        user = api.ok("GET", f"/v1/users/{ada_id}", token=ada)["user"]
        unread = int(api.ok("GET", "/v1/notifications", token=ada).get("unreadCount", 0))
        return user["postCount"], unread

    assert eventually(lambda: ada_sees() == ("1", 1))  # kept; and Bob's follow

    created = api.create_post(ada, photo, caption="never sent")
    draft, upload_url = created["post"]["id"], created["upload"]["url"]
    assert api.ok("DELETE", f"/v1/posts/{draft}", token=ada) == {}
    assert api.call("GET", f"/v1/posts/{draft}", token=ada).status == 404

    def upload_state() -> int:  # a tus HEAD: asks without sending the bytes
        return api.call("HEAD", upload_url, headers={"Tus-Resumable": "1.0.0"}).status

    assert upload_state() == 410  # at once: post_svc closed it before answering
    put = api.call("PUT", upload_url, data=photo.read_bytes())
    assert put.status == 410, put.body
    assert api.feed_ids(bob) == [kept]


def test_a_deleted_posts_media_stops_answering_once_no_post_uses_it(
    api: Api, tmp_path: Path, username: Names
) -> None:
    _, ada = api.sign_up(username("ada"))
    photo = unique_photo(tmp_path / "mine.jpg")  # its renditions are nobody else's
    first = api.post_photo(ada, photo)
    second = api.post_photo(ada, photo)  # the same photo again: the same renditions
    other = api.post_photo(ada, unique_photo(tmp_path / "other.jpg"))

    def urls(post_id: str) -> set[str]:
        post = api.ok("GET", f"/v1/posts/{post_id}", token=ada)["post"]
        return {r["url"] for r in post["media"]["renditions"]}

    def gone(url: str) -> bool:
        reply = api.call("GET", url)
        assert reply.status in (200, 404), reply.status
        if reply.status == 200:
            return False
        assert reply.headers["Cache-Control"] == "no-store"  # nobody may cache the 404
        etag = '"' + url.rsplit("/", 1)[1].split(".")[0] + '"'
        revalidated = api.call("GET", url, headers={"If-None-Match": etag})
        assert revalidated.status == 404  # a cached copy's ETag does not revive it
        return True

    shared = eventually(lambda: urls(first) & urls(second))
    assert api.ok("DELETE", f"/v1/posts/{first}", token=ada) == {}
    # Ada's deletions are handled in order: once the other post's media is gone, the first
    # deletion has been handled too, and the second post still shows every shared rendition.
    other_urls = urls(other)
    assert api.ok("DELETE", f"/v1/posts/{other}", token=ada) == {}
    eventually(lambda: all(gone(url) for url in other_urls))
    for url in shared:
        assert api.call("GET", url).status == 200, url

    last_urls = urls(second)
    assert api.ok("DELETE", f"/v1/posts/{second}", token=ada) == {}
    eventually(lambda: all(gone(url) for url in last_urls))
