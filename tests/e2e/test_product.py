"""The product through the REST API alone, against the real processes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import pyvips
from grpc_reflection.v1alpha import reflection_pb2_grpc as reflection_grpc
from photoshare.graph.v1 import graph_internal_service_pb2 as graph_ipb
from photoshare.graph.v1 import graph_internal_service_pb2_grpc as graph_igrpc
from photoshare.graph.v1 import graph_service_pb2 as graph_pb
from photoshare.graph.v1 import graph_service_pb2_grpc as graph_grpc

from common.metadata import as_caller
from common.server import channel_target
from deploy.local import Mesh
from tests.e2e.conftest import CELEBRITY_THRESHOLD, Api, eventually

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]


def rendition_url(post: dict[str, Any], size: str, content_type: str = "image/jpeg") -> str:
    for rendition in post["media"]["renditions"]:
        if (
            rendition["size"] == f"RENDITION_SIZE_{size}"
            and rendition["contentType"] == content_type
        ):
            return str(rendition["url"])
    raise AssertionError(f"no {size} {content_type} rendition in {post}")


def test_healthz_reports_every_service(api: Api) -> None:
    health = api.ok("GET", "/healthz")
    assert health["status"] == "SERVING"
    assert len(health["services"]) == 4


def test_phone_photo_reaches_the_followers_feed_upright_and_without_gps(
    api: Api, samples: Path, username: Names
) -> None:
    ada_id, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    assert api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob) == {}
    assert api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob) == {}  # idempotent

    post_id = api.post_photo(ada, samples / "orientation" / "Landscape_6.jpg", caption="sunset")

    def in_feed() -> dict[str, Any] | None:
        posts = api.ok("GET", "/v1/feed", token=bob)["posts"]
        return next((p for p in posts if p["id"] == post_id), None)

    post = eventually(in_feed)
    assert post is not None
    assert post["state"] == "POST_STATE_PUBLISHED"
    assert (post["caption"], post["authorId"]) == ("sunset", ada_id)
    assert (post["media"]["width"], post["media"]["height"]) == (1800, 1200)
    jpeg_and_webp = [r for r in post["media"]["renditions"] if r["contentType"] != "image/avif"]
    assert len(jpeg_and_webp) == 6  # AVIF joins them in the background

    reply = api.call("GET", rendition_url(post, "FEED"))
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    image = pyvips.Image.new_from_buffer(reply.body, "")
    assert (image.width, image.height) == (640, 427)  # landscape: rotated upright
    assert (
        api.call(
            "GET", rendition_url(post, "FEED"), headers={"If-None-Match": reply.headers["ETag"]}
        ).status
        == 304
    )
    part = api.call("GET", rendition_url(post, "FEED"), headers={"Range": "bytes=10-19"})
    assert part.status == 206
    assert part.body == reply.body[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(reply.body)}"
    past_end = {"Range": f"bytes={len(reply.body)}-"}
    assert api.call("GET", rendition_url(post, "FEED"), headers=past_end).status == 416

    gps_post = api.post_photo(ada, samples / "camera" / "DSCN0010_gps.jpg")
    published = api.ok("GET", f"/v1/posts/{gps_post}", token=ada)["post"]
    for rendition in published["media"]["renditions"]:
        data = api.call("GET", rendition["url"]).body
        assert b"GPS" not in data
        fields = pyvips.Image.new_from_buffer(data, "").get_fields()
        assert not [f for f in fields if f.startswith(("exif", "xmp", "orientation"))]

    profile = api.ok("GET", f"/v1/users/{ada_id}", token=bob)["user"]
    assert profile["followerCount"] == "1"
    eventually(lambda: api.ok("GET", f"/v1/users/{ada_id}", token=bob)["user"]["postCount"] == "2")
    grid = api.ok("GET", f"/v1/users/{ada_id}/posts?limit=1", token=bob)
    assert [p["id"] for p in grid["posts"]] == [gps_post]
    rest = api.ok("GET", f"/v1/users/{ada_id}/posts?limit=5&cursor={grid['nextCursor']}", token=bob)
    assert [p["id"] for p in rest["posts"]] == [post_id]
    assert "nextCursor" not in rest


def test_iphone_heic_is_published_without_location(
    api: Api, samples: Path, username: Names
) -> None:
    _, ada = api.sign_up(username("heic"))
    post_id = api.post_photo(ada, samples / "heif" / "IMG_5195.HEIC", "image/heic")
    post = api.ok("GET", f"/v1/posts/{post_id}", token=ada)["post"]
    assert post["state"] == "POST_STATE_PUBLISHED"
    data = api.call("GET", rendition_url(post, "FULL", "image/webp")).body
    image = pyvips.Image.new_from_buffer(data, "")
    assert (image.width, image.height) == (1080, 1394)
    assert b"GPS" not in data
    assert post_id in api.feed_ids(ada)  # your own posts are in your feed


def test_upload_url_is_checked(api: Api, samples: Path, username: Names) -> None:
    _, ada = api.sign_up(username("upl"))
    photo = samples / "camera" / "Canon_40D.jpg"
    created = api.create_post(ada, photo)
    url = created["upload"]["url"]
    tampered = url.replace("token=", "token=x")
    assert api.call("PUT", tampered, data=photo.read_bytes()).status == 403
    other_post = url.replace(created["post"]["id"], "1")
    assert api.call("PUT", other_post, data=photo.read_bytes()).status == 403
    assert api.call("PUT", url, data=photo.read_bytes()[:-10]).status == 400
    assert api.call("PUT", url, data=photo.read_bytes() + b"extra").status == 413
    assert api.call("PUT", url, data=photo.read_bytes()).status == 202
    assert api.call("PUT", url, data=photo.read_bytes()).status == 409

    # Bytes of another type than declared end the post: it fails at once with the reason.
    disguised = api.create_post(ada, photo)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * (photo.stat().st_size - 8)
    wrong = api.call("PUT", disguised["upload"]["url"], data=png)
    assert wrong.status == 415
    assert "PNG" in wrong.json()["error"]["message"]
    failed = api.wait_until_settled(ada, disguised["post"]["id"])
    assert failed["state"] == "POST_STATE_FAILED"
    assert "the file is a PNG, but the post declared image/jpeg" in failed["failureReason"]
    assert api.call("PUT", disguised["upload"]["url"], data=photo.read_bytes()).status == 410


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/v1/users", {"username": "No Spaces!"}, 400, "3-30 characters"),
        ("POST", "/v1/users", {"username": "ab"}, 400, "3-30 characters"),
        ("POST", "/v1/users", {}, 400, "3-30 characters"),
        ("POST", "/v1/users", {"username": "okname", "extra": 1}, 400, "extra"),
        ("GET", "/v1/users/123", None, 404, "does not exist"),
        ("GET", "/v1/users/abc", None, 400, "integer"),
        ("GET", "/v1/users:lookup?username=nobody_here", None, 404, "nobody_here"),
        ("POST", "/v1/follows", {"followedId": "123"}, 404, "does not exist"),
        ("GET", "/v1/feed?limit=101", None, 400, "at most 100"),
        ("GET", "/v1/feed?limit=-1", None, 400, "negative"),
        ("GET", "/v1/feed?cursor=forged", None, 400, "cursor"),
        ("GET", "/v1/posts/1", None, 404, "does not exist"),
        (
            "POST",
            "/v1/posts",
            {
                "caption": "x" * 2201,
                "media": {"type": "PHOTO", "contentType": "image/jpeg", "sizeBytes": "10"},
            },
            400,
            "2200",
        ),
        ("POST", "/v1/posts", {"caption": "hi"}, 400, "media is required"),
        (
            "POST",
            "/v1/posts",
            {"media": {"type": "PHOTO", "contentType": "image/gif", "sizeBytes": "10"}},
            400,
            "image/gif",
        ),
        (
            "POST",
            "/v1/posts",
            {"media": {"type": "PHOTO", "contentType": "image/jpeg", "sizeBytes": "999999999999"}},
            400,
            "sizeBytes",
        ),
        ("GET", "/v1/nothing", None, 404, "no API"),
        ("PATCH", "/v1/feed", None, 405, "not allowed"),
    ],
)
def test_bad_input_gets_a_clear_4xx(
    api: Api, username: Names, method: str, path: str, body: object, status: int, message: str
) -> None:
    _, token = api.sign_up(username("bad"))
    reply = api.call(method, path, body, token=token)
    assert reply.status == status, reply.body
    error = reply.json()["error"]
    assert error["code"] == status
    assert message in error["message"]


def test_auth_is_required_and_checked(api: Api, username: Names) -> None:
    me, token = api.sign_up(username("auth"))
    assert api.call("GET", "/v1/feed").status == 401
    assert api.call("GET", "/v1/feed", token="ps_wrong").status == 401
    assert api.call("POST", "/v1/follows", {"followedId": me}, token=token).status == 400
    taken = api.call(
        "POST",
        "/v1/users",
        {"username": api.ok("GET", f"/v1/users/{me}", token=token)["user"]["username"]},
    )
    assert taken.status == 409
    assert (
        api.call(
            "POST", "/v1/users", data=b"{oops", headers={"Content-Type": "application/json"}
        ).status
        == 400
    )


def test_pages_have_no_duplicates_or_gaps_while_others_post(
    api: Api, samples: Path, username: Names
) -> None:
    photo = samples / "camera" / "Nikon_D70.jpg"
    authors = [api.sign_up(username("pg")) for _ in range(2)]
    reader_id, reader = api.sign_up(username("reader"))
    for author_id, _ in authors:
        api.ok("POST", "/v1/follows", {"followedId": author_id}, token=reader)
    api.feed_ids(reader)  # the reader's timeline exists before the posts: they are pushed
    existing = [api.post_photo(authors[i % 2][1], photo) for i in range(16)]
    eventually(lambda: len(api.feed_ids(reader)) == 16)

    stop = threading.Event()
    newer: list[str] = []

    def keep_posting() -> None:
        while not stop.is_set() and len(newer) < 6:
            newer.append(api.post_photo(authors[0][1], photo))

    poster = threading.Thread(target=keep_posting)
    poster.start()
    seen: list[str] = []
    cursor = ""
    try:
        while True:
            page = api.ok("GET", f"/v1/feed?limit=5&cursor={cursor}", token=reader)
            seen += [p["id"] for p in page["posts"]]
            if "nextCursor" not in page:
                break
            cursor = page["nextCursor"]
    finally:
        stop.set()
        poster.join()
    assert len(seen) == len(set(seen)), "a post came twice"
    assert [s for s in seen if s in existing] == existing[::-1], "a post was skipped"
    assert reader_id not in seen


def test_long_feed_pages_past_the_trimmed_timeline(
    api: Api, samples: Path, username: Names
) -> None:
    author_id, author = api.sign_up(username("long"))
    _, reader = api.sign_up(username("longreader"))
    api.ok("POST", "/v1/follows", {"followedId": author_id}, token=reader)
    api.feed_ids(reader)
    photo = samples / "camera" / "Canon_40D.jpg"
    posted = [api.post_photo(author, photo) for _ in range(20)]  # timelines keep 12
    eventually(lambda: api.feed_ids(reader, limit=1) == [posted[-1]])
    seen, cursor = [], ""
    while True:
        page = api.ok("GET", f"/v1/feed?limit=7&cursor={cursor}", token=reader)
        seen += [p["id"] for p in page["posts"]]
        if "nextCursor" not in page:
            break
        cursor = page["nextCursor"]
    assert seen == posted[::-1]


def test_celebrity_posts_are_merged_in_order(api: Api, samples: Path, username: Names) -> None:
    celeb_id, celeb = api.sign_up(username("celeb"))
    friend_id, friend = api.sign_up(username("friend"))
    reader_id, reader = api.sign_up(username("fan"))
    fans = [reader] + [api.sign_up(username("fan"))[1] for _ in range(CELEBRITY_THRESHOLD - 1)]
    for token in fans:
        api.ok("POST", "/v1/follows", {"followedId": celeb_id}, token=token)
    api.ok("POST", "/v1/follows", {"followedId": friend_id}, token=reader)
    api.feed_ids(reader)
    photo = samples / "camera" / "Canon_40D.jpg"
    order = [api.post_photo(token, photo) for token in (celeb, friend, celeb, friend, celeb)]
    feed = eventually(lambda: (ids := api.feed_ids(reader)) == order[::-1] and ids)
    assert feed == order[::-1]
    followers = api.ok("GET", f"/v1/users/{celeb_id}/followers?pageSize=2", token=reader)
    assert len(followers["users"]) == 2
    more = api.ok(
        "GET",
        f"/v1/users/{celeb_id}/followers?pageSize=2&pageToken={followers['nextPageToken']}",
        token=reader,
    )
    assert len(more["users"]) == CELEBRITY_THRESHOLD - 2
    assert "nextPageToken" not in more
    following = api.ok("GET", f"/v1/users/{reader_id}/following", token=reader)
    assert {u["id"] for u in following["users"]} == {celeb_id, friend_id}


def test_an_author_crossing_the_celebrity_threshold_either_way_leaves_no_gap(
    api: Api, samples: Path, username: Names
) -> None:
    author_id, author = api.sign_up(username("rising"))
    _, reader = api.sign_up(username("fan"))
    fans = [api.sign_up(username("fan"))[1] for _ in range(CELEBRITY_THRESHOLD - 1)]
    photo = samples / "camera" / "Canon_40D.jpg"

    def follow(token: str, following: bool = True) -> None:
        if following:
            api.ok("POST", "/v1/follows", {"followedId": author_id}, token=token)
        else:
            api.ok("DELETE", f"/v1/follows/{author_id}", token=token)

    def feed_becomes(expected: list[str]) -> None:
        eventually(lambda: api.feed_ids(reader) == expected[::-1])

    for token in (reader, *fans[:-1]):  # one short of a celebrity: pushed
        follow(token)
    api.feed_ids(reader)
    posted = [api.post_photo(author, photo)]
    feed_becomes(posted)
    follow(fans[-1])  # at the threshold: the next post makes them pulled
    posted.append(api.post_photo(author, photo))
    feed_becomes(posted)
    for token in fans:  # down to one follower: pushed again, their pulled post backfilled
        follow(token, following=False)
    posted.append(api.post_photo(author, photo))
    feed_becomes(posted)


def test_unfollow_hides_at_once_and_follow_backfills(
    api: Api, samples: Path, username: Names
) -> None:
    author_id, author = api.sign_up(username("uf"))
    _, reader = api.sign_up(username("ufreader"))
    photo = samples / "camera" / "Canon_40D.jpg"
    api.feed_ids(reader)
    earlier = api.post_photo(author, photo)
    api.ok("POST", "/v1/follows", {"followedId": author_id}, token=reader)
    eventually(lambda: api.feed_ids(reader) == [earlier])  # backfilled
    assert api.ok("DELETE", f"/v1/follows/{author_id}", token=reader) == {}
    assert api.feed_ids(reader) == []  # at once, not eventually
    assert api.ok("DELETE", f"/v1/follows/{author_id}", token=reader) == {}


def test_a_draft_is_visible_to_its_author_only(
    api: Api, samples: Path, username: Names, tmp_path: Path
) -> None:
    _, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    photo = samples / "camera" / "Canon_40D.jpg"
    pending = api.create_post(ada, photo, caption="a secret caption")["post"]["id"]
    not_a_photo = tmp_path / "drawing.jpg"
    not_a_photo.write_bytes(b"<svg>not a photo</svg>")
    failed = api.create_post(ada, not_a_photo, caption="also secret")
    api.call("PUT", failed["upload"]["url"], data=not_a_photo.read_bytes())
    assert api.wait_until_settled(ada, failed["post"]["id"])["state"] == "POST_STATE_FAILED"
    for draft in (pending, failed["post"]["id"]):
        assert api.ok("GET", f"/v1/posts/{draft}", token=ada)["post"]["caption"]
        reply = api.call("GET", f"/v1/posts/{draft}", token=bob)
        assert reply.status == 404, reply.body
        assert b"secret" not in reply.body


def test_hostile_input_gets_a_4xx_in_the_error_shape(api: Api, username: Names) -> None:
    _, token = api.sign_up(username("hostile"))
    deep = b'{"caption": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    not_gzip = b"this is not gzip"
    enum_99 = {"caption": "", "media": {"type": 99, "contentType": "image/jpeg", "sizeBytes": 9}}
    cases = [
        ("POST", "/v1/posts", None, deep, {"Content-Type": "application/json"}, 400),
        (
            "POST",
            "/v1/posts",
            None,
            not_gzip,
            {"Content-Type": "application/json", "Content-Encoding": "gzip"},
            400,
        ),
        ("POST", "/v1/posts", enum_99, None, {}, 400),
        ("GET", "/v1/users:lookup?username=" + "x" * 5000, None, None, {}, 404),
        ("GET", "/v1/feed?" + "y" * 3000 + "=1", None, None, {}, 400),
    ]
    for method, path, body, data, headers, status in cases:
        reply = api.call(method, path, body, token=token, data=data, headers=headers)
        assert reply.status == status, (path[:40], reply.status, reply.body[:200])
        error = reply.json()["error"]
        assert error["code"] == status
        assert error["message"]
        assert len(reply.body) < 4000  # what the client sent is not echoed whole
    # A token that cannot be one (non-ASCII bytes) is a 401, not a crash.
    reply = api.call("GET", "/v1/feed", headers={"Authorization": "Bearer ps_\xe9\xe8"})
    assert reply.status == 401, reply.body
    assert reply.json()["error"]["code"] == 401


def test_a_sign_up_retried_with_its_idempotency_key_gets_the_first_answer(
    api: Api, username: Names
) -> None:
    name, key = username("retry"), f"signup-{username('k')}"
    body = json.dumps({"username": name}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    first = api.call("POST", "/v1/users", data=body, headers=headers)
    again = api.call("POST", "/v1/users", data=body, headers=headers)  # the answer was lost
    assert (first.status, again.status) == (200, 200), again.body
    assert first.json() == again.json()  # the same user, the same token
    token = again.json()["token"]
    assert api.ok("GET", "/v1/feed", token=token) is not None
    other = json.dumps({"username": username("other")}).encode()
    reused = api.call("POST", "/v1/users", data=other, headers=headers)
    assert 400 <= reused.status < 500, reused.body
    assert "another sign-up" in reused.json()["error"]["message"]
    assert api.call("POST", "/v1/users", {"username": name}).status == 409  # no key: taken


def test_a_post_retried_with_its_idempotency_key_is_one_post(
    api: Api, samples: Path, username: Names
) -> None:
    _, ada = api.sign_up(username("ada"))
    photo = samples / "camera" / "Canon_40D.jpg"
    spec = {"type": "PHOTO", "contentType": "image/jpeg", "sizeBytes": str(photo.stat().st_size)}
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {ada}",
        "Idempotency-Key": f"post-{username('k')}",
    }
    body = json.dumps({"caption": "once", "media": spec}).encode()
    first = api.call("POST", "/v1/posts", data=body, headers=headers)
    again = api.call("POST", "/v1/posts", data=body, headers=headers)
    assert (first.status, again.status) == (200, 200), again.body
    assert first.json() == again.json()  # the same post and upload target
    put = api.call("PUT", again.json()["upload"]["url"], data=photo.read_bytes())
    assert put.status == 202, put.body
    post_id = first.json()["post"]["id"]
    assert api.wait_until_settled(ada, post_id)["state"] == "POST_STATE_PUBLISHED"
    grid = api.ok("GET", f"/v1/users/{first.json()['post']['authorId']}/posts", token=ada)
    assert [p["id"] for p in grid["posts"]] == [post_id]
    changed = json.dumps({"caption": "twice", "media": spec}).encode()
    reused = api.call("POST", "/v1/posts", data=changed, headers=headers)
    assert 400 <= reused.status < 500, reused.body
    assert "another post" in reused.json()["error"]["message"]


def test_a_follow_key_reused_for_someone_else_is_refused(api: Api, username: Names) -> None:
    ada_id, _ = api.sign_up(username("ada"))
    bob_id, _ = api.sign_up(username("bob"))
    _, eve = api.sign_up(username("eve"))
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {eve}",
        "Idempotency-Key": f"follow-{username('k')}",
    }
    follow_ada = json.dumps({"followedId": ada_id}).encode()
    first = api.call("POST", "/v1/follows", data=follow_ada, headers=headers)
    again = api.call("POST", "/v1/follows", data=follow_ada, headers=headers)
    assert (first.status, again.status) == (200, 200), again.body
    follow_bob = json.dumps({"followedId": bob_id}).encode()
    reused = api.call("POST", "/v1/follows", data=follow_bob, headers=headers)
    assert reused.status == 400, reused.body
    assert "someone else" in reused.json()["error"]["message"]
    assert len(api.ok("GET", f"/v1/users/{ada_id}/followers", token=eve)["users"]) == 1
    assert api.ok("GET", f"/v1/users/{bob_id}/followers", token=eve).get("users", []) == []


async def test_services_refuse_a_caller_without_the_mesh_credential(
    api: Api, mesh: Mesh, username: Names
) -> None:
    """What grpcurl could do to a service port before: act as any user, check any token,
    list every service."""
    ada_id, ada = api.sign_up(username("ada"))
    bob_id, _ = api.sign_up(username("bob"))
    graph = channel_target(mesh.env["PHOTOSHARE_GRAPH_ADDR"])  # its replicas, if several
    async with grpc.aio.insecure_channel(graph) as channel:
        forged = graph_grpc.GraphServiceStub(channel).Follow(
            graph_pb.FollowRequest(followed_id=int(ada_id)),
            metadata=as_caller(int(bob_id)),
            timeout=5,
        )
        probe = graph_igrpc.GraphInternalServiceStub(channel).Authenticate(
            graph_ipb.AuthenticateRequest(token=ada), timeout=5
        )
        for call in (forged, probe):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await call
            assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        # Reflection is not served: the method is unknown before any request is read (none is
        # sent, so the answer cannot race the client's write).
        reflection = reflection_grpc.ServerReflectionStub(channel)
        listing = reflection.ServerReflectionInfo(iter([]), timeout=5)
        with pytest.raises(grpc.aio.AioRpcError) as hidden:
            await listing.read()
        assert hidden.value.code() is grpc.StatusCode.UNIMPLEMENTED
    followers = api.ok("GET", f"/v1/users/{ada_id}/followers", token=ada)["users"]
    assert followers == []
