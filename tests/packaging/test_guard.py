"""The triton guard (torch + TensorFlow + triton in one process warns once, with the fix) and MissingBackendError
naming the extra for a model class of an absent backend. Runs in .venv-compat too."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
import types
import warnings

import pytest

from pretrained.utils import backends


@pytest.fixture
def fresh_guard(monkeypatch):
    monkeypatch.setattr(backends, "_triton_warned", False)
    real = importlib.util.find_spec

    def install_triton(installed: bool) -> None:
        def find_spec(name, *args, **kwargs):
            if name == "triton":
                return object() if installed else None
            return real(name, *args, **kwargs)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return install_triton


@pytest.mark.parametrize(("loading", "other"), [("torch", "tensorflow"), ("tensorflow", "torch")])
def test_warns_once_with_the_fix(fresh_guard, monkeypatch, loading, other):
    fresh_guard(True)
    monkeypatch.setitem(sys.modules, other, sys.modules.get(other) or types.ModuleType(other))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        backends.warn_if_triton_beside_tensorflow(loading)
        backends.warn_if_triton_beside_tensorflow(loading)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "pip uninstall triton" in messages[0]


@pytest.mark.parametrize("triton_installed", [True, False])
def test_silent_unless_both_frameworks_and_triton(fresh_guard, monkeypatch, triton_installed):
    fresh_guard(triton_installed)
    monkeypatch.setitem(sys.modules, "tensorflow", None if triton_installed else types.ModuleType("tensorflow"))
    if triton_installed:  # TensorFlow not loaded
        monkeypatch.delitem(sys.modules, "tensorflow")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backends.warn_if_triton_beside_tensorflow("torch")


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env})


def test_the_torch_backend_warns_after_tensorflow(tmp_path):
    """Real wiring: TensorFlow imported, a `triton` package on the path, then `pretrained.torch`."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("torch")
    (tmp_path / "triton").mkdir()
    (tmp_path / "triton" / "__init__.py").write_text("")
    result = run(
        """
        import warnings
        warnings.simplefilter("always")
        import tensorflow
        import pretrained.torch
        """,
        PYTHONPATH=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("pip uninstall triton") == 1, result.stderr[-3000:]


@pytest.mark.parametrize(
    ("hidden", "name", "extra"),
    [
        (("torch",), "ResnetModel", "torch"),
        (("keras", "tensorflow"), "TFResnetModel", "tf"),
        (("jax", "flax"), "FlaxResnetModel", "flax"),
        (("torch",), "BertModel", "torch"),
    ],
)
def test_a_model_class_of_an_absent_backend_names_the_extra(hidden, name, extra):
    package = "bert" if "Bert" in name else "resnet"
    result = run(
        f"""
        import sys
        for module in {hidden!r}:
            sys.modules[module] = None  # as if not installed
        import pretrained.models.{package} as models
        try:
            getattr(models, {name!r})
        except ImportError as exc:
            print(type(exc).__name__, "pretrained[{extra}]" in str(exc))
        """
    )
    assert result.stdout.strip() == "MissingBackendError True", result.stdout + result.stderr[-3000:]
