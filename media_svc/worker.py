"""A media worker process: it decodes untrusted files so that the service never does.

media_svc.pool starts it with its limits as JSON in argv. It reads one job per line on stdin
and answers one line on a private copy of stdout; fd 1 itself is pointed at stderr, so
nothing a C library prints can corrupt the answers. A crash or a hang costs this process
only: the pool kills it, replaces it, and fails the one file.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from media_svc.imaging import ImageLimits, PhotoRenderer, lock_down
from media_svc.models import RejectedMedia, RenderResult
from media_svc.processing import encode_result
from media_svc.video import VideoLimits, VideoRenderer

log = logging.getLogger("media_svc.worker")
Job = Callable[[Path, str, Path], RenderResult]


def main(argv: list[str]) -> None:
    config = json.loads(argv[1])
    lock_down()
    photos = PhotoRenderer(ImageLimits(**config["image"]))
    videos = VideoRenderer(VideoLimits(**config["video"]), photos)
    jobs: dict[str, Job] = {
        "photo": photos.render,
        "avif": photos.render_avif,
        "video": videos.render,
    }
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    for line in sys.stdin:
        answers.write(json.dumps(run(jobs, json.loads(line))) + "\n")
        answers.flush()


def run(jobs: dict[str, Job], job: dict[str, Any]) -> dict[str, Any]:
    try:
        result = jobs[job["kind"]](Path(job["source"]), job["content_type"], Path(job["out_dir"]))
    except RejectedMedia as exc:
        return {"rejected": str(exc)}
    except MemoryError:
        return {"rejected": "the file needs more memory to decode than a photo may"}
    except Exception:
        log.exception("job %s failed", job)
        return {"rejected": "the file could not be processed"}
    return {"result": encode_result(result)}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("pyvips").setLevel(logging.WARNING)  # it narrates every operation
    main(sys.argv)
