"""Fixtures of the reliability suite, and the recorder behind `docs/reliability.md`.

Recorder: when `PRETRAINED_RELIABILITY_RESULTS` names a directory, every test of this folder is recorded (its
docstring = what was done, its `observed(...)` lines = what was observed, and its outcome) and each pytest process
(each xdist worker, or the single process) writes its own `results-<worker>.json` there at the end of the session,
so parallel workers never write the same file. Nothing is written otherwise (as under `make test`).
`python tests/reliability/make_report.py` sets the variable, runs this folder and renders the page from the files.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # makes `_support` importable from the test modules

from _support import BIG_LAYERS, BIG_SHARD, BigCheckpoint, Child, file_digests, state_digests  # noqa: E402

RESULTS_ENV = "PRETRAINED_RELIABILITY_RESULTS"
_records: dict[str, dict[str, Any]] = {}


# ============================================================================================== report recorder
def _first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc or "")
    return " ".join(text.split("\n\n", 1)[0].split())


def _new_record(item: pytest.Item) -> dict[str, Any]:
    function = getattr(item, "function", None)
    module = getattr(item, "module", None)
    return {
        "nodeid": item.nodeid,
        "module": item.path.stem,
        "area": _first_paragraph(getattr(module, "__doc__", "")),
        "name": item.name,
        "done": _first_paragraph(getattr(function, "__doc__", "")),
        "outcome": "passed",
        "observed": [],
        "duration": 0.0,
        "detail": "",
    }


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    if not os.environ.get(RESULTS_ENV):
        return
    report = outcome.get_result()
    record = _records.setdefault(item.nodeid, _new_record(item))
    record["duration"] += report.duration
    record["observed"] = [str(value) for key, value in item.user_properties if key == "observed"]
    if report.skipped:
        if hasattr(report, "wasxfail"):
            record["outcome"], record["detail"] = "xfailed", str(report.wasxfail)
        else:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            record["outcome"], record["detail"] = "skipped", str(reason).removeprefix("Skipped: ")
    elif report.failed:
        record["outcome"] = "failed" if report.when == "call" else f"error in {report.when}"
        lines = [line for line in (report.longreprtext or "").splitlines() if line.startswith("E ")]
        record["detail"] = " ".join(line[1:].strip() for line in lines[:3])[:400]
    elif report.when == "call" and hasattr(report, "wasxfail"):
        record["outcome"] = "xpassed"


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(RESULTS_ENV)
    if not target or not _records:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    Path(target).mkdir(parents=True, exist_ok=True)
    Path(target, f"results-{worker}.json").write_text(json.dumps(list(_records.values()), indent=2), encoding="utf-8")


# ============================================================================================== fixtures
@pytest.fixture
def observed(record_property):
    """`observed("...")` adds a line to this case's "observed" column of docs/reliability.md."""
    return lambda text: record_property("observed", text)


@pytest.fixture
def spawn() -> Iterator[Any]:
    """Start `_child.py` subprocesses; every one still alive at teardown is SIGKILLed and reaped."""
    children: list[Child] = []

    def start(*args: str, **kwargs: Any) -> Child:
        child = Child(*args, **kwargs)
        children.append(child)
        return child

    yield start
    for child in children:
        child.close()


@pytest.fixture(scope="session")
def big_checkpoint(tmp_path_factory) -> BigCheckpoint:
    """The large multi-shard checkpoint, saved once per session (the heavy cases share one xdist worker)."""
    torch = pytest.importorskip("torch")
    from pretrained.models.bert import BertConfig, BertModel

    torch.manual_seed(0)
    model = BertModel(BertConfig(num_hidden_layers=BIG_LAYERS))
    directory = tmp_path_factory.mktemp("big-reference")
    model.save_pretrained(directory, max_shard_size=BIG_SHARD)
    checkpoint = BigCheckpoint(directory, file_digests(directory), state_digests(model))
    del model
    return checkpoint
