"""Every docstring example (`>>>`) in src/pretrained runs, one test per module (a failure names the module), each in an
empty temporary working directory with its own `HF_HOME`. Modules that import a framework that is not installed are
skipped."""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
FRAMEWORKS = {"torch": "torch", "tensorflow": "tensorflow", "keras": "keras", "jax": "jax", "flax": "flax"}
# a backend package needs its framework even where a module of it does not import it itself
PACKAGE_FRAMEWORKS = {"pretrained.torch": "torch", "pretrained.tf": "tensorflow", "pretrained.flax": "flax"}
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
# module -> why its examples fail today (strict: once they pass, the entry must go)
KNOWN_FAILURES: dict[str, str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in sorted((SRC / "pretrained").rglob("*.py"))
    if path.stem != "__main__" and ">>>" in path.read_text(encoding="utf-8")
}


def frameworks_needed(module: str, path: Path) -> set[str]:
    """The frameworks the module imports at its top level, and its backend package's framework."""
    needed = {framework for package, framework in PACKAGE_FRAMEWORKS.items() if module.startswith(package + ".")
              or module == package}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            needed |= {FRAMEWORKS[a.name.split(".")[0]] for a in node.names if a.name.split(".")[0] in FRAMEWORKS}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            top = node.module.split(".")[0]
            needed |= {FRAMEWORKS[top]} if top in FRAMEWORKS else set()
    return needed


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[m], strict=True)) if m in KNOWN_FAILURES else m
     for m in sorted(MODULES)],
)
def test_docstring_examples(module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = sorted(f for f in frameworks_needed(module, MODULES[module]) if importlib.util.find_spec(f) is None)
    if missing:
        pytest.skip(f"{module} needs {', '.join(missing)}, which is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # e.g. the module cache of shipped code
    imported = importlib.import_module(module)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    for test in doctest.DocTestFinder().find(imported, module):
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, f"{results.failed} of {results.attempted} examples of {module} failed:\n" + "".join(
        report
    )
