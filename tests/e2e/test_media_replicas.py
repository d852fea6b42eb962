"""Two media_svc processes on different disks share uploads through the stores: one resumes a
tus upload the other began, and one takes over processing the other left when it crashed."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy.local import Mesh, free_port
from tests.bench.seed import unique_copy
from tests.e2e.conftest import Api, cleanup_servers, eventually, mesh_env
from tests.e2e.test_media import TUS, broken_patch, upload_offset

pytestmark = [pytest.mark.e2e, pytest.mark.production]
SWEEP_S = 1  # how often the surviving replica looks for work nobody holds


@pytest.fixture(scope="module")
def two_media(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Api, str, subprocess.Popen[bytes]]]:
    """A production mesh (media_svc "A"), and a second media_svc "B" with a data directory
    of its own: (the API, B's upload base URL, B's process). The tests run in order: the
    last one kills B."""
    tmp_path = tmp_path_factory.mktemp("two-media")
    env = mesh_env(tmp_path / "data", "production")
    media_a = f"http://127.0.0.1:{env['PHOTOSHARE_MEDIA_HTTP_PORT']}"
    env.update(
        {
            "PHOTOSHARE_SECRET": "media-replicas-test-secret",  # both sign and check URLs
            "PHOTOSHARE_MEDIA_PUBLIC_URL": media_a,  # rendition URLs name A whoever made them
            "PHOTOSHARE_MEDIA_SWEEP_S": str(SWEEP_S),
        }
    )
    mesh = Mesh(env, log_dir=tmp_path / "logs")
    mesh.start()
    b_port = free_port()
    with open(tmp_path / "logs" / "media_b.log", "ab") as log:
        media_b = subprocess.Popen(
            [sys.executable, "-m", "media_svc"],
            env={
                **env,
                "PHOTOSHARE_DATA_DIR": str(tmp_path / "data-b"),
                "PHOTOSHARE_MEDIA_ADDR": f"127.0.0.1:{free_port()}",
                "PHOTOSHARE_MEDIA_HTTP_PORT": str(b_port),
                "PHOTOSHARE_INSTANCE_ID": "media-b",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        mesh.wait_healthy()
        api = Api(mesh.base_url)
        eventually(lambda: api.call("OPTIONS", f"http://127.0.0.1:{b_port}/uploads/1").status)
        yield api, f"http://127.0.0.1:{b_port}", media_b
    finally:
        if media_b.poll() is None:
            media_b.terminate()
        media_b.wait(timeout=15)
        mesh.stop()
        cleanup_servers(mesh.env)


def on(base: str, url: str) -> str:
    """The same upload URL, sent to the media_svc at `base`."""
    parts = urlsplit(url)
    return f"{base}{parts.path}?{parts.query}"


def test_a_tus_upload_begun_on_one_replica_is_finished_on_another(
    two_media: tuple[Api, str, subprocess.Popen[bytes]], samples: Path
) -> None:
    api, media_b, _ = two_media
    _, ada = api.sign_up("ada")
    photo = samples / "camera" / "Canon_40D.jpg"
    data = photo.read_bytes()
    url = api.create_post(ada, photo)["upload"]["url"]  # A's URL
    half = len(data) // 2
    broken_patch(url, data[:half], declared=len(data))  # A keeps what arrived
    eventually(lambda: upload_offset(api, url) == half)

    assert upload_offset(api, on(media_b, url)) == half  # B sees it: nothing was on A's disk
    reply = api.call(
        "PATCH",
        on(media_b, url),
        data=data[half:],
        headers={
            **TUS,
            "Upload-Offset": str(half),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert reply.status == 204, reply.body
    post_id = url.split("/uploads/", 1)[1].split("?")[0]
    post = api.wait_until_settled(ada, post_id)
    assert post["state"] == "POST_STATE_PUBLISHED"
    # Made by B, served by A, from the store.
    image = api.call("GET", post["media"]["renditions"][0]["url"])
    assert image.status == 200
    assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_processing_left_by_a_crashed_replica_is_taken_over(
    two_media: tuple[Api, str, subprocess.Popen[bytes]], samples: Path, tmp_path: Path
) -> None:
    api, media_b, process_b = two_media
    _, ada = api.sign_up("bob")
    photo = tmp_path / "copy.jpg"
    photo.write_bytes(unique_copy((samples / "camera" / "Canon_40D.jpg").read_bytes()))
    created = api.create_post(ada, photo)
    put = api.call("PUT", on(media_b, created["upload"]["url"]), data=photo.read_bytes())
    assert put.status == 202, put.body  # stored: B queued it for processing
    process_b.send_signal(signal.SIGKILL)  # and crashed before it finished
    process_b.wait(timeout=10)

    # A finds the upload once B's claim on it has run out (30 s) and publishes it.
    post = api.wait_until_settled(ada, created["post"]["id"], timeout_s=90)
    assert post["state"] == "POST_STATE_PUBLISHED"
    assert api.call("GET", post["media"]["renditions"][-1]["url"]).status == 200
