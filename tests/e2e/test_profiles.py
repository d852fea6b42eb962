"""Profiles through the REST API alone: PATCH /v1/users/me with an update mask."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e
Names = Callable[[str], str]


def test_a_profile_changes_the_masked_fields_only(api: Api, username: Names) -> None:
    ada_id, ada = api.sign_up(username("ada"))
    _, bob = api.sign_up(username("bob"))
    body = {"user": {"displayName": "Ada Lovelace", "bio": "not this"}, "updateMask": "displayName"}
    user = api.ok("PATCH", "/v1/users/me", body, token=ada)["user"]
    assert (user["id"], user["displayName"], user["bio"]) == (ada_id, "Ada Lovelace", "")
    api.ok("PATCH", "/v1/users/me", {"user": {"bio": "first programmer"}}, token=ada)
    seen = api.ok("GET", f"/v1/users/{ada_id}", token=bob)["user"]
    assert (seen["displayName"], seen["bio"]) == ("Ada Lovelace", "first programmer")


@pytest.mark.parametrize(
    "body",
    [
        {"user": {"username": "eve"}, "updateMask": "username"},
        {"user": {"displayName": "x" * 65}, "updateMask": "displayName"},
        {"user": {"bio": "x" * 301}, "updateMask": "bio"},
        {"user": {}, "updateMask": ""},
        {"user": {"displayName": "Ada"}, "updateMask": 7},
    ],
)
def test_bad_profile_changes_get_a_clear_400(api: Api, username: Names, body: object) -> None:
    _, ada = api.sign_up(username("ada"))
    reply = api.call("PATCH", "/v1/users/me", body, token=ada)
    assert reply.status == 400, reply.body
    assert reply.json()["error"]["message"]
