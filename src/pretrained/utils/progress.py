"""tqdm progress bars for long work; silent for small jobs and when `PRETRAINED_DISABLE_PROGRESS_BARS=1`."""

from __future__ import annotations

import contextlib
import os
from typing import Any

MIN_BYTES_FOR_BAR = 256 * 1024 * 1024
_STATE = {"enabled": True}  # `pretrained.utils.logging.disable_progress_bar()` turns it off for the process


def set_enabled(enabled: bool) -> None:
    """Allow or forbid progress bars in this process (the environment variables can still forbid them).

    >>> set_enabled(False); disabled()
    True
    >>> set_enabled(True)
    """
    _STATE["enabled"] = bool(enabled)


def disabled() -> bool:
    """True when bars are off: `disable_progress_bar()`, `PRETRAINED_DISABLE_PROGRESS_BARS=1` or
    `HF_HUB_DISABLE_PROGRESS_BARS=1`.

    >>> isinstance(disabled(), bool)
    True
    """
    if not _STATE["enabled"]:
        return True
    return os.environ.get("PRETRAINED_DISABLE_PROGRESS_BARS", "").lower() in {"1", "true", "yes"} or os.environ.get(
        "HF_HUB_DISABLE_PROGRESS_BARS", ""
    ).lower() in {"1", "true", "yes"}


class _NullBar(contextlib.AbstractContextManager):
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass

    def __exit__(self, *exc: object) -> None:
        return None


def bar(*, total: int, desc: str, unit: str = "it", enabled: bool = True) -> Any:
    """A tqdm bar (a context manager with `update`), or a no-op one when disabled or not worth showing."""
    if not enabled or disabled():
        return _NullBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)
