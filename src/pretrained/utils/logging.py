"""The library's loggers, with transformers v4's `utils.logging` API: every logger is a child of the `pretrained`
logger, which logs warnings and above by default (`PRETRAINED_VERBOSITY`, or v4's `TRANSFORMERS_VERBOSITY`, sets
another level: `debug`, `info`, `warning`, `error`, `critical`).

Records propagate to the root logger, so `logging.basicConfig`, pytest's `caplog` and application handlers see them;
the library's own stderr handler only writes while the root logger has no handler (no message is printed twice).

Example:
    >>> from pretrained.utils import logging
    >>> logger = logging.get_logger("pretrained.example")
    >>> logging.set_verbosity_info(); logging.get_verbosity() == logging.INFO
    True
    >>> logging.set_verbosity_warning()
    >>> logger.warning_once("printed once"); logger.warning_once("printed once")
"""

from __future__ import annotations

import logging
import os
import sys
from logging import CRITICAL, DEBUG, ERROR, FATAL, INFO, NOTSET, WARN, WARNING  # noqa: F401 - v4 re-exports them
from typing import Any

from . import progress

_ROOT = "pretrained"
_LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR, "critical": CRITICAL}
_DEFAULT_LEVEL = WARNING


class PretrainedLogger(logging.Logger):
    """A `logging.Logger` with v4's `warning_once` / `info_once`: a message (with the same arguments) is logged once
    per logger and process."""

    def warning_once(self, *args: Any, **kwargs: Any) -> None:
        """`warning(...)`, but only the first time these arguments are seen.

        >>> get_logger("doc").warning_once("shown the first time only")
        """
        if _first_time(self.name, WARNING, args, kwargs):
            self.warning(*args, **kwargs)

    def info_once(self, *args: Any, **kwargs: Any) -> None:
        """`info(...)`, but only the first time these arguments are seen.

        >>> get_logger("doc").info_once("noted once")
        """
        if _first_time(self.name, INFO, args, kwargs):
            self.info(*args, **kwargs)


_SEEN: set[tuple[str, int, str]] = set()


def _first_time(name: str, level: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    key = (name, level, repr((args, sorted(kwargs.items()))))
    if key in _SEEN:
        return False
    _SEEN.add(key)
    return True


class _DefaultHandler(logging.StreamHandler):
    """stderr output for the library's records, muted while the root logger has handlers of its own (they receive
    the records by propagation)."""

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return
        self.stream = sys.stderr  # follow redirections (pytest's capsys, contextlib.redirect_stderr)
        super().emit(record)


_default_handler = _DefaultHandler()


def _environment_level() -> int:
    name = os.environ.get("PRETRAINED_VERBOSITY") or os.environ.get("TRANSFORMERS_VERBOSITY")
    if not name:
        return _DEFAULT_LEVEL
    if name.lower() not in _LEVELS:
        logging.getLogger(_ROOT).warning(
            "Unknown verbosity %r in PRETRAINED_VERBOSITY / TRANSFORMERS_VERBOSITY; choose one of %s", name,
            ", ".join(_LEVELS))
        return _DEFAULT_LEVEL
    return _LEVELS[name.lower()]


def _root() -> logging.Logger:
    root = get_logger(_ROOT)
    if _default_handler not in root.handlers and not getattr(root, "_pretrained_configured", False):
        root.addHandler(_default_handler)
        root.setLevel(_environment_level())
        root._pretrained_configured = True  # type: ignore[attr-defined]
    return root


def get_logger(name: str | None = None) -> PretrainedLogger:
    """The logger `name` (usually `__name__`) under the `pretrained` logger, with `warning_once` / `info_once`.

    >>> get_logger("my_package.module").name
    'pretrained.my_package.module'
    """
    if not name:
        name = _ROOT
    elif name != _ROOT and not name.startswith(f"{_ROOT}."):
        name = f"{_ROOT}.{name}"
    logger = logging.getLogger(name)
    if not isinstance(logger, PretrainedLogger):
        logger.__class__ = PretrainedLogger  # same layout: only adds the *_once methods
    if name == _ROOT:
        return logger  # type: ignore[return-value]
    _root()
    return logger  # type: ignore[return-value]


def get_verbosity() -> int:
    """The level of the `pretrained` logger (`logging.WARNING` by default).

    >>> get_verbosity() in (DEBUG, INFO, WARNING, ERROR, CRITICAL)
    True
    """
    return _root().getEffectiveLevel()


def set_verbosity(verbosity: int | str) -> None:
    """Set the level of every `pretrained` logger (`logging.INFO`, or a name such as `"info"`).

    >>> set_verbosity("error"); get_verbosity() == ERROR
    True
    >>> set_verbosity(WARNING)
    """
    level = _LEVELS.get(verbosity.lower(), verbosity.upper()) if isinstance(verbosity, str) else verbosity
    _root().setLevel(level)


def set_verbosity_debug() -> None:
    """Log everything (`DEBUG`).

    >>> set_verbosity_debug(); get_verbosity() == DEBUG
    True
    >>> set_verbosity_warning()
    """
    set_verbosity(DEBUG)


def set_verbosity_info() -> None:
    """Log informational messages and above (`INFO`).

    >>> set_verbosity_info(); get_verbosity() == INFO
    True
    >>> set_verbosity_warning()
    """
    set_verbosity(INFO)


def set_verbosity_warning() -> None:
    """Log warnings and above (`WARNING`, the default).

    >>> set_verbosity_warning(); get_verbosity() == WARNING
    True
    """
    set_verbosity(WARNING)


def set_verbosity_error() -> None:
    """Log errors only (`ERROR`).

    >>> set_verbosity_error(); get_verbosity() == ERROR
    True
    >>> set_verbosity_warning()
    """
    set_verbosity(ERROR)


def disable_default_handler() -> None:
    """Stop the library's own stderr handler (records still propagate to the root logger).

    >>> disable_default_handler(); enable_default_handler()
    """
    _root().removeHandler(_default_handler)


def enable_default_handler() -> None:
    """Restore the library's own stderr handler.

    >>> enable_default_handler()
    """
    root = _root()
    if _default_handler not in root.handlers:
        root.addHandler(_default_handler)


def add_handler(handler: logging.Handler) -> None:
    """Attach `handler` to the `pretrained` logger.

    >>> import logging
    >>> handler = logging.NullHandler(); add_handler(handler); remove_handler(handler)
    """
    _root().addHandler(handler)


def remove_handler(handler: logging.Handler) -> None:
    """Detach `handler` from the `pretrained` logger (see `add_handler`).

    >>> import logging
    >>> remove_handler(logging.NullHandler())  # not attached: nothing happens
    """
    _root().removeHandler(handler)


def disable_propagation() -> None:
    """Keep the library's records away from the root logger (v4's default; here propagation is on by default).

    >>> disable_propagation(); get_logger().propagate
    False
    >>> enable_propagation()
    """
    _root().propagate = False


def enable_propagation() -> None:
    """Let the library's records reach the root logger (the default).

    >>> enable_propagation(); get_logger().propagate
    True
    """
    _root().propagate = True


def enable_explicit_format() -> None:
    """Prefix the default handler's lines with `[LEVEL|file:line] time >>`.

    >>> enable_explicit_format(); reset_format()
    """
    _default_handler.setFormatter(
        logging.Formatter("[%(levelname)s|%(filename)s:%(lineno)s] %(asctime)s >> %(message)s"))


def reset_format() -> None:
    """Back to the plain message format.

    >>> reset_format()
    """
    _default_handler.setFormatter(None)


def disable_progress_bar() -> None:
    """Hide the library's progress bars (downloads, shard reads and writes) in this process.

    >>> disable_progress_bar(); is_progress_bar_enabled()
    False
    >>> enable_progress_bar()
    """
    progress.set_enabled(False)


def enable_progress_bar() -> None:
    """Show the library's progress bars again (unless the environment disables them).

    >>> enable_progress_bar()
    """
    progress.set_enabled(True)


def is_progress_bar_enabled() -> bool:
    """Whether progress bars may be shown (neither `disable_progress_bar()` nor the environment turned them off).

    >>> isinstance(is_progress_bar_enabled(), bool)
    True
    """
    return not progress.disabled()
