"""`make fault`: the fault test against the loopback cluster; exits 1 if a write was lost."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.fault.run import fault_test


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="photoshare-fault-") as root:
        report = fault_test(Path(root))
    print(report.text())
    return 1 if report.lost_count else 0


if __name__ == "__main__":
    sys.exit(main())
