"""The API as others read it: the OpenAPI document the gateway serves is valid, complete and
true to what the mesh answers (schemathesis calls every operation), and /docs renders it
from files the gateway serves itself."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from photoshare.feed.v1 import feed_service_pb2
from photoshare.graph.v1 import graph_service_pb2
from photoshare.post.v1 import post_service_pb2

from deploy.local import Mesh
from gateway.routes import routes_for
from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e
# Calls that would end the session schemathesis signs in with (they are tested in
# test_sessions.py and test_erasure.py).
SESSION_ENDING = (
    "GraphService_EraseAccount",
    "GraphService_DeleteSession",
    "GraphService_SetPassword",
)
# Answers that never end (Server-Sent Events; tested in test_live_feed.py).
STREAMING = ("FeedService_StreamHomeFeed", "FeedService_StreamNotifications")


@pytest.fixture(scope="module")
def document(api: Api) -> dict[str, Any]:
    reply = api.call("GET", "/openapi.json")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    served: dict[str, Any] = reply.json()
    return served


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for item in document["paths"].values()
        for verb, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


def schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def test_the_document_is_valid_and_complete(document: dict[str, Any]) -> None:
    validate(document)  # raises on any violation of OpenAPI 3
    assert document["openapi"].startswith("3.")
    ops = operations(document)
    # Every REST route of the protos, and what media_svc serves on its own origin.
    routes = routes_for(
        f.services_by_name[name]
        for f, name in (
            (graph_service_pb2.DESCRIPTOR, "GraphService"),
            (post_service_pb2.DESCRIPTOR, "PostService"),
            (feed_service_pb2.DESCRIPTOR, "FeedService"),
        )
    )
    rest = {f"{r.method.containing_service.name}_{r.method.name}" for r in routes}
    assert {o for o in ops if not o.startswith("Media_")} == rest
    assert "/v1/posts/{post.id}" not in document["paths"]  # plain names: /v1/posts/{id}
    for op in ("FeedService_GetHomeFeed", "PostService_CreatePost", "GraphService_CreateUser"):
        assert op in ops
    for op in (
        "Media_PutUpload",
        "Media_AppendUpload",
        "Media_GetUploadOffset",
        "Media_GetRendition",
    ):
        assert op in ops
    assert document["paths"]["/uploads/{upload_id}"]["servers"][0]["url"].startswith("http")
    # No internal RPC is in the public surface.
    assert not [
        o
        for o in ops
        if re.search(
            r"Authenticate|Stream(?!HomeFeed|Notifications)|Erase(?!Account)|Batch|Hydrate", o
        )
    ]
    # The live feeds are documented as what they are: Server-Sent Events.
    for op in STREAMING:
        assert list(ops[op]["responses"]["200"]["content"]) == ["text/event-stream"]
        assert "Last-Event-ID" in {p["name"] for p in ops[op]["parameters"]}


def test_it_says_how_to_authenticate_and_what_errors_look_like(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]
    ops = operations(document)
    assert ops["GraphService_CreateUser"]["security"] == []  # signing up needs no token
    assert ops["GraphService_CreateSession"]["security"] == []
    error = ops["FeedService_GetHomeFeed"]["responses"]["401"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/Error"}
    body = schema(document, "ErrorStatus")
    assert set(body["required"]) == {"code", "status", "message", "details"}
    # Work that goes on after the answer is documented as 202.
    assert "202" in ops["GraphService_EraseAccount"]["responses"]


def test_values_are_described_as_the_gateway_writes_them(document: dict[str, Any]) -> None:
    post = schema(document, "Post")["properties"]
    assert post["id"]["type"] == "string"  # int64 as a string
    assert post["likeCount"]["type"] == "string"
    assert post["likeCount"].get("readOnly") is True  # OUTPUT_ONLY in the proto
    state = post["state"]
    assert "POST_STATE_PUBLISHED" in state["enum"]  # enums by name
    assert "text" in schema(document, "CreateCommentRequest")["required"]
    assert post["likeCount"].get("description")  # the protos' comments become descriptions


def test_the_docs_page_renders_from_the_gateway_alone(api: Api) -> None:
    page = api.call("GET", "/docs")
    assert page.status == 200
    html = page.body.decode()
    assert "/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert all(a.startswith("/docs/") for a in assets)  # nothing from the internet
    for asset in assets:
        assert api.call("GET", asset).status == 200, asset
    assert api.call("GET", "/docs/../../etc/passwd").status == 404


def known_ids(api: Api, samples: Path, username: Callable[[str], str]) -> dict[str, Any]:
    """Ids schemathesis cannot guess, by operation: a friend's profile and published post,
    the fuzzing user's own posts and comment. Without them every call that names a user, a
    post or a comment ends in 404 and never reaches the code behind it."""
    photo = samples / "camera" / "Canon_40D.jpg"
    friend_id, friend = api.sign_up(username("fuzzpal"))
    me_id, me = api.sign_up(username("fuzz"))
    friend_post = api.post_photo(friend, photo, caption="fuzz me")
    own_posts = [api.post_photo(me, photo, caption=f"mine {i}") for i in range(2)]
    said = api.ok("POST", f"/v1/posts/{friend_post}/comments", {"text": "hi"}, token=me)
    for_user = {"path.id": friend_id, "path.userId": friend_id}
    for_post = {"path.id": friend_post, "path.postId": friend_post}
    return {
        "token": me,
        "operations": {
            "GraphService_GetUser": for_user,
            "GraphService_ListFollowers": for_user,
            "GraphService_ListFollowing": for_user,
            "PostService_ListUserPosts": {"path.userId": me_id},
            "GraphService_Unfollow": {"path.followedId": friend_id},
            "PostService_GetPost": for_post,
            "PostService_ListComments": for_post,
            "PostService_CreateComment": for_post,
            "PostService_ListLikes": for_post,
            "PostService_LikePost": for_post,
            "PostService_UnlikePost": for_post,
            "PostService_DeleteComment": {
                "path.postId": friend_post,
                "path.commentId": said["comment"]["id"],
            },
            "PostService_UpdatePost": {"path.id": own_posts[0]},
            "PostService_DeletePost": {"path.id": own_posts[1]},
        },
    }


def schemathesis_config(operations: dict[str, dict[str, str]]) -> str:
    blocks = []
    for operation_id, parameters in operations.items():
        values = ", ".join(f'"{name}" = "{value}"' for name, value in parameters.items())
        blocks.append(
            f'[[operations]]\ninclude-operation-id = "{operation_id}"\n'
            f"parameters = {{ {values} }}\n"
        )
    return "\n".join(blocks)


def test_schemathesis_finds_no_server_error_and_no_answer_unlike_the_document(
    mesh: Mesh,
    api: Api,
    document: dict[str, Any],
    samples: Path,
    username: Callable[[str], str],
    tmp_path: Path,
) -> None:
    known = known_ids(api, samples, username)
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config(known["operations"]))
    token = known["token"]
    exclude = [
        arg for op in (*SESSION_ENDING, *STREAMING) for arg in ("--exclude-operation-id", op)
    ]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config),
            "run",
            f"{mesh.base_url}/openapi.json",
            "--url",
            mesh.base_url,
            "--include-path-regex",
            "^/v1/",
            *exclude,
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--request-timeout",
            "10",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    rest = [o for o in operations(document) if not o.startswith("Media_")]
    tested = len(rest) - len(SESSION_ENDING) - len(STREAMING)
    assert f"Tested: {tested}" in run.stdout  # none skipped
    assert "Missing test data" not in run.stdout  # every operation reached its 2xx path
