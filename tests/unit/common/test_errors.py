"""One error class says everything: its gRPC code, its HTTP status, its default reason."""

from __future__ import annotations

import json

import grpc
import pytest

from common import errors
from common.http import domain_error_response
from common.rpc_errors import to_status


@pytest.mark.parametrize(
    ("cls", "code", "http_status"),
    [
        (errors.InvalidArgument, "INVALID_ARGUMENT", 400),
        (errors.PayloadTooLarge, "INVALID_ARGUMENT", 413),
        (errors.UnsupportedMedia, "INVALID_ARGUMENT", 415),
        (errors.NotFound, "NOT_FOUND", 404),
        (errors.AlreadyExists, "ALREADY_EXISTS", 409),
        (errors.PermissionDenied, "PERMISSION_DENIED", 403),
        (errors.Unauthenticated, "UNAUTHENTICATED", 401),
        (errors.FailedPrecondition, "FAILED_PRECONDITION", 400),
        (errors.Conflict, "FAILED_PRECONDITION", 409),
        (errors.Gone, "FAILED_PRECONDITION", 410),
        (errors.MethodNotAllowed, "UNIMPLEMENTED", 405),
        (errors.Unavailable, "UNAVAILABLE", 503),
    ],
)
def test_every_edge_reads_the_class(
    cls: type[errors.PhotoshareError], code: str, http_status: int
) -> None:
    error = cls("it went wrong", reason="WHY", metadata={"postId": "7"})
    assert to_status(error).code is grpc.StatusCode[code]
    response = domain_error_response(error)
    assert response.status == http_status
    assert response.text is not None
    body = json.loads(response.text)["error"]
    assert (body["code"], body["status"], body["message"]) == (http_status, code, "it went wrong")
    assert body["details"][0]["reason"] == "WHY"
    assert body["details"][0]["domain"] == errors.ERROR_DOMAIN


def test_a_caller_rebuilds_the_first_class_declared_for_a_code() -> None:
    assert errors.error_class_for("INVALID_ARGUMENT") is errors.InvalidArgument
    assert errors.error_class_for("FAILED_PRECONDITION") is errors.FailedPrecondition
    assert errors.error_class_for("INTERNAL") is None
    assert errors.error_class_for_http_status(413) is errors.PayloadTooLarge
    assert errors.error_class_for_http_status(418) is None


def test_a_new_error_is_one_class(monkeypatch: pytest.MonkeyPatch) -> None:
    # The class registers itself for translation back; keep that to this test.
    monkeypatch.setattr(errors, "_CLASS_BY_CODE", dict(errors._CLASS_BY_CODE))
    monkeypatch.setattr(errors, "_CLASS_BY_HTTP_STATUS", dict(errors._CLASS_BY_HTTP_STATUS))

    class PastTheEnd(errors.PhotoshareError):
        code = "OUT_OF_RANGE"

    error = PastTheEnd("no page 9")
    assert (error.http_status, error.reason) == (400, "OUT_OF_RANGE")
    assert to_status(error).code is grpc.StatusCode.OUT_OF_RANGE
    assert domain_error_response(error).status == 400
    assert errors.error_class_for("OUT_OF_RANGE") is PastTheEnd
