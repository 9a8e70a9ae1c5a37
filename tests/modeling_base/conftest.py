"""Makes `_parity_matrix` (the parity matrix's machinery, shared by its test modules) importable."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
