"""Erasing an account through the REST API, on both backends: gone from the API at once,
then its follows, posts and media deleted, and its username free again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local import Mesh
from tests.e2e.conftest import Api, eventually
from tests.media_files import unique_photo

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]
PASSWORD = "correct horse battery"


def test_an_erased_account_is_gone_at_once_and_its_traces_follow(
    mesh: Mesh, api: Api, tmp_path: Path, username: Names
) -> None:
    name = username("ada")
    created = api.ok("POST", "/v1/users", {"username": name, "password": PASSWORD})
    ada_id, ada = created["user"]["id"], created["token"]
    bob_id, bob = api.sign_up(username("bob"))
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    api.ok("POST", "/v1/follows", {"followedId": bob_id}, token=ada)
    hers = api.post_photo(ada, unique_photo(tmp_path / "hers.jpg"))
    his = api.post_photo(bob, unique_photo(tmp_path / "his.jpg"))
    api.ok("POST", f"/v1/posts/{his}/likes", {}, token=ada)
    api.ok("POST", f"/v1/posts/{his}/comments", {"text": "nice"}, token=ada)
    eventually(lambda: api.feed_ids(bob) == [his, hers])
    urls = [
        r["url"]
        for r in api.ok("GET", f"/v1/posts/{hers}", token=ada)["post"]["media"]["renditions"]
    ]

    def notified_by_ada() -> list[str]:
        page = api.ok("GET", "/v1/notifications", token=bob).get("notifications", [])
        kinds = [n["kind"] for n in page if any(a["id"] == ada_id for a in n["actors"])]
        return [kind.removeprefix("NOTIFICATION_KIND_") for kind in kinds]

    eventually(lambda: sorted(notified_by_ada()) == ["COMMENT", "FOLLOW", "LIKE"])

    reply = api.call("DELETE", "/v1/users/me", token=ada)
    assert reply.status == 202, reply.body
    assert reply.json()["erasure"]["userId"] == ada_id
    # At once: the profile, her post, her like and comment are gone for everyone.
    assert api.call("GET", f"/v1/users/{ada_id}", token=bob).status == 404
    assert api.call("GET", f"/v1/users:lookup?username={name}", token=bob).status == 404
    assert api.call("GET", f"/v1/posts/{hers}", token=bob).status == 404
    assert api.feed_ids(bob) == [his]
    assert api.ok("GET", f"/v1/posts/{his}/likes", token=bob).get("likes", []) == []
    assert api.ok("GET", f"/v1/posts/{his}/comments", token=bob).get("comments", []) == []
    assert notified_by_ada() == []
    eventually(lambda: api.call("GET", "/v1/feed", token=ada).status == 401)
    signing_in = api.call("POST", "/v1/sessions", {"username": name, "password": PASSWORD})
    assert signing_in.status == 401

    # Then, step by step: follows both ways with the counts, her like and comment, her post
    # and its media, her name.
    def bob_counts() -> tuple[str, str]:
        user = api.ok("GET", f"/v1/users/{bob_id}", token=bob)["user"]
        return user.get("followerCount", "0"), user.get("followingCount", "0")

    eventually(lambda: bob_counts() == ("0", "0"))

    def his_counts() -> tuple[int, int]:
        post = api.ok("GET", f"/v1/posts/{his}", token=bob)["post"]
        return int(post.get("likeCount", 0)), int(post.get("commentCount", 0))

    eventually(lambda: his_counts() == (0, 0))  # her like and comment were taken back

    def bob_unread() -> int:
        return int(api.ok("GET", "/v1/notifications", token=bob).get("unreadCount", 0))

    eventually(lambda: bob_unread() == 0)  # her three entries are gone, not only hidden
    eventually(lambda: all(api.call("GET", url).status == 404 for url in urls))

    def sign_up_again() -> str | None:
        reply = api.call("POST", "/v1/users", {"username": name})
        return reply.json()["user"]["id"] if reply.status == 200 else None

    assert eventually(sign_up_again) != ada_id  # a new account with the freed name

    # Finally, the operator's scan of every store finds nothing of her (her events stay in the
    # logs until their retention).
    def nothing_left() -> bool:
        return run_erasure_command(mesh, "verify", ada_id).returncode == 0

    try:
        eventually(nothing_left, timeout_s=30)
    except AssertionError:
        scan = run_erasure_command(mesh, "verify", ada_id)
        pytest.fail(f"the erasure left traces:\n{scan.stdout}{scan.stderr}")
    status = run_erasure_command(mesh, "status", ada_id)
    assert "no erasure" in status.stdout, status.stdout


def run_erasure_command(mesh: Mesh, command: str, user_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.erasure", command, user_id],
        env=mesh.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
