"""The media pipeline end to end: resumable uploads with a real tus client, video, AVIF,
placeholders, dedupe, and hostile files, against the real processes."""

from __future__ import annotations

import functools
import io
import json
import socket
import subprocess
import urllib.parse
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pyvips
from tusclient import client as tus

from deploy.local import Mesh
from tests.bench.seed import unique_copy
from tests.e2e.conftest import Api, eventually
from tests.media_files import make_clip, png_header

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]
TUS = {"Tus-Resumable": "1.0.0"}


def renditions(post: dict[str, Any], content_type: str) -> list[dict[str, Any]]:
    return [r for r in post["media"]["renditions"] if r["contentType"] == content_type]


def broken_patch(url: str, chunk: bytes, declared: int) -> None:
    """A PATCH whose connection drops after `chunk` of the `declared` bytes, like a phone
    losing its signal."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port)) as conn:
        head = (
            f"PATCH {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nContent-Length: {declared}\r\n\r\n"
        )
        conn.sendall(head.encode() + chunk)


def upload_offset(api: Api, url: str) -> int:
    reply = api.call("HEAD", url, headers=TUS)
    assert reply.status == 200, reply.status
    assert reply.headers["Tus-Resumable"] == "1.0.0"
    assert reply.headers["Cache-Control"] == "no-store"
    return int(reply.headers["Upload-Offset"])


def test_an_interrupted_upload_resumes_with_a_standard_tus_client(
    api: Api, samples: Path, username: Names
) -> None:
    _, ada = api.sign_up(username("tus"))
    photo = samples / "camera" / "jolla_phone.jpg"  # a phone's photo, 800 KB
    data = photo.read_bytes()
    url = api.create_post(ada, photo)["upload"]["url"]

    options = api.call("OPTIONS", url)
    assert options.status == 204
    assert options.headers["Tus-Version"] == "1.0.0"
    assert int(options.headers["Tus-Max-Size"]) >= len(data)
    assert api.call("HEAD", url).status == 412  # no Tus-Resumable: the version is unknown
    assert upload_offset(api, url) == 0

    half = len(data) // 2
    broken_patch(url, data[:half], declared=len(data))
    eventually(lambda: upload_offset(api, url) == half)  # what arrived was kept

    uploader = tus.TusClient(url).uploader(
        file_stream=io.BytesIO(data), url=url, chunk_size=128 * 1024
    )
    assert uploader.offset == half  # the client asked the server where to resume
    uploader.upload()
    assert upload_offset(api, url) == len(data)

    post_id = url.split("/uploads/", 1)[1].split("?", 1)[0]
    post = api.wait_until_settled(ada, post_id)
    assert post["state"] == "POST_STATE_PUBLISHED"
    full = api.call("GET", renditions(post, "image/jpeg")[-1]["url"]).body
    assert pyvips.Image.new_from_buffer(full, "").width == 1080

    again = api.call(
        "PATCH",
        url,
        data=b"x",
        headers={
            **TUS,
            "Upload-Offset": str(len(data)),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert again.status == 409


def test_tus_requests_are_checked(api: Api, samples: Path, username: Names) -> None:
    _, ada = api.sign_up(username("tuscheck"))
    photo = samples / "camera" / "Canon_40D.jpg"
    url = api.create_post(ada, photo)["upload"]["url"]
    patch = {**TUS, "Content-Type": "application/offset+octet-stream"}
    data = photo.read_bytes()
    wrong_offset = api.call("PATCH", url, data=data, headers={**patch, "Upload-Offset": "5"})
    assert wrong_offset.status == 409
    assert "Upload-Offset is 5 but 0" in wrong_offset.json()["error"]["message"]
    wrong_type = api.call(
        "PATCH", url, data=data, headers={**TUS, "Upload-Offset": "0", "Content-Type": "image/jpeg"}
    )
    assert wrong_type.status == 415
    assert api.call("HEAD", url.replace("token=", "token=x"), headers=TUS).status == 403
    done = api.call("PATCH", url, data=data, headers={**patch, "Upload-Offset": "0"})
    assert done.status == 204
    assert done.headers["Upload-Expires"].endswith(" GMT")
    assert done.headers["Upload-Offset"] == str(len(data))
    assert api.call("PUT", url, data=data).status == 409  # a plain PUT after tus: done already


@pytest.fixture(scope="session")
def iphone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip as an iPhone records it: HEVC in MOV, shot upright (a rotation flag), with
    its location in the metadata."""
    clip = tmp_path_factory.mktemp("clips") / "IMG_0001.MOV"
    encoded = make_clip(clip.with_suffix(".raw.mov"), size="1280x720", seconds=2)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(encoded), "-c", "copy",
         "-metadata:s:v:0", "rotate=90", "-metadata", "location=+37.7749-122.4194/",
         "-metadata", "com.apple.quicktime.location.ISO6709=+37.7749-122.4194+010.000/",
         "-movflags", "use_metadata_tags", "-f", "mov", str(clip)],
        check=True,
    )  # fmt: skip
    assert b"+37.7749" in clip.read_bytes()
    return clip


def probe(data: bytes, tmp_path: Path) -> dict[str, Any]:
    movie = tmp_path / "played.mp4"
    movie.write_bytes(data)
    output = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
         str(movie)],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    probed: dict[str, Any] = json.loads(output)
    return probed


def test_an_iphone_mov_clip_is_published_upright_without_its_location(
    api: Api, username: Names, iphone_clip: Path, tmp_path: Path
) -> None:
    ada_id, ada = api.sign_up(username("clip"))
    _, bob = api.sign_up(username("viewer"))
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    post_id = api.post_photo(ada, iphone_clip, "video/quicktime", media_type="VIDEO")
    post = api.ok("GET", f"/v1/posts/{post_id}", token=ada)["post"]
    assert post["state"] == "POST_STATE_PUBLISHED", post.get("failureReason")
    media = post["media"]
    assert media["type"] == "MEDIA_TYPE_VIDEO"
    assert (media["width"], media["height"], media["durationMs"]) == (720, 1280, 2000)
    assert media["placeholder"]["blurhash"]

    [video] = renditions(post, "video/mp4")
    assert video["url"].endswith(".mp4")
    assert (video["width"], video["height"]) == (720, 1280)
    played = api.call("GET", video["url"])
    assert played.status == 200
    assert played.headers["Content-Type"] == "video/mp4"
    assert played.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"37.7749" not in played.body
    streams = probe(played.body, tmp_path)
    codecs = {s["codec_type"]: s for s in streams["streams"]}
    assert codecs["video"]["codec_name"] == "h264"
    assert (codecs["video"]["width"], codecs["video"]["height"]) == (720, 1280)
    assert "audio" in codecs
    tags = [streams["format"].get("tags", {}), *(s.get("tags", {}) for s in streams["streams"])]
    assert not [key for tag in tags for key in tag if "location" in key.lower()], tags
    assert "creation_time" not in json.dumps(tags)
    seek = api.call("GET", video["url"], headers={"Range": "bytes=100-199"})
    assert seek.status == 206
    assert seek.body == played.body[100:200]

    poster = api.call("GET", renditions(post, "image/jpeg")[-1]["url"]).body
    image = pyvips.Image.new_from_buffer(poster, "")
    assert (image.width, image.height) == (720, 1280)  # the poster is upright too
    assert not [f for f in image.get_fields() if f.startswith(("exif", "xmp", "orientation"))]
    eventually(lambda: post_id in api.feed_ids(bob))


def test_photos_get_avif_a_placeholder_and_reuse_identical_uploads(
    api: Api, samples: Path, username: Names
) -> None:
    ada_id, ada = api.sign_up(username("avif"))
    _, bob = api.sign_up(username("fan"))
    api.ok("POST", "/v1/follows", {"followedId": ada_id}, token=bob)
    photo = samples / "orientation" / "Landscape_8.jpg"
    post_id = api.post_photo(ada, photo)
    eventually(lambda: post_id in api.feed_ids(bob))  # the feed caches the post as published

    def in_feed_with_avif() -> Any:
        posts = api.ok("GET", "/v1/feed", token=bob)["posts"]
        post = next(p for p in posts if p["id"] == post_id)
        return post if renditions(post, "image/avif") else None

    # AVIF arrives later and the feed's cached copy of the post is refreshed.
    media = eventually(in_feed_with_avif)["media"]
    assert media["aspectRatio"] == pytest.approx(1.5)
    assert len(media["placeholder"]["blurhash"]) == 28
    assert media["placeholder"]["color"].startswith("#")
    for rendition in media["renditions"]:
        extension = rendition["url"].rsplit(".", 1)[1]
        assert {"jpg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}[
            extension
        ] == rendition["contentType"]
    avif_urls = [r["url"] for r in media["renditions"] if r["contentType"] == "image/avif"]
    avif = api.call("GET", avif_urls[-1])
    assert avif.headers["Content-Type"] == "image/avif"
    assert pyvips.Image.new_from_buffer(avif.body, "").width == 1080

    copy_id = api.post_photo(ada, photo)
    copy = api.ok("GET", f"/v1/posts/{copy_id}", token=ada)["post"]
    assert [r["url"] for r in copy["media"]["renditions"]] == [
        r["url"] for r in media["renditions"]
    ]


def hostile_files(samples: Path, tmp: Path) -> list[tuple[str, bytes, str, str]]:
    """(name, bytes, declared type, words the reason must contain)."""
    jpeg = (samples / "camera" / "Canon_40D.jpg").read_bytes()
    heic = (samples / "heif" / "IMG_5195.HEIC").read_bytes()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.txt", "anything at all")
    bomb = png_header(30_000, 30_000)  # a few bytes that claim 900 megapixels
    frames = pyvips.Image.arrayjoin(
        [pyvips.Image.black(8, 8) + 12 * i for i in range(20)], across=1
    )
    frames = frames.cast("uchar").copy()
    frames.set_type(pyvips.GValue.gint_type, "page-height", 8)
    bad = [
        (path.name, path.read_bytes(), _declared(path), "")
        for path in sorted((samples / "bad").iterdir())
    ]
    return [
        *bad,
        ("polyglot.jpg", jpeg + archive.getvalue(), "image/jpeg", "ZIP archive"),
        ("script.jpg", jpeg[:2] + b"\xff\xfe\x00\x1c<script>alert(1)</script>" + jpeg[2:],
         "image/jpeg", "markup"),
        ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
         "image/png", "SVG"),
        ("bomb.png", bomb, "image/png", "no side may exceed"),
        ("frames.webp", frames.webpsave_buffer(lossless=True), "image/webp", "holds 20 images"),
        ("truncated.heic", heic[: len(heic) // 2], "image/heic", "could not be decoded"),
        ("noise.jpg", jpeg[:600] + bytes(range(256)) * 40, "image/jpeg", "could not be decoded"),
        ("text.mov", b"\0\0\0\x14ftypqt  \0\0\0\0" + b"not a movie" * 50, "video/quicktime",
         "not a playable"),
    ]  # fmt: skip


def _declared(path: Path) -> str:
    return "image/heic" if path.suffix.lower() == ".heic" else "image/jpeg"


def test_every_hostile_file_fails_its_post_with_a_reason_and_the_service_keeps_serving(
    api: Api, samples: Path, username: Names, tmp_path: Path
) -> None:
    _, ada = api.sign_up(username("hostile"))
    for name, data, content_type, words in hostile_files(samples, tmp_path):
        upload = tmp_path / name
        upload.write_bytes(data)
        media_type = "VIDEO" if content_type.startswith("video/") else "PHOTO"
        created = api.create_post(ada, upload, content_type, media_type=media_type)
        api.call("PUT", created["upload"]["url"], data=data)  # 202, or 415 for a disguise
        post = api.wait_until_settled(ada, created["post"]["id"])
        assert post["state"] == "POST_STATE_FAILED", name
        assert words in post["failureReason"], (name, post)
        assert len(post["failureReason"]) > 15, (name, post)
        assert "/" not in post["failureReason"].replace("image/", "").replace("video/", ""), post
    fine = api.post_photo(ada, samples / "camera" / "Nikon_D70.jpg")
    assert api.ok("GET", f"/v1/posts/{fine}", token=ada)["post"]["state"] == "POST_STATE_PUBLISHED"


def test_no_acknowledged_upload_is_lost_when_workers_are_killed(
    api: Api, mesh: Mesh, samples: Path, username: Names, tmp_path: Path
) -> None:
    """The OOM killer or an operator kills the decoder workers mid-burst, twice: every upload
    answered 202 still ends PUBLISHED (each job goes to a fresh worker)."""
    _, ada = api.sign_up(username("ada"))
    photo = (samples / "camera" / "jolla_phone.jpg").read_bytes()
    post_ids = []
    for i in range(6):
        copy = tmp_path / f"copy{i}.jpg"
        copy.write_bytes(unique_copy(photo))  # new bytes: dedupe cannot skip the work
        created = api.create_post(ada, copy)
        put = api.call("PUT", created["upload"]["url"], data=copy.read_bytes())
        assert put.status == 202, put.body
        post_ids.append(created["post"]["id"])
    media_pid = mesh.pids["media_svc"]
    for _ in range(2):
        workers = subprocess.run(
            ["pgrep", "-P", str(media_pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert workers, "media_svc has no worker processes"
        subprocess.run(["kill", "-KILL", *workers], check=False)
        eventually(functools.partial(_new_workers, media_pid, workers), timeout_s=10)
    states = [api.wait_until_settled(ada, post_id, timeout_s=60)["state"] for post_id in post_ids]
    assert states == ["POST_STATE_PUBLISHED"] * 6


def _new_workers(media_pid: int, killed: list[str]) -> bool:
    now = subprocess.run(
        ["pgrep", "-P", str(media_pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    return bool(now) and not set(now) & set(killed)
