"""Every ```python block in README.md and docs/**/*.md runs: a code sample that stops working fails CI.

Each page runs as one script (its blocks in order, sharing state) in a fresh subprocess, in an empty working
directory, against a LocalHub. Two HTML comments steer it:
- `<!-- file: pkg/module.py -->` before a block writes the block to that file (a user's package) instead of
  running it;
- `<!-- no-test -->` before a block skips it (pseudo-code).

Translated pages (docs/<locale>/) are not run again: tests/docs/test_translations.py requires their blocks and
directives to equal the English page's, so they are the same script.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "docs"))
from _pages import english_pages  # noqa: E402  (tests/docs/_pages.py: which pages are translations)

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *english_pages()]
BLOCK = re.compile(
    r"(?:<!-- (?P<directive>no-test|file: [^ ]+) -->[ \t]*\n(?:[ \t]*\n)*)?"
    r"^(?P<indent>[ \t]*)```python[^\n]*\n(?P<code>.*?)^(?P=indent)```",
    re.S | re.M,
)


def parse_page(page: Path) -> tuple[list[str], dict[str, str]]:
    """The page's runnable blocks, and the files its `file:` blocks define."""
    blocks: list[str] = []
    files: dict[str, str] = {}
    for match in BLOCK.finditer(page.read_text(encoding="utf-8")):
        indent = match.group("indent")
        lines = [line[len(indent):] if line.startswith(indent) else line for line in match.group("code").splitlines()]
        code = "\n".join(lines) + "\n"
        directive = match.group("directive") or ""
        if directive == "no-test":
            continue
        if directive.startswith("file: "):
            files[directive[len("file: "):]] = code
        else:
            blocks.append(code)
    return blocks, files


PAGES_WITH_CODE = [page for page in PAGES if parse_page(page)[0]]


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_CODE])
def test_page_code_runs(page: Path, local_hub, tmp_path):
    blocks, files = parse_page(page)
    for relative, code in files.items():
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code, encoding="utf-8")
    (tmp_path / "page.py").write_text("\n\n".join(blocks), encoding="utf-8")
    python_path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))  # keep a src/ on it
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PRETRAINED_DISABLE_PROGRESS_BARS": "1", "PYTHONPATH": python_path}
    result = subprocess.run(
        [sys.executable, "page.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, f"{page.name} failed:\n{result.stderr[-4000:]}"
