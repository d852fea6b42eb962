"""Nothing acknowledged is lost when the mesh restarts, gracefully or by a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local import Mesh
from tests.e2e.conftest import BACKENDS, Api, cleanup_servers, eventually, mesh_env

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("how", ["sigterm", "kill"])
def test_state_survives_a_restart(tmp_path: Path, samples: Path, how: str, backend: str) -> None:
    env = mesh_env(tmp_path / "data", backend)
    mesh = Mesh(env, log_dir=tmp_path / "logs")
    mesh.start()
    try:
        mesh.wait_healthy()
        api = Api(mesh.base_url)
        ada_id, ada = api.sign_up("ada")
        _, bob = api.sign_up("bob")
        api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
        post_id = api.post_photo(ada, samples / "camera" / "Canon_40D.jpg", caption="kept")
        eventually(lambda: api.feed_ids(bob) == [post_id])
        # Engagement acknowledged just before the crash keeps its counts.
        api.ok("POST", f"/v1/posts/{post_id}/likes", {}, token=bob)
        api.ok("POST", f"/v1/posts/{post_id}/comments", {"text": "kept too"}, token=bob)
        # Acknowledged (202) but still being processed when the mesh goes down.
        heic = samples / "heif" / "IMG_5195.HEIC"
        interrupted = api.create_post(ada, heic, "image/heic")
        put = api.call("PUT", interrupted["upload"]["url"], data=heic.read_bytes())
        assert put.status == 202
    finally:
        mesh.kill() if how == "kill" else mesh.stop()

    mesh = Mesh(env, log_dir=tmp_path / "logs")  # same data directory, same ports
    mesh.start()
    try:
        mesh.wait_healthy()
        # The in-memory timelines are gone: the feed is rebuilt from the stores, not empty.
        assert post_id in api.feed_ids(bob)
        assert api.ok("GET", f"/v1/users/{ada_id}", token=bob)["user"]["followerCount"] == "1"
        assert api.call("POST", "/v1/users", {"username": "ada"}).status == 409
        kept = api.ok("GET", f"/v1/posts/{post_id}", token=bob)["post"]
        assert (kept["likeCount"], kept["commentCount"], kept["likedByViewer"]) == ("1", "1", True)
        comments = api.ok("GET", f"/v1/posts/{post_id}/comments", token=ada)["comments"]
        assert [c["text"] for c in comments] == ["kept too"]

        # Notifications of what was acknowledged arrive, each once, whenever the crash came.
        def notified() -> list[str]:
            page = api.ok("GET", "/v1/notifications", token=ada)["notifications"]
            return sorted(n["kind"].removeprefix("NOTIFICATION_KIND_") for n in page)

        eventually(lambda: notified() == ["COMMENT", "FOLLOW", "LIKE"])
        resumed = api.wait_until_settled(ada, interrupted["post"]["id"])
        assert resumed["state"] == "POST_STATE_PUBLISHED"
        newer = api.post_photo(ada, samples / "camera" / "Canon_40D.jpg")
        eventually(lambda: api.feed_ids(bob) == [newer, resumed["id"], post_id])
    finally:
        mesh.stop()
        cleanup_servers(env)
