"""The library's loggers: all under the `pretrained` logger, warnings by default."""

from __future__ import annotations

import logging

_ROOT = "pretrained"


def get_logger(name: str) -> logging.Logger:
    """A child of the `pretrained` logger (`name` is usually `__name__`)."""
    if not name.startswith(_ROOT):
        name = f"{_ROOT}.{name}"
    return logging.getLogger(name)


def set_verbosity(level: int | str) -> None:
    """Set the level of every `pretrained` logger, e.g. `set_verbosity("INFO")`."""
    logging.getLogger(_ROOT).setLevel(level)
