"""Translated pages keep the English page's code and sections: the drift test.

A translation (`docs/<locale>/<page>.md`) translates the prose only. Its fenced code blocks, with the
`<!-- file: ... -->` / `<!-- no-test -->` directive above each, must be the English page's, in the same order, so
that the code tests/test_docs.py runs on the English page is the code the translation shows (test_docs.py runs each
block once, on the English page). Its section headings carry the English anchors (`## 제목 {#english-anchor}`), so
links into a page work in every language and a section added to the English page is noticed.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from _pages import (
    ROOT,
    Fence,
    english_source,
    fenced_blocks,
    heading_anchors,
    translated_pages,
    translation_locales,
)

TRANSLATED = translated_pages()
IDS = [str(page.relative_to(ROOT)) for page in TRANSLATED]
# what every language translates (issue #19); other pages fall back to English
REQUIRED = ("index.md", "installation.md", "custom_models.md", "base_classes.md", "glossary.md")


def code_drift(translated: list[Fence], english: list[Fence], *, page: Path, source: Path) -> str | None:
    """None when the two sequences of fenced blocks are equal, else what differs, first difference first."""
    if translated == english:
        return None
    for number, (ours, theirs) in enumerate(zip(translated, english), start=1):
        if ours != theirs:
            diff = "\n".join(difflib.unified_diff(
                [theirs.directive, f"```{theirs.info}", *theirs.code.splitlines()],
                [ours.directive, f"```{ours.info}", *ours.code.splitlines()],
                fromfile=f"{source.relative_to(ROOT)}:{theirs.line}", tofile=f"{page.relative_to(ROOT)}:{ours.line}",
                lineterm=""))
            return (f"code block {number} of {page.relative_to(ROOT)} (line {ours.line}) differs from the English "
                    f"page's (line {theirs.line}); copy the English block (and its <!-- ... --> directive) "
                    f"unchanged:\n{diff}")
    longer = max(translated, english, key=len)
    extra = longer[min(len(translated), len(english))]
    return (f"{page.relative_to(ROOT)} has {len(translated)} code blocks, {source.relative_to(ROOT)} has "
            f"{len(english)}; the translation must show the same blocks in the same order (the first unmatched one "
            f"starts {extra.code.splitlines()[:1]}, line {extra.line})")


@pytest.mark.parametrize("locale", translation_locales())
def test_each_language_translates_the_required_pages(locale: str) -> None:
    missing = [name for name in REQUIRED if not (ROOT / "docs" / locale / name).is_file()]
    assert not missing, f"docs/{locale}/ lacks translations of {missing}"


@pytest.mark.parametrize("page", TRANSLATED, ids=IDS)
def test_translation_has_an_english_page(page: Path) -> None:
    source = english_source(page)
    assert source.is_file(), (
        f"{page.relative_to(ROOT)} translates {source.relative_to(ROOT)}, which does not exist: write the English "
        "page first (the site falls back to it), or move the translation to the English page's path")


@pytest.mark.parametrize("page", TRANSLATED, ids=IDS)
def test_code_blocks_equal_the_english_page(page: Path) -> None:
    source = english_source(page)
    drift = code_drift(fenced_blocks(page.read_text(encoding="utf-8")), fenced_blocks(source.read_text(encoding="utf-8")),
                       page=page, source=source)
    assert drift is None, drift


@pytest.mark.parametrize("page", TRANSLATED, ids=IDS)
def test_sections_carry_the_english_anchors(page: Path) -> None:
    source = english_source(page)
    ours, theirs = heading_anchors(page.read_text(encoding="utf-8")), heading_anchors(source.read_text(encoding="utf-8"))
    assert ours == theirs, (
        f"the sections of {page.relative_to(ROOT)} differ from {source.relative_to(ROOT)}'s; give each translated "
        f"heading the English anchor ('## 제목 {{#anchor}}'), in the English order (a new English section may be "
        f"copied untranslated):\n" + "\n".join(difflib.unified_diff(theirs, ours, "english", "translation", lineterm="")))


# ------------------------------------------------------------------------------------------ the checker itself
ENGLISH = """# Title

Prose.

<!-- file: pkg/mod.py -->
```python
x = 1
```

=== "PyTorch"

    ```python
    import torch
    ```

## Fast init

```bash
pip install pretrained  # a comment
```
"""


def drift_of(translated: str) -> str | None:
    page, source = ROOT / "docs" / "ko" / "page.md", ROOT / "docs" / "page.md"
    return code_drift(fenced_blocks(translated), fenced_blocks(ENGLISH), page=page, source=source)


def test_checker_accepts_translated_prose_around_identical_code() -> None:
    translated = (ENGLISH.replace("Prose.", "본문입니다.").replace("# Title", "# 제목")
                  .replace("## Fast init", "## 빠른 초기화 {#fast-init}"))
    assert drift_of(translated) is None
    assert heading_anchors(translated) == heading_anchors(ENGLISH) == ["fast-init"]


@pytest.mark.parametrize("change", [
    ("x = 1", "x = 2"),                                             # code edited
    ("<!-- file: pkg/mod.py -->", "<!-- file: pkg/other.py -->"),   # directive changed: another file is written
    ("<!-- file: pkg/mod.py -->\n", ""),                            # directive dropped: the block would run instead
    ("# a comment", "# 주석"),                                       # a comment translated inside the code
    ("```bash", "```sh"),                                           # language changed
    ("    import torch\n", "    import torch\n    import numpy\n"),  # a line added in a tab
])
def test_checker_reports_drift(change: tuple[str, str]) -> None:
    drift = drift_of(ENGLISH.replace(*change))
    assert drift is not None and "differs from the English page's" in drift


def test_checker_reports_a_missing_block() -> None:
    drift = drift_of(ENGLISH.split("## Fast init")[0])
    assert drift is not None and "has 2 code blocks" in drift and "has 3" in drift


def test_checker_ignores_fence_indentation_and_headings_in_code() -> None:
    assert fenced_blocks(ENGLISH)[1] == Fence("", "python", "import torch")
    assert heading_anchors("```python\n## not a heading\n```\n## Real `one`\n") == ["real-one"]


def test_readme_links_every_language() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [locale for locale in translation_locales() if f"(docs/{locale}/index.md)" not in readme]
    assert not missing, f"README.md does not link the documentation in {missing} (docs/<locale>/index.md)"
