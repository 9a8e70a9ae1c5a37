"""The machinery of the parity matrix (`test_parity*.py`): a scenario runs once per backend on the shipped BERT (tiny
config) in its own directory and returns an outcome (files written, keys reported, dtypes, or the exception class
and message). Outcomes are normalised (temporary paths and the `TF` / `Flax` class-name prefixes removed) and must be
identical in the three backends and equal to the scenario's expectation; an option that exists in one backend only
declares what each backend does instead (`per_backend`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pretrained.checkpoint import to_numpy
from pretrained.models import bert
from pretrained.models.bert import BertConfig

PREFIXES = {"torch": "", "tf": "TF", "flax": "Flax"}


def tiny_config(**overrides: Any) -> BertConfig:
    values = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
                  max_position_embeddings=32, num_labels=3)
    values.update(overrides)
    return BertConfig(**values)


@dataclass
class Backend:
    name: str

    def cls(self, architecture: str) -> type:
        return getattr(bert, PREFIXES[self.name] + architecture)

    def new(self, architecture: str = "BertModel", **overrides: Any) -> Any:
        if self.name == "torch":
            import torch

            torch.manual_seed(0)
        return self.cls(architecture)(tiny_config(**overrides))

    def load(self, architecture: str, path: Any, **kwargs: Any) -> Any:
        return self.cls(architecture).from_pretrained(path, **kwargs)

    def run(self, model: Any, **inputs: Any) -> Any:
        """The model's output on NumPy `inputs` in inference mode (torch: `eval()`, tensors, no gradients; TF:
        `training=False`; Flax models start in eval mode)."""
        if self.name == "torch":
            import torch

            model.eval()
            with torch.no_grad():
                return model(**{k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()})
        if self.name == "tf":
            return model(**inputs, training=False)
        return model(**inputs)

    @staticmethod
    def state(model: Any) -> dict[str, np.ndarray]:
        return {key: np.array(to_numpy(value), copy=True) for key, value in model.canonical_state_dict().items()}


BACKENDS = [Backend(name) for name in PREFIXES]


@dataclass
class Scenario:
    function: Callable[[Backend, Path], Any]
    expected: Any = None
    per_backend: dict[str, Any] | None = None


SCENARIOS: dict[str, Scenario] = {}


def scenario(expected: Any = None, *, per_backend: dict[str, Any] | None = None) -> Callable:
    """Register a scenario; `expected` (when not None) is the outcome every backend must produce; `per_backend`
    (`{"torch": ..., "tf": ..., "flax": ...}`) replaces it for a backend-specific option."""

    def register(function: Callable[[Backend, Path], Any]) -> Callable[[Backend, Path], Any]:
        SCENARIOS[function.__name__] = Scenario(function, expected, per_backend)
        return function

    return register


def scenarios_of(module: str) -> list[str]:
    """The names of the scenarios a test module registered (each module parametrizes its own)."""
    return [name for name, entry in SCENARIOS.items() if entry.function.__module__ == module]


def files(directory: Path) -> list[str]:
    return sorted(path.name for path in Path(directory).iterdir())


def same_state(a: Any, b: Any) -> bool:
    left, right = Backend.state(a), Backend.state(b)
    return left.keys() == right.keys() and all(np.array_equal(left[k], right[k]) for k in left)


def report(info: dict[str, Any]) -> dict[str, Any]:
    return {"missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
            "mismatched": sorted(k for k, _, _ in info["mismatched_keys"]), "errors": len(info["error_msgs"])}


def normalise(value: Any, root: Path) -> Any:
    if isinstance(value, str):
        value = value.replace(str(root), "<dir>")
        return re.sub(r"\b(TF|Flax)(?=[A-Z][a-z])", "", value)
    if isinstance(value, (list, tuple)):
        return [normalise(v, root) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v, root) for k, v in value.items()}
    return value


def outcome(function: Callable[[Backend, Path], Any], backend: Backend, root: Path) -> Any:
    root.mkdir(parents=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return normalise(function(backend, root), root)
    except Exception as exc:  # the outcome of a bad input: class and message, compared across backends
        return normalise({"raises": type(exc).__name__, "message": str(exc).splitlines()[0]}, root)


def assert_outcome(actual: Any, expected: Any) -> None:
    """Equal outcomes; an error's message need only start with the expected one."""
    if isinstance(expected, dict) and "raises" in expected:
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), actual
        assert {k: v for k, v in actual.items() if k != "message"} == {
            k: v for k, v in expected.items() if k != "message"}, actual
        assert actual.get("message", "").startswith(expected.get("message", "")), actual
    else:
        assert actual == expected


def check_scenario(name: str, tmp_path: Path) -> None:
    """Run scenario `name` in every backend and compare the outcomes with each other and the expectation."""
    entry = SCENARIOS[name]
    outcomes = {b.name: outcome(entry.function, b, tmp_path / b.name) for b in BACKENDS}
    if entry.per_backend is not None:
        for backend, expected in entry.per_backend.items():
            assert_outcome(outcomes[backend], expected)
        return
    for backend in ("tf", "flax"):
        assert outcomes[backend] == outcomes["torch"], f"{backend} differs from torch:\n{outcomes}"
    if entry.expected is not None:
        assert_outcome(outcomes["torch"], entry.expected)
