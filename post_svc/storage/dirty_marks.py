"""The in-process caches' dirty marks: users changed within the last few seconds, whose fills
are refused (a fill may have read the store before the change). The Redis caches keep the
same mark as a key with an expiry."""

from __future__ import annotations

from collections.abc import Callable


class DirtyMarks:
    """Example:
    marks = DirtyMarks(5.0, time.monotonic)
    marks.mark(user_id)        # after a change
    if marks.marked(user_id): ...   # refuse the fill
    """

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._seconds = seconds
        self._clock = clock
        self._until: dict[int, float] = {}

    def mark(self, user_id: int) -> None:
        now = self._clock()
        self._until = {u: t for u, t in self._until.items() if t > now}  # expired ones go
        self._until[user_id] = now + self._seconds

    def forget(self, user_id: int) -> None:
        self._until.pop(user_id, None)

    def marked(self, user_id: int) -> bool:
        return self._until.get(user_id, 0.0) > self._clock()
