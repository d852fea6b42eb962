"""A web page on another origin calls the API and uploads as a browser does (CORS): the
preflight it sends first, then the request with its `Origin`, and what it may read back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import WEB_APP_ORIGIN, Api

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]
OTHER_ORIGIN = "https://elsewhere.example"


def preflight(api: Api, url: str, method: str, headers: str, origin: str = WEB_APP_ORIGIN):
    """What Chromium sends before a request with a bearer token or a JSON body."""
    return api.call(
        "OPTIONS",
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def test_a_page_of_an_allowed_origin_calls_the_gateway(api: Api, username: Names) -> None:
    _, ada = api.sign_up(username("cors"))
    asked = preflight(api, "/v1/feed", "GET", "authorization")
    assert asked.status == 204, asked.body
    assert asked.headers["Access-Control-Allow-Origin"] == WEB_APP_ORIGIN
    assert "Authorization" in asked.headers["Access-Control-Allow-Headers"]
    assert "GET" in asked.headers["Access-Control-Allow-Methods"]
    assert int(asked.headers["Access-Control-Max-Age"]) > 0

    asked = preflight(api, "/v1/posts", "POST", "authorization,content-type,idempotency-key")
    assert asked.status == 204, asked.body

    feed = api.call("GET", "/v1/feed", token=ada, headers={"Origin": WEB_APP_ORIGIN})
    assert feed.status == 200
    assert feed.headers["Access-Control-Allow-Origin"] == WEB_APP_ORIGIN
    assert "Origin" in feed.headers["Vary"]
    # An error is readable by the page too, so that it can show the message.
    refused = api.call("GET", "/v1/feed", headers={"Origin": WEB_APP_ORIGIN})
    assert refused.status == 401
    assert refused.headers["Access-Control-Allow-Origin"] == WEB_APP_ORIGIN
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]


def test_a_page_of_another_origin_is_told_why_not(api: Api, username: Names) -> None:
    _, ada = api.sign_up(username("cors"))
    asked = preflight(api, "/v1/feed", "GET", "authorization", origin=OTHER_ORIGIN)
    assert asked.status == 403
    assert "Access-Control-Allow-Origin" not in asked.headers
    assert "PHOTOSHARE_CORS_ORIGINS" in asked.json()["error"]["message"]
    feed = api.call("GET", "/v1/feed", token=ada, headers={"Origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in feed.headers  # the browser hides it

    asked = preflight(api, "/v1/feed", "GET", "authorization,x-secret")
    assert asked.status == 403
    assert "x-secret" in asked.json()["error"]["message"]


def test_a_page_uploads_with_tus_and_reads_the_photo(
    api: Api, samples: Path, username: Names
) -> None:
    _, ada = api.sign_up(username("cors"))
    photo = samples / "camera" / "Canon_40D.jpg"
    data = photo.read_bytes()
    url = api.create_post(ada, photo)["upload"]["url"]

    # tus-js-client's requests, each after its preflight.
    tus_headers = "tus-resumable,upload-offset,content-type"
    assert preflight(api, url, "HEAD", "tus-resumable").status == 204
    assert preflight(api, url, "PATCH", tus_headers).status == 204
    origin = {"Origin": WEB_APP_ORIGIN, "Tus-Resumable": "1.0.0"}
    head = api.call("HEAD", url, headers=origin)
    assert head.status == 200
    assert head.headers["Access-Control-Allow-Origin"] == WEB_APP_ORIGIN
    exposed = head.headers["Access-Control-Expose-Headers"]
    for header in ("Upload-Offset", "Upload-Length", "Tus-Resumable", "Location"):
        assert header in exposed
    patch = api.call(
        "PATCH",
        url,
        data=data,
        headers={
            **origin,
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert patch.status == 204, patch.body
    assert patch.headers["Upload-Offset"] == str(len(data))
    assert patch.headers["Access-Control-Allow-Origin"] == WEB_APP_ORIGIN
    # An OPTIONS without a preflight's headers is still tus discovery.
    assert api.call("OPTIONS", url).headers["Tus-Version"] == "1.0.0"

    post_id = url.split("/uploads/", 1)[1].split("?", 1)[0]
    post = api.wait_until_settled(ada, post_id)
    rendition = post["media"]["renditions"][0]["url"]
    image = api.call("GET", rendition, headers={"Origin": WEB_APP_ORIGIN})
    assert image.status == 200
    assert image.headers["Access-Control-Allow-Origin"] == WEB_APP_ORIGIN
