"""Case-lookup tests: helpers from tests/ (xvfb) and tests/sync (a real collector process)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for extra in (HERE.parent, HERE.parent / "sync"):
    if str(extra) not in sys.path:
        sys.path.append(str(extra))  # appended: never shadows another folder's conftest
