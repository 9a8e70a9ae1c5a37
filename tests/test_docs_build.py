"""The docs site builds with `mkdocs build --strict` (broken links, missing pages, bad API references fail CI), in
every language: English at the root, each translation under /<locale>/, untranslated pages in English there."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
    reason="mkdocs / mkdocstrings not installed (pip install -e '.[docs]')",
)
def test_docs_build_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # one build per language
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stderr[-4000:]}"
    assert (tmp_path / "site" / "api" / "index.html").is_file()
    assert (tmp_path / "site" / "benchmarks" / "index.html").is_file()
    site = tmp_path / "site"
    for locale, html_lang, title in [("ko", "ko", "사용자 정의 모델"), ("zh", "zh-Hant", "自訂模型")]:
        translated = (site / locale / "custom_models" / "index.html").read_text(encoding="utf-8")
        assert f'<html lang="{html_lang}"' in translated and title in translated
        assert 'hreflang="en"' in translated  # the language switcher
        fallback = (site / locale / "torch" / "index.html").read_text(encoding="utf-8")
        assert "PyTorch models" in fallback  # not translated yet: the English page, in that language's site
        assert (site / locale / "api" / "models" / "index.html").is_file()

