"""Routes come from the google.api.http annotations; requests are transcoded from JSON."""

from __future__ import annotations

import pytest
from photoshare.feed.v1 import feed_service_pb2
from photoshare.graph.v1 import graph_service_pb2
from photoshare.media.v1 import media_pb2, media_service_pb2
from photoshare.post.v1 import post_service_pb2

from common.errors import InvalidArgument
from gateway.routes import Route, compile_template, routes_for
from gateway.transcode import build_request

SERVICES = [
    graph_service_pb2.DESCRIPTOR.services_by_name["GraphService"],
    post_service_pb2.DESCRIPTOR.services_by_name["PostService"],
    media_service_pb2.DESCRIPTOR.services_by_name["MediaService"],
    feed_service_pb2.DESCRIPTOR.services_by_name["FeedService"],
]
ROUTES = routes_for(SERVICES)


def route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    for candidate in ROUTES:
        match = candidate.pattern.match(path)
        if candidate.http_method == method and match:
            return candidate, match.groupdict()
    raise AssertionError(f"no route for {method} {path}")


def test_the_rest_contract_is_routed() -> None:
    table = {(r.http_method, r.template): r.method.name for r in ROUTES}
    assert table == {
        ("POST", "/v1/users"): "CreateUser",
        ("GET", "/v1/users/{id}"): "GetUser",
        ("GET", "/v1/users:lookup"): "LookupUser",
        ("PATCH", "/v1/users/me"): "UpdateProfile",
        ("PATCH", "/v1/posts/{post.id}"): "UpdatePost",
        ("DELETE", "/v1/posts/{id}"): "DeletePost",
        ("POST", "/v1/users/me/avatar"): "CreateAvatarUpload",
        ("POST", "/v1/follows"): "Follow",
        ("DELETE", "/v1/follows/{followed_id}"): "Unfollow",
        ("GET", "/v1/users/{user_id}/followers"): "ListFollowers",
        ("GET", "/v1/users/{user_id}/following"): "ListFollowing",
        ("POST", "/v1/posts"): "CreatePost",
        ("GET", "/v1/posts/{id}"): "GetPost",
        ("GET", "/v1/users/{user_id}/posts"): "ListUserPosts",
        ("POST", "/v1/posts/{post_id}/likes"): "LikePost",
        ("DELETE", "/v1/posts/{post_id}/likes"): "UnlikePost",
        ("GET", "/v1/posts/{post_id}/likes"): "ListLikes",
        ("POST", "/v1/posts/{post_id}/comments"): "CreateComment",
        ("GET", "/v1/posts/{post_id}/comments"): "ListComments",
        ("DELETE", "/v1/posts/{post_id}/comments/{comment_id}"): "DeleteComment",
        ("GET", "/v1/feed"): "GetHomeFeed",
        ("GET", "/v1/feed:stream"): "StreamHomeFeed",
        ("GET", "/v1/notifications"): "ListNotifications",
        ("GET", "/v1/notifications:stream"): "StreamNotifications",
        ("POST", "/v1/notifications:markRead"): "MarkNotificationsRead",
        ("POST", "/v1/sessions"): "CreateSession",
        ("GET", "/v1/sessions"): "ListSessions",
        ("DELETE", "/v1/sessions/{id}"): "DeleteSession",
        ("PUT", "/v1/users/me/password"): "SetPassword",
        ("DELETE", "/v1/users/me"): "EraseAccount",
    }
    assert [r.method.name for r in ROUTES if r.accepted] == ["EraseAccount"]
    assert [r.method.name for r in ROUTES if r.public] == ["CreateUser", "CreateSession"]
    streaming = [r.method.name for r in ROUTES if r.streaming]
    assert streaming == ["StreamHomeFeed", "StreamNotifications"]


def test_templates_match_whole_segments() -> None:
    pattern = compile_template("/v1/users/{id}")
    assert pattern.match("/v1/users/12").groupdict() == {"id": "12"}  # type: ignore[union-attr]
    assert pattern.match("/v1/users/12/posts") is None
    assert pattern.match("/v1/users:lookup") is None


def test_path_query_and_body_fill_the_request() -> None:
    r, params = route("GET", "/v1/users/42/posts")
    message = build_request(r, params, {"limit": "5", "cursor": "abc"}, b"")
    assert message == post_service_pb2.ListUserPostsRequest(user_id=42, limit=5, cursor="abc")
    r, params = route("POST", "/v1/posts")
    body = (
        b'{"caption": "hi", '
        b'"media": {"type": "PHOTO", "contentType": "image/jpeg", "sizeBytes": "10"}}'
    )
    message = build_request(r, params, {}, body)
    assert message.media.type == media_pb2.MEDIA_TYPE_PHOTO  # type: ignore[attr-defined]
    assert message.media.size_bytes == 10  # type: ignore[attr-defined]


def test_a_path_variable_can_name_a_field_of_the_body() -> None:
    r, params = route("PATCH", "/v1/posts/42")
    body = b'{"post": {"id": "7", "caption": "new"}, "updateMask": "caption"}'
    message = build_request(r, params, {}, body)
    expected = post_service_pb2.UpdatePostRequest(
        post=post_service_pb2.Post(id=42, caption="new")  # the path wins over the body
    )
    expected.update_mask.paths.append("caption")
    assert message == expected
    with pytest.raises(InvalidArgument, match="id must be an integer"):
        build_request(*route("PATCH", "/v1/posts/abc"), {}, b'{"post": {}}')


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "message"),
    [
        ("GET", "/v1/users/abc", {}, b"", "id must be an integer"),
        ("GET", "/v1/feed", {"limit": "ten"}, b"", "limit must be an integer"),
        ("GET", "/v1/feed", {"colour": "red"}, b"", "unknown query parameter 'colour'"),
        ("POST", "/v1/users", {}, b"{not json", "not valid JSON"),
        ("POST", "/v1/users", {}, b"[1]", "must be a JSON object"),
        ("POST", "/v1/users", {}, b'{"username": "x", "admin": true}', "admin"),
        ("POST", "/v1/posts", {}, b'{"media": {"type": "VIDEOTAPE"}}', "VIDEOTAPE"),
        ("GET", "/v1/feed", {}, b'{"a": 1}', "takes no request body"),
        ("POST", "/v1/posts", {}, b'{"media": {"type": 99}}', "99 is not"),
        ("POST", "/v1/posts", {}, b'{"caption": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "deeper"),
        ("POST", "/v1/posts", {}, b'{"a": ' + b'{"b": ' * 20 + b"1" + b"}" * 21, "deeper"),
    ],
)
def test_bad_requests_say_what_is_wrong(
    method: str, path: str, query: dict[str, str], body: bytes, message: str
) -> None:
    r, params = route(method, path)
    with pytest.raises(InvalidArgument, match=message):
        build_request(r, params, query, body)
