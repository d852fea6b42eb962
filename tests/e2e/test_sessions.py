"""Signing in and out through the REST API, on both backends: passwords, sessions on two
devices, revocation seen by every gateway process, and answers that reveal nobody."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.local import Mesh, free_port
from tests.e2e.conftest import Api, eventually

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]
PASSWORD = "correct horse battery"
# Well under the token cache's 60 s: a token that fails this soon was learned revoked, not
# expired. (How soon, measured: `python -m tests.bench.revocation`.)
REVOKED_WITHIN_S = 5.0


@pytest.fixture
def second_gateway(mesh: Mesh, tmp_path: Path) -> Iterator[Api]:
    """Another gateway process in front of the same mesh, with a token cache of its own."""
    port = free_port()
    env = {**mesh.env, "PHOTOSHARE_HTTP_PORT": str(port)}
    with open(tmp_path / "gateway.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        api = Api(f"http://127.0.0.1:{port}")
        eventually(lambda: _healthy(api), timeout_s=30)
        yield api
    finally:
        process.terminate()
        process.wait(timeout=30)


def _healthy(api: Api) -> bool:
    try:
        return api.call("GET", "/healthz").status == 200
    except OSError:
        return False


def signed_out_everywhere(token: str, *gateways: Api) -> None:
    for gateway in gateways:

        def refused(gateway: Api = gateway) -> bool:
            return gateway.call("GET", "/v1/feed", token=token).status == 401

        eventually(refused, timeout_s=REVOKED_WITHIN_S)


def test_a_second_device_signs_in_lists_and_signs_the_first_out_everywhere(
    api: Api, second_gateway: Api, username: Names
) -> None:
    name = username("ada")
    body = {"username": name, "password": PASSWORD, "sessionLabel": "phone"}
    phone = api.ok("POST", "/v1/users", body)["token"]
    signed_in = api.ok(
        "POST", "/v1/sessions", {"username": name, "password": PASSWORD, "label": "laptop"}
    )
    laptop = signed_in["token"]
    assert signed_in["session"]["label"] == "laptop"
    assert signed_in["session"]["current"] is True
    sessions = api.ok("GET", "/v1/sessions", token=laptop)["sessions"]
    assert [(s["label"], s.get("current", False)) for s in sessions] == [
        ("laptop", True),
        ("phone", False),
    ]
    assert {"createTime", "lastUseTime"} <= set(sessions[0])  # used by this very call
    phone_session = sessions[1]["id"]

    for gateway in (api, second_gateway):  # both gateways now hold the phone's token
        assert gateway.call("GET", "/v1/feed", token=phone).status == 200
    assert api.ok("DELETE", f"/v1/sessions/{phone_session}", token=laptop) == {}
    signed_out_everywhere(phone, api, second_gateway)
    refused = api.call("GET", "/v1/feed", token=phone).json()["error"]
    assert "signed out" in refused["message"] or "not valid" in refused["message"]
    again = api.call("DELETE", f"/v1/sessions/{phone_session}", token=laptop)
    assert again.status == 404, again.body
    assert [s["label"] for s in api.ok("GET", "/v1/sessions", token=laptop)["sessions"]] == [
        "laptop"
    ]

    assert api.ok("DELETE", "/v1/sessions/current", token=laptop) == {}  # signing out here
    signed_out_everywhere(laptop, api, second_gateway)


def test_a_failed_sign_in_never_says_whether_the_username_exists(api: Api, username: Names) -> None:
    name = username("ada")
    api.ok("POST", "/v1/users", {"username": name, "password": PASSWORD})
    nobody_without_password = username("bob")
    api.sign_up(nobody_without_password)
    answers = set()
    for who, password in [
        (name, "wrong horse battery"),
        (username("nobody"), PASSWORD),
        (nobody_without_password, PASSWORD),
    ]:
        reply = api.call("POST", "/v1/sessions", {"username": who, "password": password})
        error = reply.json()["error"]
        answers.add((reply.status, error["message"], error["details"][0]["reason"]))
    assert answers == {(401, "the username or password is wrong", "WRONG_CREDENTIALS")}
    missing = api.call("POST", "/v1/sessions", {"username": name})
    assert missing.status == 400, missing.body


def test_changing_the_password_needs_it_and_signs_out_the_other_devices(
    api: Api, username: Names
) -> None:
    name = username("ada")
    _, phone = api.sign_up(name)  # signed up without a password: one can be set later
    password = "/v1/users/me/password"
    assert api.ok("PUT", password, {"newPassword": PASSWORD}, token=phone) == {}
    laptop = api.ok("POST", "/v1/sessions", {"username": name, "password": PASSWORD})["token"]

    for body, status in [
        ({"newPassword": "another one entirely"}, 400),  # the current one is needed now
        ({"currentPassword": "wrong", "newPassword": "another one entirely"}, 403),
        ({"currentPassword": PASSWORD, "newPassword": "short"}, 400),
    ]:
        reply = api.call("PUT", password, body, token=laptop)
        assert reply.status == status, reply.body
    changed = {"currentPassword": PASSWORD, "newPassword": "another one entirely"}
    assert api.ok("PUT", password, changed, token=laptop) == {}
    eventually(lambda: api.call("GET", "/v1/feed", token=phone).status == 401)
    assert api.call("GET", "/v1/feed", token=laptop).status == 200
    old = api.call("POST", "/v1/sessions", {"username": name, "password": PASSWORD})
    assert old.status == 401
