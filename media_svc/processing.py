"""Processing media in the worker pool, as the domain asks for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from media_svc.models import Placeholder, RejectedMedia, RenderedFile, RenderResult
from media_svc.pool import ProcessPool, WorkerDied, WorkerTimedOut


class PooledProcessor:
    """Runs photo, AVIF and video jobs in worker processes; every way a job can go wrong
    becomes a RejectedMedia with a reason for the person posting.

    Example:
        processor = PooledProcessor(pool, {"photo": 30, "avif": 60, "video": 300})
        result = await processor.render("photo", original, "image/jpeg", work_dir)
    """

    def __init__(self, pool: ProcessPool, timeouts_s: dict[str, float]) -> None:
        self._pool = pool
        self._timeouts_s = timeouts_s

    async def render(
        self, kind: str, source: Path, content_type: str, out_dir: Path
    ) -> RenderResult:
        timeout_s = self._timeouts_s[kind]
        job = {
            "kind": kind,
            "source": str(source),
            "content_type": content_type,
            "out_dir": str(out_dir),
        }
        try:
            answer = await self._pool.run(job, timeout_s)
        except WorkerTimedOut as exc:
            raise RejectedMedia(
                f"processing the file took longer than {timeout_s:.0f} s; it was given up"
            ) from exc
        except WorkerDied as exc:
            raise RejectedMedia(f"the file crashed the decoder ({exc})") from exc
        if "rejected" in answer:
            raise RejectedMedia(answer["rejected"])
        return decode_result(answer["result"])


def encode_result(result: RenderResult) -> dict[str, Any]:
    return {
        "width": result.width,
        "height": result.height,
        "duration_ms": result.duration_ms,
        "placeholder": (
            [result.placeholder.blurhash, result.placeholder.color] if result.placeholder else None
        ),
        "renditions": [
            [r.size, r.content_type, r.extension, r.width, r.height, str(r.path)]
            for r in result.renditions
        ],
    }


def decode_result(data: dict[str, Any]) -> RenderResult:
    placeholder = data["placeholder"]
    return RenderResult(
        width=int(data["width"]),
        height=int(data["height"]),
        renditions=[
            RenderedFile(str(size), str(ctype), str(ext), int(w), int(h), Path(path))
            for size, ctype, ext, w, h, path in data["renditions"]
        ],
        placeholder=Placeholder(*placeholder) if placeholder else None,
        duration_ms=int(data["duration_ms"]),
    )
