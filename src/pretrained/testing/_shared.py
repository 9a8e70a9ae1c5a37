"""What the TF and Flax tester mixins share: output comparisons and the tests whose bodies are the same in both.

The backend mixins (`tf_mixin.TFModelTesterMixin`, `flax_mixin.FlaxModelTesterMixin`) subclass
`SharedModelTests` and provide two hooks: `_model(model_class, config)` builds a small model and `_run(model)`
calls it on `get_inputs(config)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..configuration import PretrainedConfig


def flat_outputs(output: Any) -> list[np.ndarray]:
    """Every array of a model output (a `ModelOutput`, a tuple or one array), as float32 NumPy arrays."""
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [a for item in output for a in flat_outputs(item)]
    return [np.asarray(output).astype(np.float32)]


def assert_outputs_close(a: Any, b: Any, atol: float = 1e-5) -> None:
    """Two model outputs hold the same arrays (same shapes, values within `atol`)."""
    left, right = flat_outputs(a), flat_outputs(b)
    assert len(left) == len(right)
    for x, y in zip(left, right):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)


def canonical_arrays(model: Any) -> dict[str, np.ndarray]:
    """`{canonical key: array}` of a model, as it would be saved."""
    return {key: np.array(tensor.owner, copy=True) for key, tensor in model.canonical_state_dict().items()}


class SharedModelTests:
    """Tests whose bodies are backend-independent; see the module docstring for the two hooks."""

    all_model_classes: tuple[type, ...] = ()
    base_model_class: type | None = None
    test_resize_embeddings: bool = True
    test_pruning: bool = True
    heads_to_prune: dict[int, list[int]] = {0: [0], -1: [1]}
    shard_size: str = "20KB"

    def get_config(self) -> PretrainedConfig:
        raise NotImplementedError

    def get_inputs(self, config: PretrainedConfig) -> dict[str, Any]:
        raise NotImplementedError

    # ------------------------------------------------------------------ hooks (each backend's mixin)
    def _model(self, model_class: type, config: PretrainedConfig | None = None) -> Any:
        raise NotImplementedError

    def _run(self, model: Any, config: PretrainedConfig | None = None) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def _head_classes(self) -> list[type]:
        return [c for c in self.all_model_classes if c is not self.base_model_class]

    # ------------------------------------------------------------------ tests
    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        for model_class in self.all_model_classes:
            model = self._model(model_class)
            model.save_pretrained(tmp_path / model_class.__name__)
            loaded = model_class.from_pretrained(tmp_path / model_class.__name__)
            assert_outputs_close(self._run(model), self._run(loaded))
            before, after = canonical_arrays(model), canonical_arrays(loaded)
            assert before.keys() == after.keys()
            for key in before:
                np.testing.assert_array_equal(before[key], after[key], err_msg=key)

    def test_save_load_from_base(self, tmp_path: Path) -> None:
        if self.base_model_class is None:
            pytest.skip("no base model class")
        base = self._model(self.base_model_class)
        base.save_pretrained(tmp_path)
        saved = canonical_arrays(base)
        for model_class in self._head_classes():
            head = canonical_arrays(model_class.from_pretrained(tmp_path))
            self._assert_base_equal(saved, head, model_class.base_model_prefix)

    def test_save_load_to_base(self, tmp_path: Path) -> None:
        if self.base_model_class is None:
            pytest.skip("no base model class")
        for model_class in self._head_classes():
            head = self._model(model_class)
            head.save_pretrained(tmp_path / model_class.__name__)
            base = canonical_arrays(self.base_model_class.from_pretrained(tmp_path / model_class.__name__))
            self._assert_base_equal(base, canonical_arrays(head), model_class.base_model_prefix)

    @staticmethod
    def _assert_base_equal(base: dict[str, np.ndarray], head: dict[str, np.ndarray], prefix: str) -> None:
        compared = 0
        for key, value in base.items():
            for candidate in (key, f"{prefix}.{key}" if prefix else key):
                if candidate in head and head[candidate].shape == value.shape and not key.endswith("tracked"):
                    np.testing.assert_array_equal(value, head[candidate], err_msg=key)
                    compared += 1
                    break
        assert compared > 0

    def test_sharded_save_load(self, tmp_path: Path) -> None:
        model_class = self.all_model_classes[-1]
        model = self._model(model_class)
        model.save_pretrained(tmp_path, max_shard_size=self.shard_size)
        index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
        shards = set(index["weight_map"].values())
        assert len(shards) > 1 and not (tmp_path / "model.safetensors").exists()
        assert all((tmp_path / shard).is_file() for shard in shards)
        assert_outputs_close(self._run(model), self._run(model_class.from_pretrained(tmp_path)))
