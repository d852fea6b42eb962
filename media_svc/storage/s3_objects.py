"""Objects in an S3-compatible store (production; SeaweedFS under `make services`), through
aiobotocore: every call is a coroutine on the event loop, file reads and writes go to a thread.

Objects up to MULTIPART_FROM bytes go in one PUT; larger ones (originals of long videos) in
parts, so a lost connection costs a part, not the whole file. A store that cannot be reached,
or fails a request, raises `Unavailable` (503 to a client, a retry for a worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from common.errors import Unavailable
from media_svc.storage.base import StoredObject

if TYPE_CHECKING:
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

MULTIPART_FROM = 64 * 1024 * 1024
PART_BYTES = 16 * 1024 * 1024
DELETE_BATCH = 1000  # DeleteObjects takes at most this many keys
_MISSING = {"404", "NoSuchKey", "NotFound"}


P = ParamSpec("P")
T = TypeVar("T")


def _unavailable_on_failure(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (BotoCoreError, ClientError) as exc:  # what a method did not expect (not 404)
            raise Unavailable(f"the object store failed: {exc}") from exc

    return guarded


@dataclass(frozen=True, slots=True)
class S3Config:
    endpoint: str  # e.g. http://127.0.0.1:8333
    bucket: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"


def s3_client(config: S3Config) -> ClientCreatorContext[S3Client]:
    """A client for the store `config` names, to use with `async with`: path-style addressing
    (the bucket is in the path, not a DNS name), SigV4, three tries."""
    return get_session().create_client(
        "s3",
        endpoint_url=config.endpoint,
        region_name=config.region,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        config=AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
        ),
    )


class S3ObjectStore:
    """Example:
    store = S3ObjectStore(S3Config("http://127.0.0.1:8333", "photoshare", key, secret))
    await store.open()          # creates the bucket if it is missing
    await store.put("media/ab/abcd.webp", path, "image/webp")
    """

    def __init__(self, config: S3Config) -> None:
        self._config = config
        self._exits = contextlib.AsyncExitStack()
        self._client: S3Client | None = None

    @_unavailable_on_failure
    async def open(self) -> None:
        config = self._config
        self._client = await self._exits.enter_async_context(s3_client(config))
        try:
            await self._client.head_bucket(Bucket=config.bucket)
        except ClientError as exc:
            if _code(exc) not in _MISSING:
                raise
            with contextlib.suppress(self._client.exceptions.BucketAlreadyOwnedByYou):
                await self._client.create_bucket(Bucket=config.bucket)

    async def close(self) -> None:
        self._client = None
        await self._exits.aclose()

    @property
    def _s3(self) -> S3Client:
        if self._client is None:
            raise RuntimeError("the object store is not open")
        return self._client

    @_unavailable_on_failure
    async def put(self, key: str, source: Path, content_type: str) -> None:
        size = (await asyncio.to_thread(source.stat)).st_size
        if size >= MULTIPART_FROM:
            await self._put_in_parts(key, source, content_type)
            return
        body = await asyncio.to_thread(source.read_bytes)
        await self._s3.put_object(
            Bucket=self._config.bucket, Key=key, Body=body, ContentType=content_type
        )

    async def _put_in_parts(self, key: str, source: Path, content_type: str) -> None:
        bucket = self._config.bucket
        started = await self._s3.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=content_type
        )
        upload_id = started["UploadId"]
        parts: list[CompletedPartTypeDef] = []
        try:
            with open(source, "rb") as file:  # noqa: ASYNC230 - read below in a thread
                number = 1
                while chunk := await asyncio.to_thread(file.read, PART_BYTES):
                    sent = await self._s3.upload_part(
                        Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=chunk
                    )
                    parts.append({"ETag": sent["ETag"], "PartNumber": number})
                    number += 1
            await self._s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self._s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
                )
            raise

    @_unavailable_on_failure
    async def fetch(self, key: str, target: Path) -> bool:
        found = await self.read(key)
        if found is None:
            return False
        chunks, _ = found
        with open(target, "wb") as file:  # noqa: ASYNC230 - written below in a thread
            async for chunk in chunks:
                await asyncio.to_thread(file.write, chunk)
        return True

    @_unavailable_on_failure
    async def read(
        self, key: str, first: int = 0, last: int | None = None
    ) -> tuple[AsyncGenerator[bytes, None], int] | None:
        ranged = first > 0 or last is not None
        request: dict[str, Any] = {"Bucket": self._config.bucket, "Key": key}
        if ranged:
            request["Range"] = f"bytes={first}-{'' if last is None else last}"
        try:
            reply = await self._s3.get_object(**request)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        # "bytes 0-99/1234" when ranged: the whole object's size is after the slash.
        size = int(reply["ContentRange"].rsplit("/", 1)[1]) if ranged else reply["ContentLength"]
        body = reply["Body"]

        async def chunks() -> AsyncGenerator[bytes, None]:
            try:
                async for chunk in body.iter_chunks():
                    yield chunk
            finally:
                body.close()

        return chunks(), size

    @_unavailable_on_failure
    async def size(self, key: str) -> int | None:
        try:
            reply = await self._s3.head_object(Bucket=self._config.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise
        return reply["ContentLength"]

    @_unavailable_on_failure
    async def copy(self, source: str, target: str) -> bool:
        bucket = self._config.bucket
        try:
            await self._s3.copy_object(
                Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source}
            )
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise
        return True

    @_unavailable_on_failure
    async def list(self, prefix: str) -> list[StoredObject]:
        found: list[StoredObject] = []
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._config.bucket, Prefix=prefix
        )
        async for page in pages:
            found.extend(StoredObject(o["Key"], o["Size"]) for o in page.get("Contents", ()))
        return sorted(found, key=lambda o: o.key)

    @_unavailable_on_failure
    async def delete(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            reply = await self._s3.delete_objects(
                Bucket=self._config.bucket,
                Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
            )
            failed = [e for e in reply.get("Errors", ()) if e.get("Code") not in _MISSING]
            if failed:
                raise Unavailable(
                    f"the object store did not delete {len(failed)} objects: {failed[0]}"
                )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
