"""Profiles through the REST API alone: PATCH /v1/users/me with an update mask."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Api, eventually

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]


def test_a_profile_changes_the_masked_fields_only(api: Api, username: Names) -> None:
    ada_id, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    body = {"user": {"displayName": "Ada Lovelace", "bio": "not this"}, "updateMask": "displayName"}
    user = api.ok("PATCH", "/v1/users/me", body, token=ada)["user"]
    assert (user["id"], user["displayName"], user["bio"]) == (ada_id, "Ada Lovelace", "")
    api.ok("PATCH", "/v1/users/me", {"user": {"bio": "first programmer"}}, token=ada)
    seen = api.ok("GET", f"/v1/users/{ada_id}", token=bob)["user"]
    assert (seen["displayName"], seen["bio"]) == ("Ada Lovelace", "first programmer")


@pytest.mark.parametrize(
    "body",
    [
        {"user": {"username": "eve"}, "updateMask": "username"},
        {"user": {"displayName": "x" * 65}, "updateMask": "displayName"},
        {"user": {"bio": "x" * 301}, "updateMask": "bio"},
        {"user": {}, "updateMask": ""},
        {"user": {"displayName": "Ada"}, "updateMask": 7},
    ],
)
def test_bad_profile_changes_get_a_clear_400(api: Api, username: Names, body: object) -> None:
    _, ada = api.sign_up(username("ada"))
    reply = api.call("PATCH", "/v1/users/me", body, token=ada)
    assert reply.status == 400, reply.body
    assert reply.json()["error"]["message"]


def test_posts_likes_and_comments_show_their_authors_names(
    api: Api, username: Names, samples: Path
) -> None:
    photo = samples / "orientation" / "Landscape_1.jpg"
    ada_id, ada = api.sign_up(username("ada"))
    bob_id, bob = api.sign_up(username("bob"))
    api.ok("PATCH", "/v1/users/me", {"user": {"displayName": "Ada"}}, token=ada)
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    post_id = api.post_photo(ada, photo)
    api.ok("POST", f"/v1/posts/{post_id}/likes", {}, token=bob)
    api.ok("POST", f"/v1/posts/{post_id}/comments", {"text": "hi"}, token=bob)

    def authors_everywhere() -> list[dict[str, Any]]:
        feed = api.ok("GET", "/v1/feed", token=bob)["posts"]
        return [
            *(p["author"] for p in feed if p["id"] == post_id),
            api.ok("GET", f"/v1/posts/{post_id}", token=bob)["post"]["author"],
            api.ok("GET", f"/v1/users/{ada_id}/posts", token=bob)["posts"][0]["author"],
        ]

    def named(display_name: str) -> bool:
        authors = authors_everywhere()
        return len(authors) == 3 and all(
            a == {"id": ada_id, "username": a["username"], "displayName": display_name}
            for a in authors
        )

    eventually(lambda: named("Ada"))
    like = api.ok("GET", f"/v1/posts/{post_id}/likes", token=ada)["likes"][0]
    comment = api.ok("GET", f"/v1/posts/{post_id}/comments", token=ada)["comments"][0]
    assert like["user"]["id"] == comment["author"]["id"] == bob_id
    assert like["user"]["username"] == comment["author"]["username"]

    # A new name reaches every cached summary within seconds, not when a cache expires.
    api.ok("PATCH", "/v1/users/me", {"user": {"displayName": "Ada L."}}, token=ada)
    eventually(lambda: named("Ada L."), timeout_s=5.0)


def upload_avatar(api: Api, token: str, photo: Path) -> None:
    target = api.ok(
        "POST",
        "/v1/users/me/avatar",
        {"contentType": "image/jpeg", "sizeBytes": str(photo.stat().st_size)},
        token=token,
    )["upload"]
    put = api.call(
        "PUT", target["url"], data=photo.read_bytes(), headers={"Content-Type": "image/jpeg"}
    )
    assert put.status == 202, put.body


def test_an_avatar_goes_through_the_media_pipeline_and_shows_beside_posts(
    api: Api, username: Names, samples: Path
) -> None:
    ada_id, ada = api.sign_up(username("ada"))
    post_id = api.post_photo(ada, samples / "orientation" / "Landscape_1.jpg")
    upload_avatar(api, ada, samples / "camera" / "DSCN0010_gps.jpg")

    def avatar() -> Any:
        return api.ok("GET", f"/v1/users/{ada_id}", token=ada)["user"].get("avatar")

    renditions = eventually(avatar, timeout_s=30)["renditions"]
    sizes = {(r["size"], r["contentType"]): (r["width"], r["height"]) for r in renditions}
    assert sizes == {
        ("RENDITION_SIZE_THUMBNAIL", "image/jpeg"): (150, 150),
        ("RENDITION_SIZE_THUMBNAIL", "image/webp"): (150, 150),
        ("RENDITION_SIZE_FEED", "image/jpeg"): (320, 320),
        ("RENDITION_SIZE_FEED", "image/webp"): (320, 320),
    }
    served = api.call("GET", renditions[0]["url"])
    assert served.status == 200
    assert b"GPS" not in served.body  # metadata stripped
    # The author summary beside her posts shows it within seconds.
    eventually(
        lambda: api.ok("GET", f"/v1/posts/{post_id}", token=ada)["post"]["author"].get("avatar"),
        timeout_s=5,
    )

    # A file that is no photo fails with a reason; the avatar she had stays.
    upload_avatar(api, ada, samples / "bad" / "corrupted.jpg")

    def failed() -> Any:
        return api.ok("GET", f"/v1/users/{ada_id}", token=ada)["user"].get("avatarFailureReason")

    assert "could not be decoded" in eventually(failed, timeout_s=30)
    assert avatar()["renditions"] == renditions


def test_a_bad_avatar_slot_gets_a_clear_400(api: Api, username: Names) -> None:
    _, ada = api.sign_up(username("ada"))
    for body in (
        {"contentType": "video/mp4", "sizeBytes": "100"},
        {"contentType": "image/jpeg", "sizeBytes": "0"},
        {"contentType": "image/jpeg", "sizeBytes": str(51 * 1024 * 1024)},
    ):
        reply = api.call("POST", "/v1/users/me/avatar", body, token=ada)
        assert reply.status == 400, reply.body
        assert reply.json()["error"]["message"]
