"""Connection limits on the HTTP listeners (gateway and media): idle and slow connections are
closed, oversized headers are refused, and every refusal keeps the JSON error shape."""

from __future__ import annotations

import json
import socket
import time

import pytest

from deploy.local import Mesh
from tests.e2e.conftest import Api

pytestmark = pytest.mark.e2e


def listeners(mesh: Mesh) -> list[tuple[str, int]]:
    """The gateway and the media endpoints."""
    ports = (mesh.env["PHOTOSHARE_HTTP_PORT"], mesh.env["PHOTOSHARE_MEDIA_HTTP_PORT"])
    return [("127.0.0.1", int(port)) for port in ports]


def exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, object]]:
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(request)
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Big", "a" * 9000)],  # one header longer than any browser sends
        [(f"X-H{i}", "v") for i in range(80)],  # more headers than any browser sends
    ],
    ids=["long-header", "many-headers"],
)
def test_oversized_headers_get_a_400_in_the_error_shape(
    api: Api, mesh: Mesh, headers: list[tuple[str, str]]
) -> None:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    request = f"GET /healthz HTTP/1.1\r\nHost: x\r\n{lines}Connection: close\r\n\r\n".encode()
    for address in listeners(mesh):
        status, body = exchange(address, request)
        assert status == 400
        error = body["error"]
        assert isinstance(error, dict)
        assert error["code"] == 400
        assert error["message"]


def test_idle_and_slow_connections_are_closed(api: Api, mesh: Mesh) -> None:
    for address in listeners(mesh):
        with socket.create_connection(address, timeout=15) as idle:
            started = time.monotonic()
            assert idle.recv(1) == b""  # closed by the server, not by our timeout
            assert time.monotonic() - started < 10
        with socket.create_connection(address, timeout=15) as slow:
            started = time.monotonic()
            slow.sendall(b"GET /healthz HTTP/1.1\r\n")
            closed = False
            while time.monotonic() - started < 12:
                try:
                    slow.sendall(b"X")  # one byte of header a second, never finishing
                except OSError:
                    closed = True
                    break
                slow.settimeout(1)
                try:
                    if slow.recv(1) == b"":
                        closed = True
                        break
                except TimeoutError:
                    pass
                except ConnectionResetError:  # closed with our unread bytes still queued
                    closed = True
                    break
            assert closed, "a connection sending its headers at 1 byte/s was kept open"


def test_a_body_that_never_finishes_arriving_gets_a_408(api: Api, mesh: Mesh) -> None:
    gateway = listeners(mesh)[0]
    with socket.create_connection(gateway, timeout=20) as conn:
        started = time.monotonic()
        conn.sendall(
            b"POST /v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        head = conn.recv(65536)
        assert head.split()[1] == b"408"
        assert time.monotonic() - started < 15
        assert b'"code": 408' in head or b'"code": 408' in conn.recv(65536)
