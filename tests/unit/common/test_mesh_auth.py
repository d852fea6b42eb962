"""Trust between services on real gRPC servers: only a caller holding the mesh's secret is
served, and the user a call is for cannot be forged or swapped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from photoshare.graph.v1 import graph_internal_service_pb2 as ipb
from photoshare.graph.v1 import graph_internal_service_pb2_grpc as ipb_grpc

from common.mesh_auth import CREDENTIAL_KEY, MeshCredentials
from common.metadata import USER_ID_KEY, as_caller, optional_caller_id
from common.metrics import Metrics
from common.server import insecure_channel, server_interceptors
from deploy.local import free_port

SECRET = b"the mesh's secret"


class WhoAmI(ipb_grpc.GraphInternalServiceServicer):
    """Answers Authenticate with the user the call says it is for (0: nobody)."""

    async def Authenticate(
        self, request: ipb.AuthenticateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> ipb.AuthenticateResponse:
        return ipb.AuthenticateResponse(user_id=optional_caller_id(context) or 0)

    async def StreamFollowerIds(
        self, request: ipb.StreamFollowerIdsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[ipb.StreamFollowerIdsResponse]:
        yield ipb.StreamFollowerIdsResponse(follower_ids=[optional_caller_id(context) or 0])


@pytest.fixture
async def address() -> AsyncIterator[str]:
    # The interceptors every service runs: none may let a call through that another refused.
    server = grpc.aio.server(
        interceptors=server_interceptors(MeshCredentials(SECRET), Metrics(), None)
    )
    ipb_grpc.add_GraphInternalServiceServicer_to_server(WhoAmI(), server)  # type: ignore[abstract]
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    await server.start()
    yield address
    await server.stop(None)


async def test_a_mesh_channel_is_served_with_the_user_it_names(address: str) -> None:
    async with insecure_channel(address, MeshCredentials(SECRET)) as channel:
        stub = ipb_grpc.GraphInternalServiceStub(channel)
        reply = await stub.Authenticate(ipb.AuthenticateRequest(), metadata=as_caller(7))
        assert reply.user_id == 7
        assert (await stub.Authenticate(ipb.AuthenticateRequest())).user_id == 0
        streamed = stub.StreamFollowerIds(ipb.StreamFollowerIdsRequest(), metadata=as_caller(9))
        assert [r.follower_ids[0] async for r in streamed] == [9]


@pytest.mark.parametrize(
    "metadata",
    [
        as_caller(7),  # a forged identity with no credential (grpcurl from anywhere)
        (),  # an internal call with no credential
        ((USER_ID_KEY, "7"), (CREDENTIAL_KEY, MeshCredentials(b"guess").sign("7"))),
        ((USER_ID_KEY, "8"), (CREDENTIAL_KEY, MeshCredentials(SECRET).sign("7"))),  # swapped
        ((CREDENTIAL_KEY, "not-a-credential"),),
    ],
)
async def test_strangers_and_forgeries_are_refused(
    address: str, metadata: tuple[tuple[str, str], ...]
) -> None:
    async with insecure_channel(address, MeshCredentials(SECRET)) as trusted:
        # A call that is let through first: what the server remembers of it must not let
        # the next one through.
        await ipb_grpc.GraphInternalServiceStub(trusted).Authenticate(
            ipb.AuthenticateRequest(token="x")
        )
    async with grpc.aio.insecure_channel(address) as channel:
        stub = ipb_grpc.GraphInternalServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Authenticate(ipb.AuthenticateRequest(token="x"), metadata=metadata)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
        # Probes may still ask whether the service is up.
        health_stub = health_pb2_grpc.HealthStub(channel)
        assert (await health_stub.Check(health_pb2.HealthCheckRequest())).status


async def test_a_credential_expires() -> None:
    now = [1_000_000.0]
    credentials = MeshCredentials(SECRET, clock=lambda: now[0])
    metadata = ((USER_ID_KEY, "7"), (CREDENTIAL_KEY, credentials.sign("7")))
    assert credentials.verify(metadata)
    now[0] += 61
    assert not credentials.verify(metadata)


async def test_a_credential_is_reused_for_half_its_life_then_renewed() -> None:
    now = [1_000_000.0]
    credentials = MeshCredentials(SECRET, clock=lambda: now[0])
    first = credentials.sign("7")
    assert credentials.sign("7") == first
    assert credentials.sign("8") != first
    now[0] += 31
    renewed = credentials.sign("7")
    assert renewed != first
    # The renewed one is good for a minute from its making; the first expires on time.
    now[0] += 45
    assert credentials.verify(((USER_ID_KEY, "7"), (CREDENTIAL_KEY, renewed)))
    assert not credentials.verify(((USER_ID_KEY, "7"), (CREDENTIAL_KEY, first)))


async def test_a_remembered_verdict_still_checks_the_user_and_the_expiry() -> None:
    now = [1_000_000.0]
    credentials = MeshCredentials(SECRET, clock=lambda: now[0])
    credential = credentials.sign("7")
    assert credentials.verify(((USER_ID_KEY, "7"), (CREDENTIAL_KEY, credential)))
    # The same credential, remembered, does not vouch for another user.
    assert not credentials.verify(((USER_ID_KEY, "8"), (CREDENTIAL_KEY, credential)))
    now[0] += 61
    assert not credentials.verify(((USER_ID_KEY, "7"), (CREDENTIAL_KEY, credential)))
