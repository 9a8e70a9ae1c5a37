"""Makes `_bert_support` (the recorded transformers cases) importable from the BERT test modules."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
