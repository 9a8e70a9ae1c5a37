"""v4's `utils.logging` API on the `pretrained` loggers."""

from __future__ import annotations

import io
import logging
from contextlib import redirect_stderr

from pretrained.utils import logging as plog
from pretrained.utils import progress


def test_loggers_are_children_with_once_methods(caplog):
    logger = plog.get_logger("tests.once")
    assert logger.name == "pretrained.tests.once" and plog.get_logger("pretrained.x").name == "pretrained.x"
    with caplog.at_level(logging.INFO, logger="pretrained"):
        for _ in range(3):
            logger.warning_once("careful %s", 1)
            logger.info_once("noted")
        logger.warning_once("careful %s", 2)
    assert [r.getMessage() for r in caplog.records] == ["careful 1", "noted", "careful 2"]


def test_verbosity_round_trip():
    before = plog.get_verbosity()
    try:
        for setter, level in ((plog.set_verbosity_debug, logging.DEBUG), (plog.set_verbosity_info, logging.INFO),
                              (plog.set_verbosity_error, logging.ERROR), (plog.set_verbosity_warning, logging.WARNING)):
            setter()
            assert plog.get_verbosity() == level
        plog.set_verbosity("critical")
        assert plog.get_verbosity() == logging.CRITICAL
    finally:
        plog.set_verbosity(before)


def test_default_handler_prints_only_without_root_handlers():
    root = logging.getLogger()
    saved = root.handlers[:]
    buffer = io.StringIO()
    try:
        root.handlers.clear()
        with redirect_stderr(buffer):
            plog.get_logger("tests.handler").warning("shown once")
        root.addHandler(logging.NullHandler())
        with redirect_stderr(buffer):
            plog.get_logger("tests.handler").warning("left to the root handlers")
    finally:
        root.handlers[:] = saved
    assert buffer.getvalue() == "shown once\n"


def test_progress_bars_can_be_disabled():
    try:
        plog.disable_progress_bar()
        assert not plog.is_progress_bar_enabled() and progress.disabled()
        assert type(progress.bar(total=10, desc="x")).__name__ == "_NullBar"
    finally:
        plog.enable_progress_bar()
    assert plog.is_progress_bar_enabled() == (not progress.disabled())
