"""Makes `_pages` (tests/docs/_pages.py) importable from the test modules of this folder."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
