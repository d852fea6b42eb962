"""What every service's part of an account erasure shares: how much one call may take back.

graph_svc's erasure calls post_svc and media_svc with a `limit` and calls again while they
answer that more is left; each call stays well inside its deadline.
"""

from __future__ import annotations

from common.errors import InvalidArgument

MAX_ERASED_PER_CALL = 500


def check_erase_limit(limit: int) -> None:
    """How much one call of an erasure may take back."""
    if not 1 <= limit <= MAX_ERASED_PER_CALL:
        raise InvalidArgument(f"limit must be 1 to {MAX_ERASED_PER_CALL}", field="limit")
