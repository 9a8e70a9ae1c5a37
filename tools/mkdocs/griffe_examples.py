"""A griffe extension for the docs build: read a Google-style `Example:` section as `Examples:`.

griffe parses only `Examples:` as an examples section (doctest `>>>` lines rendered as code); a singular `Example:`
becomes an admonition whose `>>>` lines render as nested quotes and whose `[...]` output reads as broken
cross-references under `mkdocs build --strict`. The docstrings keep the transformers-style spelling.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(\s*)Example:\s*$", re.M)


class ExampleSections(griffe.Extension):
    """Rewrite `Example:` section headers to `Examples:` on every loaded object's docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\1Examples:", obj.docstring.value)
