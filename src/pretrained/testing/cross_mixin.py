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

The backend tester mixins (`TorchModelTesterMixin`, `TFModelTesterMixin`, `FlaxModelTesterMixin`) also run a
cross check by default ([`TwinEquivalenceMixin`][pretrained.testing.cross_mixin.TwinEquivalenceMixin]): each model
class against its twins in the other installed backends, found by name ([`find_twin`]
[pretrained.testing.cross_mixin.find_twin]), on random inputs — a weight stored the other way round that happens to
be square loads without a report, and only outputs show it.

Every direction is checked twice: through a saved checkpoint (`save_pretrained` in one backend,
`from_pretrained` in the other) and in memory ([`pretrained.conversion.convert`][pretrained.conversion.convert]).
Outputs must agree within `atol` (1e-4), the load must be complete (no missing / unexpected keys), and converting
back must give bit-identical canonical tensors. The source model of each backend is built once per test class (the
first backend's at random, the others loaded from it; `independent_sources = True` builds each with its own class).
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import itertools
import re
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from ..auto_names import BACKEND_PREFIXES
from ..configuration import PretrainedConfig
from ..conversion import backend_of, canonical_arrays, convert, run_model
from ._shared import assert_arrays_identical, assert_outputs_close

_ORDER = ("torch", "tf", "flax")


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


# ---------------------------------------------------------------------------------------------- twins, by name
_FRAMEWORK_MODULES = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}
_MODULE_INFIX = {"torch": "", "tf": "tf_", "flax": "flax_"}


def find_twin(model_class: type, backend: str) -> type | None:
    """The class of `backend` that mirrors `model_class`, or None: the same name with that backend's prefix
    (`MyModel` / `TFMyModel` / `FlaxMyModel`), looked up in `model_class`'s module, then in the sibling module named
    as transformers names them (`modeling_my` / `modeling_tf_my` / `modeling_flax_my`). Nothing is imported for a
    backend that is not installed.

    Example:
        >>> from pretrained.models.bert import BertModel
        >>> from pretrained.testing.cross_mixin import find_twin
        >>> find_twin(BertModel, "flax").__name__
        'FlaxBertModel'
    """
    if importlib.util.find_spec(_FRAMEWORK_MODULES[backend]) is None:
        return None
    own = backend_of(model_class)
    stem = model_class.__name__[len(BACKEND_PREFIXES[own]):]
    name = BACKEND_PREFIXES[backend] + stem
    module_name = model_class.__module__
    candidates = [module_name]
    found = re.fullmatch(r"(?P<package>.*\.)?modeling_(?:tf_|flax_)?(?P<rest>\w+)", module_name)
    if found:
        candidates.append(f"{found['package'] or ''}modeling_{_MODULE_INFIX[backend]}{found['rest']}")
    for candidate in candidates:
        module = sys.modules.get(candidate)
        if module is None:
            try:
                module = importlib.import_module(candidate)
            except ImportError:
                continue
        twin = getattr(module, name, None)
        if isinstance(twin, type) and twin is not model_class and backend_of(twin) == backend:
            return twin
    return None


def random_inputs(inputs: dict[str, Any], config: PretrainedConfig, *, seed: int = 0) -> dict[str, Any]:
    """`inputs` with token ids and float inputs redrawn at random (same shapes and dtypes; ids below
    `config.vocab_size`); masks and other integer inputs kept.

    Example:
        >>> import numpy as np
        >>> from pretrained import PretrainedConfig
        >>> from pretrained.testing.cross_mixin import random_inputs
        >>> ids = random_inputs({"input_ids": np.ones((2, 3), np.int64)}, PretrainedConfig(vocab_size=5))["input_ids"]
        >>> ids.shape, int(ids.max()) < 5
        ((2, 3), True)
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, value in inputs.items():
        array = np.asarray(value)
        vocab = getattr(config, "vocab_size", None)
        if array.dtype.kind in "iu" and name.endswith("input_ids") and vocab:
            array = rng.integers(0, int(vocab), size=array.shape).astype(array.dtype)
        elif array.dtype.kind == "f":
            array = rng.normal(size=array.shape).astype(array.dtype)
        out[name] = array
    return out


class TwinEquivalenceMixin:
    """`test_equivalence_with_other_backends`, run by every backend tester mixin: `twin_classes` (default: the
    base model class — every class shares its layers) is saved and loaded by its twin in each other installed backend ([`find_twin`]
    [pretrained.testing.cross_mixin.find_twin]); the load must be complete and the outputs on random inputs equal
    within `twin_atol` (only the main, first output where one backend returns more, e.g. a cache). Skipped when no twin exists; `test_twins = False` switches it off."""

    test_twins: ClassVar[bool] = True
    twin_atol: ClassVar[float] = 1e-4
    twin_classes: ClassVar[tuple[type, ...]] = ()  # default: base_model_class, else the first model class

    def test_equivalence_with_other_backends(self, tmp_path: Path) -> None:
        if not self.test_twins:
            pytest.skip("test_twins = False")
        checked = []
        base = getattr(self, "base_model_class", None)
        for model_class in self.twin_classes or ((base,) if base else self._classes()[:1]):  # type: ignore[attr-defined]
            own = backend_of(model_class)
            twins = {b: find_twin(model_class, b) for b in _ORDER if b != own}
            twins = {backend: twin for backend, twin in twins.items() if twin is not None}
            if not twins:
                continue
            model = self._model(model_class)  # type: ignore[attr-defined]
            inputs = random_inputs(self.get_inputs(model.config), model.config)  # type: ignore[attr-defined]
            expected = run_model(model, inputs)
            directory = tmp_path / model_class.__name__
            model.save_pretrained(directory)
            for twin in twins.values():
                loaded, info = twin.from_pretrained(directory, output_loading_info=True)
                assert not info["missing_keys"] and not info["unexpected_keys"], f"{twin.__name__}: {info}"
                actual, reference = run_model(loaded, inputs), expected
                if len(actual) != len(reference):  # one backend returns more (a cache): compare the main output
                    actual, reference = actual[:1], reference[:1]
                assert_outputs_close(reference, actual, atol=self.twin_atol,
                                     what=f"{model_class.__name__} -> {twin.__name__} (random inputs)")
                checked.append(twin.__name__)
        if not checked:
            pytest.skip("no twin class in another installed backend")
