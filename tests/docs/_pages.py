"""The documentation's pages: which are English, which translate which, and the fenced blocks and headings of a page.

The site is one mkdocs site with the `mkdocs-static-i18n` plugin in its "folder" layout: English pages live in
`docs/`, a translation of `docs/<path>.md` lives in `docs/<locale>/<path>.md`, and a page without a translation is
built from the English one. A folder of `docs/` is a locale folder when its name is a locale code, the rule the plugin
itself applies.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
LOCALE_CODE = re.compile(r"^[a-z]{2}(-[A-Za-z]{4})?(-[A-Z]{2})?$")  # "ko", "zh", "zh-Hant", "pt-BR"

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_DIRECTIVE = re.compile(r"^[ \t]*<!--.*-->[ \t]*$")
_HEADING = re.compile(r"^(?P<level>#{2,6})[ \t]+(?P<title>.*?)(?:[ \t]+\{#(?P<anchor>[^}\s]+)\})?[ \t]*#*[ \t]*$")


def translation_locales() -> list[str]:
    """The locale folders under `docs/` (`["ko", "zh"]`)."""
    return sorted(path.name for path in DOCS.iterdir() if path.is_dir() and LOCALE_CODE.match(path.name))


def is_translation(page: Path) -> bool:
    """Whether `page` (a path under `docs/`) is a translated page."""
    relative = page.resolve().relative_to(DOCS)
    return len(relative.parts) > 1 and relative.parts[0] in translation_locales()


def english_pages() -> list[Path]:
    """Every English page of the site (`docs/**/*.md` outside the locale folders)."""
    return sorted(page for page in DOCS.rglob("*.md") if not is_translation(page))


def translated_pages() -> list[Path]:
    """Every translated page (`docs/<locale>/**/*.md`)."""
    return sorted(page for page in DOCS.rglob("*.md") if is_translation(page))


def english_source(page: Path) -> Path:
    """The English page that the translated `page` translates: `docs/ko/x/y.md` -> `docs/x/y.md`."""
    relative = page.resolve().relative_to(DOCS)
    return DOCS.joinpath(*relative.parts[1:])


@dataclass(frozen=True)
class Fence:
    """One fenced block: the `<!-- ... -->` directive right above it (if any), its info string (`python`, `bash`,
    empty) and its code, without the fence's indentation. `line` (1-based) locates it and is not compared."""

    directive: str
    info: str
    code: str
    line: int = field(default=0, compare=False)


def fenced_blocks(text: str) -> list[Fence]:
    """The page's fenced code blocks in order, of every language (```python, ```bash, ```json, plain ```)."""
    return _split(text)[1]


def heading_anchors(text: str) -> list[str]:
    """The anchors of the page's headings below the title (`##` and deeper), outside code blocks: an explicit
    `{#anchor}` (attr_list), else the id Python-Markdown's toc gives the heading (its ASCII slug)."""
    anchors = []
    for line in _split(text)[0]:
        match = _HEADING.match(line)
        if match:
            anchors.append(match.group("anchor") or _slugify(match.group("title")))
    return anchors


def _split(text: str) -> tuple[list[str], list[Fence]]:
    """(the page's lines with every fenced block blanked out, the fenced blocks)."""
    lines = text.splitlines()
    prose = list(lines)
    blocks: list[Fence] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening.group("indent"), opening.group("fence")
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line for line in lines[index + 1:end]]
        blocks.append(Fence(_directive_above(lines, index), opening.group("info").strip(), "\n".join(body), index + 1))
        prose[index:end + 1] = [""] * (min(end, len(lines) - 1) + 1 - index)
        index = end + 1
    return prose, blocks


def _directive_above(lines: list[str], index: int) -> str:
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    return lines[above].strip() if above >= 0 and _DIRECTIVE.match(lines[above]) else ""


def _slugify(title: str) -> str:
    """Python-Markdown's `toc.slugify` of the heading's text (markup removed), with "-" as separator."""
    plain = re.sub(r"`|\*\*|__|\[([^\]]*)\]\([^)]*\)", r"\1", title)
    plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
    plain = re.sub(r"[^\w\s-]", "", plain).strip().lower()
    return re.sub(r"[-\s]+", "-", plain)
