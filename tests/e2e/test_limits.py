"""Abuse limits through the REST API, on a mesh with tight limits: 429 with Retry-After and
the IETF RateLimit headers, per address before authentication and per user after."""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local import Mesh
from tests.e2e.conftest import BACKENDS, Api, cleanup_servers, eventually, mesh_env

pytestmark = pytest.mark.e2e


@pytest.fixture(params=BACKENDS)
def tight(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    env = mesh_env(tmp_path / "data", request.param)
    env["PHOTOSHARE_RATE_LIMIT_SCALE"] = "0.1"  # address: 10 at once; uploads: 1
    mesh = Mesh(env, log_dir=tmp_path / "logs")
    mesh.start()
    try:
        mesh.wait_healthy()
        yield Api(mesh.base_url)
    finally:
        mesh.stop()
        cleanup_servers(env)


def test_sign_ups_token_guesses_and_uploads_are_limited(tight: Api) -> None:
    _, token = tight.sign_up("ada")
    names = [f"user{i}" for i in range(12)]
    statuses = [tight.call("POST", "/v1/users", {"username": name}).status for name in names]
    assert statuses[:9] == [200] * 9  # with ada's, the address's 10
    assert statuses[-1] == 429
    refused = tight.call("GET", "/v1/feed", token="ps_guess")  # the address is spent
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Policy"].startswith('"address";q=10;w=')
    assert refused.headers["RateLimit"].startswith('"address";r=0;t=')
    error = refused.json()["error"]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert "try again in" in error["message"]
    # An authenticated user has a budget of their own; new posts (upload slots) a small one.
    assert tight.call("GET", "/v1/feed", token=token).status == 200
    spec = {"caption": "", "media": {"type": "PHOTO", "contentType": "image/jpeg", "sizeBytes": 9}}
    first = tight.call("POST", "/v1/posts", spec, token=token)
    second = tight.call("POST", "/v1/posts", spec, token=token)
    assert (first.status, second.status) == (200, 429)
    assert second.headers["RateLimit-Policy"].startswith('"upload";q=1;w=')


def test_password_guesses_are_slowed_per_account_and_per_address(tight: Api) -> None:
    password = "correct horse battery"
    created = tight.ok("POST", "/v1/users", {"username": "ada", "password": password})
    sessions = "/v1/sessions"

    def sign_in(username: str, password: str) -> tuple[int, str]:
        reply = tight.call("POST", sessions, {"username": username, "password": password})
        return reply.status, reply.headers.get("RateLimit-Policy", "")

    assert sign_in("ada", "a wrong guess")[0] == 401
    status, policy = sign_in("ada", password)  # even the right one: Ada's tries are spent
    assert (status, policy.split(";")[0]) == (429, '"sign-in-account"')
    assert sign_in("nobody", "a wrong guess")[0] == 401  # an unknown name costs the same
    status, policy = sign_in("someone", "a wrong guess")  # the address's tries are spent
    assert (status, policy.split(";")[0]) == (429, '"sign-in-address"')
    # Changing a password checks the current one: it draws on the account's tries too.
    change = {"currentPassword": "a wrong guess", "newPassword": "another password"}
    assert tight.call("PUT", "/v1/users/me/password", change, token=created["token"]).status == 403
    again = tight.call("PUT", "/v1/users/me/password", change, token=created["token"])
    assert again.status == 429, again.body


def test_one_address_holds_a_bounded_number_of_connections(tight: Api) -> None:
    address = urllib.parse.urlsplit(tight.base_url)
    server = (address.hostname or "127.0.0.1", address.port or 80)
    held = [socket.create_connection(server) for _ in range(26)]  # 256 at scale 0.1
    try:
        with socket.create_connection(server) as extra:
            extra.settimeout(2.0)  # the idle timeout (5 s) is not what closes it
            assert extra.recv(1) == b""
        held.pop().close()

        def served() -> bool:
            try:  # until the server has seen the close, a new connection is still refused
                status = tight.call("GET", "/v1/users:lookup?username=nobody").status
            except OSError:
                return False
            return status in (404, 429)

        assert eventually(served, timeout_s=4.0)
    finally:
        for connection in held:
            connection.close()
