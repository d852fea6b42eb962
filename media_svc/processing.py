"""Processing media in the worker pool, as the pipeline asks for it."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path

from common.metrics import JOB_BUCKETS_S, Metrics
from media_svc.decoding.contract import Job, JobKind, RejectedMedia, RenderResult, answer_from_wire
from media_svc.pool import ProcessPool, WorkerDied, WorkerTimedOut

# How a worker process is started; it imports the decoders, this process never does.
WORKER_MODULE = "media_svc.decoding.worker"
# A job whose worker dies is given to a fresh worker, up to this many tries in all.
WORKER_DEATH_ATTEMPTS = 3

log = logging.getLogger(__name__)


class PooledProcessor:
    """Runs photo, AVIF and video jobs in worker processes; every way a job can go wrong
    becomes a RejectedMedia with a reason for the person posting.

    Example:
        processor = PooledProcessor(pool, {JobKind.PHOTO: 30, JobKind.AVIF: 60, ...})
        result = await processor.render(JobKind.PHOTO, original, "image/jpeg", work_dir)
    """

    def __init__(
        self,
        pool: ProcessPool,
        timeouts_s: Mapping[JobKind, float],
        *,
        attempts: int = WORKER_DEATH_ATTEMPTS,
    ) -> None:
        self._pool = pool
        self._timeouts_s = timeouts_s
        self._attempts = attempts

    async def render(
        self, kind: JobKind, source: Path, content_type: str, out_dir: Path
    ) -> RenderResult:
        timeout_s = self._timeouts_s[kind]
        job = Job(kind, source, content_type, out_dir)
        died_at = 0.0
        for attempt in range(1, self._attempts + 1):
            try:
                answer = await self._pool.run(job.to_wire(), timeout_s, started_after=died_at)
            except WorkerTimedOut as exc:
                raise RejectedMedia(
                    f"processing the file took longer than {timeout_s:.0f} s; it was given up"
                ) from exc
            except WorkerDied as exc:
                # Workers also die of causes outside the file (an operator's kill, the OOM
                # killer): the job goes to a fresh worker. Only a file that brings down every
                # worker it is given is refused.
                if attempt == self._attempts:
                    raise RejectedMedia(
                        f"the file crashed the decoder {attempt} times in a row ({exc}); "
                        "it cannot be processed"
                    ) from exc
                log.warning("%s job on %s: worker died (%s); retrying", kind, source.name, exc)
                died_at = time.monotonic()
                continue
            return answer_from_wire(answer)
        raise AssertionError("unreachable: the last attempt returns or raises")


class MeasuredProcessor:
    """A processor whose jobs are counted by kind and outcome (`ok`, `rejected`: the file or
    a timeout, `error`: anything else) and timed, workers' retries included."""

    def __init__(self, processor: PooledProcessor, metrics: Metrics) -> None:
        self._processor = processor
        self._jobs = metrics.counter(
            "media_jobs_total", "Media processing jobs, by kind and outcome.", ("kind", "outcome")
        )
        self._seconds = metrics.histogram(
            "media_job_seconds",
            "Time a media processing job took, waiting for a worker included.",
            ("kind",),
            buckets=JOB_BUCKETS_S,
        )

    async def render(
        self, kind: JobKind, source: Path, content_type: str, out_dir: Path
    ) -> RenderResult:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await self._processor.render(kind, source, content_type, out_dir)
            outcome = "ok"
            return result
        except RejectedMedia:
            outcome = "rejected"
            raise
        finally:
            self._seconds.labels(kind.value).observe(time.perf_counter() - started)
            self._jobs.labels(kind.value, outcome).inc()
