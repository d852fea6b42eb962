"""Several post_svc processes on one Cassandra never mint the same id; a crashed one's worker
id is taken again only after its lease ran out."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from photoshare.media.v1 import media_pb2
from photoshare.post.v1 import post_service_pb2 as ppb
from photoshare.post.v1 import post_service_pb2_grpc as pgrpc

from common.ids import worker_of
from common.mesh_auth import MeshCredentials
from common.metadata import as_caller
from common.server import insecure_channel
from common.signing import load_secret
from deploy.local import Mesh, free_port
from tests.e2e.conftest import Api, cleanup_servers, mesh_env

pytestmark = [pytest.mark.e2e, pytest.mark.production]
LEASE_S = 15  # long enough that a newcomer surely starts inside it, on a loaded machine
POSTS_PER_PROCESS = 50


@contextmanager
def post_svc(
    env: dict[str, str], name: str, logs: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One more post_svc process beside the mesh's, on an address of its own."""
    address = f"127.0.0.1:{free_port()}"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "post_svc"],
            env={**env, "PHOTOSHARE_POST_ADDR": address, "PHOTOSHARE_INSTANCE_ID": name},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield address, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=15)


async def create_posts(
    address: str, credentials: MeshCredentials, author_id: int, count: int
) -> list[int]:
    """`count` posts created through the post_svc at `address`, their ids."""
    channel = insecure_channel(address, credentials)
    try:
        stub = pgrpc.PostServiceStub(channel)
        spec = ppb.MediaSpec(
            type=media_pb2.MEDIA_TYPE_PHOTO, content_type="image/jpeg", size_bytes=1234
        )

        async def one(i: int) -> int:
            reply = await stub.CreatePost(
                ppb.CreatePostRequest(caption=f"{address} {i}", media=spec),
                metadata=as_caller(author_id),
                timeout=30,
                wait_for_ready=True,
            )
            return int(reply.post.id)

        return list(await asyncio.gather(*(one(i) for i in range(count))))
    finally:
        await channel.close()


async def test_post_services_on_one_cassandra_mint_unique_ids_and_wait_out_a_crashed_lease(
    tmp_path: Path,
) -> None:
    env = mesh_env(tmp_path / "data", "production")
    env["PHOTOSHARE_WORKER_LEASE_S"] = str(LEASE_S)
    env["PHOTOSHARE_RATE_LIMIT_SCALE"] = "0"  # quotas off: many open uploads for one author
    mesh = Mesh(env, log_dir=tmp_path / "logs")
    mesh.start()
    try:
        mesh.wait_healthy()
        author_id = int(Api(mesh.base_url).sign_up("ada")[0])
        credentials = MeshCredentials(load_secret("", Path(env["PHOTOSHARE_DATA_DIR"])))
        with post_svc(env, "second", tmp_path / "logs") as (second, crashed):
            # Both at once: the mesh's own post_svc and the second one.
            made = await asyncio.gather(
                create_posts(
                    env["PHOTOSHARE_POST_ADDR"], credentials, author_id, POSTS_PER_PROCESS
                ),
                create_posts(second, credentials, author_id, POSTS_PER_PROCESS),
            )
            ids = [i for batch in made for i in batch]
            assert len(set(ids)) == len(ids) == 2 * POSTS_PER_PROCESS
            workers = [{worker_of(i) for i in batch} for batch in made]
            assert len(workers[0]) == len(workers[1]) == 1
            assert workers[0] != workers[1]
            crashed_worker = workers[1].pop()
            crashed.kill()
            crashed_at = time.monotonic()

        # At once: the crashed process's lease still holds its id, a newcomer gets another.
        with post_svc(env, "third", tmp_path / "logs") as (third, _):
            [early] = await create_posts(third, credentials, author_id, 1)
            assert worker_of(early) != crashed_worker
            assert time.monotonic() - crashed_at < LEASE_S
            # Once the lease has run out, the id is free again: the lowest free one. (The
            # wait is for the lease's own clock, which nothing here can observe sooner.)
            await asyncio.sleep(max(0.0, crashed_at + LEASE_S + 0.5 - time.monotonic()))
            with post_svc(env, "fourth", tmp_path / "logs") as (fourth, _):
                [late] = await create_posts(fourth, credentials, author_id, 1)
                assert worker_of(late) == crashed_worker
    finally:
        mesh.stop()
        cleanup_servers(mesh.env)
