"""Every ```python block in README.md and docs/*.md runs: a code sample that stops working fails CI.

Each page runs as one script (blocks in order, sharing state) in a fresh subprocess, in an empty working
directory, against a LocalHub. A block right after a `<!-- no-test -->` line is skipped (e.g. pseudo-code).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"(?P<skip><!-- no-test -->\s*\n)?^(?P<indent>[ \t]*)```python[^\n]*\n(?P<code>.*?)^(?P=indent)```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    blocks = []
    for match in BLOCK.finditer(page.read_text(encoding="utf-8")):
        if match.group("skip"):
            continue
        indent = match.group("indent")
        lines = [line[len(indent):] if line.startswith(indent) else line for line in match.group("code").splitlines()]
        blocks.append("\n".join(lines))
    return blocks


PAGES_WITH_CODE = [page for page in PAGES if python_blocks(page)]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_CODE])
def test_page_code_runs(page: Path, local_hub, tmp_path):
    script = "\n\n".join(python_blocks(page))
    (tmp_path / "page.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PRETRAINED_DISABLE_PROGRESS_BARS": "1"}
    result = subprocess.run(
        [sys.executable, "page.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{page.name} failed:\n{result.stderr[-4000:]}"
