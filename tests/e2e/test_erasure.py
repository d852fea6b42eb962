"""Erasing an account through the REST API, on both backends: gone from the API at once,
then its follows, posts and media deleted, and its username free again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local import Mesh
from tests.e2e.conftest import (
    BACKENDS,
    Api,
    cleanup_servers,
    eventually,
    mesh_env,
    run_erasure_command,
)
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
    nothing_left_of(mesh, ada_id)
    status = run_erasure_command(mesh, "status", ada_id)
    assert "no erasure" in status.stdout, status.stdout


def nothing_left_of(mesh: Mesh, user_id: str) -> None:
    """The operator's scan finds nothing of the user, within a deadline (the last steps are
    asynchronous)."""

    def nothing_left() -> bool:
        return run_erasure_command(mesh, "verify", user_id).returncode == 0

    try:
        eventually(nothing_left, timeout_s=30)
    except AssertionError:
        scan = run_erasure_command(mesh, "verify", user_id)
        pytest.fail(f"the erasure left traces:\n{scan.stdout}{scan.stderr}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_erasure_and_a_post_deletion_cut_short_by_a_crash_finish_after_the_restart(
    tmp_path: Path, backend: str
) -> None:
    env = mesh_env(tmp_path / "data", backend)
    mesh = Mesh(env, log_dir=tmp_path / "logs")
    api = Api(mesh.base_url)
    mesh.start()
    try:
        mesh.wait_healthy()
        ada_id, ada = api.sign_up("ada")
        bob_id, bob = api.sign_up("bob")
        _, carol = api.sign_up("carol")
        api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
        api.ok("POST", "/v1/follows", {"followedId": bob_id}, token=carol)
        for n in range(30):  # enough for the erasure to be under way when the power goes
            _, fan = api.sign_up(f"fan{n}")
            api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=fan)
        hers = [api.post_photo(ada, unique_photo(tmp_path / f"hers{n}.jpg")) for n in range(3)]
        for n in range(15):  # posts whose media never came
            api.create_post(ada, unique_photo(tmp_path / f"draft{n}.jpg"))
        his = api.post_photo(bob, unique_photo(tmp_path / "his.jpg"))
        api.ok("POST", f"/v1/posts/{his}/likes", {}, token=carol)
        api.ok("POST", f"/v1/posts/{his}/comments", {"text": "mine"}, token=ada)
        his_urls = [
            r["url"]
            for r in api.ok("GET", f"/v1/posts/{his}", token=bob)["post"]["media"]["renditions"]
        ]
        eventually(lambda: api.feed_ids(carol) == [his])
        eventually(lambda: set(hers) <= set(api.feed_ids(bob)))

        assert api.call("DELETE", f"/v1/posts/{his}", token=bob).status == 200
        assert api.call("DELETE", "/v1/users/me", token=ada).status == 202
    finally:
        mesh.kill()  # at once: both are acknowledged, and both still under way

    status = run_erasure_command(mesh, "status", ada_id)
    assert "is being erased: at step" in status.stdout, status.stdout  # cut short indeed

    mesh = Mesh(env, log_dir=tmp_path / "logs")  # same data directory, same ports
    mesh.start()
    try:
        mesh.wait_healthy()
        # The deleted post stays deleted and its traces go.
        assert api.call("GET", f"/v1/posts/{his}", token=carol).status == 404
        assert his not in api.feed_ids(carol)
        eventually(lambda: all(api.call("GET", url).status == 404 for url in his_urls))
        # The erasure resumes at its step and finishes.
        assert api.call("GET", f"/v1/users/{ada_id}", token=bob).status == 404

        def bob_following() -> str:
            user = api.ok("GET", f"/v1/users/{bob_id}", token=bob)["user"]
            return str(user.get("followingCount", "0"))

        eventually(lambda: bob_following() == "0", timeout_s=30)
        eventually(lambda: api.call("POST", "/v1/users", {"username": "ada"}).status == 200, 30)
        nothing_left_of(mesh, ada_id)
        assert api.feed_ids(bob) == []
    finally:
        mesh.stop()
        cleanup_servers(env)
