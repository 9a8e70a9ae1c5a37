"""`CrossFrameworkTesterMixin`: transformers v4's `test_pt_tf_model_equivalence` / `test_equivalence_pt_to_flax`
for everyone's model pairs (or triples).

Apply it to a pytest class, name your model class in each backend you ship (any two or three), and say how to build
a small config and NumPy inputs:

Example:
    >>> import numpy as np
    >>> from pretrained.testing.cross_mixin import CrossFrameworkTesterMixin
    >>> class TestMyModelCrossFramework(CrossFrameworkTesterMixin):  # doctest: +SKIP
    ...     model_classes = {"torch": MyModel, "tf": TFMyModel, "flax": FlaxMyModel}
    ...     def get_config(self):
    ...         return MyConfig(hidden_size=32, num_hidden_layers=2)
    ...     def get_inputs(self, config):
    ...         return {"input_ids": np.array([[1, 2, 3, 4]])}

Every direction is checked twice: through a saved checkpoint (`save_pretrained` in one backend,
`from_pretrained` in the other) and in memory ([`pretrained.conversion.convert`][pretrained.conversion.convert]).
Outputs must agree within `atol` (1e-4), the load must be complete (no missing / unexpected keys), and converting
back must give bit-identical canonical tensors. The source model of each backend is built once per test class (the
first backend's at random, the others loaded from it; `independent_sources = True` builds each with its own class).
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from ..configuration import PretrainedConfig
from ..conversion import canonical_arrays, convert, run_model

_ORDER = ("torch", "tf", "flax")


def assert_outputs_close(expected: list[np.ndarray], actual: list[np.ndarray], *, atol: float, what: str) -> None:
    """Same number of outputs, same shapes, values within `atol`."""
    assert len(expected) == len(actual), f"{what}: {len(expected)} outputs vs {len(actual)}"
    for index, (a, b) in enumerate(zip(expected, actual)):
        assert a.shape == b.shape, f"{what}: output {index} has shape {b.shape}, expected {a.shape}"
        np.testing.assert_allclose(b, a, atol=atol, rtol=0, err_msg=f"{what}: output {index}")


def assert_arrays_identical(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray], *, what: str) -> None:
    """Same keys, dtypes, shapes and bytes."""
    assert sorted(expected) == sorted(actual), f"{what}: keys differ: {sorted(set(expected) ^ set(actual))}"
    for key, value in expected.items():
        assert actual[key].dtype == value.dtype and actual[key].shape == value.shape, f"{what}: {key}"
        np.testing.assert_array_equal(actual[key], value, err_msg=f"{what}: {key}")


class CrossFrameworkTesterMixin:
    """Cross-framework equivalence tests. Set `model_classes` (backend name -> class), implement `get_config()` and
    `get_inputs(config)`; optionally `prepare_model(model, backend)` (e.g. resize or prune before saving)."""

    model_classes: ClassVar[dict[str, type]] = {}
    atol: ClassVar[float] = 1e-4
    independent_sources: ClassVar[bool] = False
    _sources: ClassVar[dict[str, Any]]

    def get_config(self) -> PretrainedConfig:
        raise NotImplementedError

    def get_inputs(self, config: PretrainedConfig) -> dict[str, Any]:
        raise NotImplementedError

    def prepare_model(self, model: Any, backend: str) -> Any:
        """Hook run on each freshly built source model (return the model to use)."""
        return model

    # ------------------------------------------------------------------ helpers
    def _backends(self) -> list[str]:
        return [b for b in _ORDER if b in self.model_classes]

    def _require(self, *backends: str) -> None:
        missing = [b for b in backends if b not in self.model_classes]
        if missing:
            pytest.skip(f"no {', '.join(missing)} class in model_classes")

    def source(self, backend: str) -> tuple[Any, list[np.ndarray]]:
        """The source model of `backend` and its outputs, built once per test class.

        The first backend's model is built with `model_class(config)` and `prepare_model`; the others load its
        weights (`from_pretrained(None, config=..., state_dict=...)`, no random init: fast, and every source then
        holds the same weights). With `independent_sources = True` each backend builds and prepares its own."""
        cache = type(self).__dict__.get("_sources")
        if cache is None:
            cache = {}
            type(self)._sources = cache
        if backend not in cache:
            first = self._backends()[0]
            model_class = self.model_classes[backend]
            if backend == first or self.independent_sources:
                model = self.prepare_model(model_class(self.get_config()), backend)
            else:
                reference = self.source(first)[0]
                model = model_class.from_pretrained(None, config=copy.deepcopy(reference.config),
                                                    state_dict=reference.canonical_state_dict(), strict=True)
            if hasattr(model, "eval"):
                model = model.eval() or model
            cache[backend] = (model, run_model(model, self.get_inputs(model.config)))
        return cache[backend]

    def check_direction(self, source_backend: str, target_backend: str, tmp_path: Path) -> None:
        """Source -> target through a checkpoint and in memory: complete load, outputs within `atol`, and the
        converted model's canonical tensors bit-identical to the source's."""
        model, expected = self.source(source_backend)
        target_class = self.model_classes[target_backend]
        inputs = self.get_inputs(model.config)
        directory = tmp_path / f"{source_backend}-to-{target_backend}"
        model.save_pretrained(directory)
        loaded, info = target_class.from_pretrained(directory, output_loading_info=True)
        assert not info["missing_keys"] and not info["unexpected_keys"], f"{directory}: {info}"
        what = f"{type(model).__name__} -> {target_class.__name__}"
        assert_outputs_close(expected, run_model(loaded, inputs), atol=self.atol, what=f"{what} (checkpoint)")
        converted = convert(model, target_class, strict=True)
        assert_outputs_close(expected, run_model(converted, inputs), atol=self.atol, what=f"{what} (in memory)")
        assert_arrays_identical(canonical_arrays(model), canonical_arrays(converted), what=what)

    # ------------------------------------------------------------------ the tests (transformers v4's names)
    def test_pt_tf_model_equivalence(self, tmp_path: Path) -> None:
        self._require("torch", "tf")
        self.check_direction("torch", "tf", tmp_path)
        self.check_direction("tf", "torch", tmp_path)

    def test_equivalence_pt_to_flax(self, tmp_path: Path) -> None:
        self._require("torch", "flax")
        self.check_direction("torch", "flax", tmp_path)

    def test_equivalence_flax_to_pt(self, tmp_path: Path) -> None:
        self._require("torch", "flax")
        self.check_direction("flax", "torch", tmp_path)

    def test_tf_flax_model_equivalence(self, tmp_path: Path) -> None:
        self._require("tf", "flax")
        self.check_direction("tf", "flax", tmp_path)
        self.check_direction("flax", "tf", tmp_path)

    def test_round_trip_bit_identical(self, tmp_path: Path) -> None:
        """Through every backend and back to the first (torch -> tf -> flax -> torch), by files and in memory:
        the canonical tensors come back bit-identical."""
        backends = self._backends()
        if len(backends) < 2:
            pytest.skip("needs two backends")
        model, _ = self.source(backends[0])
        original = canonical_arrays(model)
        current = model
        for step, backend in enumerate(itertools.islice(itertools.cycle(backends), 1, len(backends) + 1)):
            directory = tmp_path / f"step{step}-{backend}"
            current.save_pretrained(directory)
            from_file = self.model_classes[backend].from_pretrained(directory)
            in_memory = convert(current, self.model_classes[backend], strict=True)
            assert_arrays_identical(original, canonical_arrays(from_file), what=f"step {step} ({backend}, file)")
            assert_arrays_identical(original, canonical_arrays(in_memory), what=f"step {step} ({backend}, memory)")
            current = in_memory
