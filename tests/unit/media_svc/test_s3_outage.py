"""An S3 store that cannot be reached is Unavailable (a 503 and a retry), never a crash or a 500:
the client of a store on a port where nothing listens."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import Unavailable
from deploy.local import free_port
from media_svc.storage.s3_objects import S3Config, S3ObjectStore


async def test_an_unreachable_store_is_unavailable(tmp_path: Path) -> None:
    store = S3ObjectStore(S3Config(f"http://127.0.0.1:{free_port()}", "b", "key", "secret"))
    with pytest.raises(Unavailable, match="object store"):
        await store.open()
    source = tmp_path / "photo"
    source.write_bytes(b"bytes")
    with pytest.raises(Unavailable):  # the client retries twice, then gives up
        await store.put("k", source, "image/jpeg")
    await store.close()
