"""A media worker process: it decodes untrusted files so that the service never does.

media_svc.pool starts it with its `WorkerLimits` as JSON in argv. It reads one `Job` per
line on stdin and answers one line on a private copy of stdout; fd 1 itself is pointed at
stderr, so nothing a C library prints can corrupt the answers. A crash or a hang costs this
process only: the pool kills it, replaces it, and fails the one file.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from media_svc.decoding.contract import (
    Job,
    JobKind,
    RejectedMedia,
    RenderResult,
    WorkerLimits,
    rejection_to_wire,
    result_to_wire,
)
from media_svc.decoding.imaging import PhotoRenderer, lock_down
from media_svc.decoding.video import VideoRenderer

log = logging.getLogger(__name__)
Renderer = Callable[[Path, str, Path], RenderResult]


def main(argv: list[str]) -> None:
    limits = WorkerLimits.from_json(argv[1])
    lock_down()
    photos = PhotoRenderer(limits.image)
    videos = VideoRenderer(limits.video, photos)
    renderers: dict[JobKind, Renderer] = {
        JobKind.PHOTO: photos.render,
        JobKind.AVIF: photos.render_avif,
        JobKind.VIDEO: videos.render,
        JobKind.AVATAR: photos.render_avatar,
    }
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for line in sys.stdin:
        answers.write(json.dumps(run(renderers, json.loads(line))) + "\n")
        answers.flush()


def run(renderers: Mapping[JobKind, Renderer], wire: dict[str, Any]) -> dict[str, Any]:
    try:
        job = Job.from_wire(wire)
        result = renderers[job.kind](job.source, job.content_type, job.out_dir)
    except RejectedMedia as exc:
        return rejection_to_wire(str(exc))
    except MemoryError:
        return rejection_to_wire("the file needs more memory to decode than a photo may")
    except Exception:
        log.exception("job %s failed", wire)
        return rejection_to_wire("the file could not be processed")
    return result_to_wire(result)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("pyvips").setLevel(logging.WARNING)  # it narrates every operation
    main(sys.argv)
