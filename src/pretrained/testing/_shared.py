"""What the three tester mixins share: the output helpers and every common test, written once.

`ModelTesterMixin` holds the tests (the checkpoint tests here, the forward-pass tests in
[`ForwardTests`][pretrained.testing._forward.ForwardTests], which it inherits); a backend mixin
(`TorchModelTesterMixin`, `TFModelTesterMixin`, `FlaxModelTesterMixin`) supplies a few hooks (build a small model,
run it, read an embedding matrix, take a training step, ...) and adds its own backend-only tests. A user's test
class sets the same attributes whichever backend it tests:

- `all_model_classes` (v4's name; `model_classes` is accepted too) and `base_model_class`;
- `get_config()` and `get_inputs(config)`, or v4's `prepare_config_and_inputs()` returning both; optionally
  `get_labels(model_class, config, inputs)`;
- v4's flags: `test_resize_embeddings`, `test_pruning`, `has_attentions`, `test_head_masking`, `is_training`,
  and `test_attn_implementations`, `heads_to_prune`, `shard_size`, `expected_num_hidden_layers`.

Example:
    >>> import numpy as np
    >>> from pretrained.testing._shared import assert_outputs_close, flat_outputs
    >>> [a.shape for a in flat_outputs({"logits": np.ones((1, 2)), "hidden": (np.ones(3), None)})]
    [(1, 2), (3,)]
    >>> assert_outputs_close({"logits": np.ones(2)}, {"logits": np.ones(2) + 1e-7})
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..checkpoint import to_numpy
from ..configuration import PretrainedConfig
from ..conversion import canonical_arrays
from ..errors import IncompleteLoadError, ShapeMismatchError
from ._forward import ForwardTests
from ._outputs import assert_arrays_identical, assert_outputs_close, flat_outputs

__all__ = ["ModelTesterMixin", "assert_arrays_identical", "assert_outputs_close", "flat_outputs"]


def _is_float(array: np.ndarray) -> bool:
    return array.dtype.kind == "f" or array.dtype.name == "bfloat16"


def _is_weight(key: str, array: np.ndarray) -> bool:
    """A floating weight (not a BatchNorm running statistic: NNX keeps those in float32 whatever the dtype)."""
    return _is_float(array) and not key.endswith(("running_mean", "running_var"))


class ModelTesterMixin(ForwardTests):
    """The common tests of a model's classes, for any backend (see the module docstring for the attributes)."""

    all_model_classes: tuple[type, ...] = ()
    model_classes: tuple[type, ...] = ()  # the earlier torch mixin's name for all_model_classes
    base_model_class: type | None = None
    test_resize_embeddings: bool = True
    test_pruning: bool = True
    heads_to_prune: dict[int, list[int]] = {0: [0], -1: [1]}
    shard_size: str = "20KB"

    # ------------------------------------------------------------------ what the user's test class provides
    def prepare_config_and_inputs(self) -> tuple[PretrainedConfig, dict[str, Any]]:
        """v4's spelling: `(config, inputs)`; by default from `get_config()` and `get_inputs(config)`."""
        config = self.get_config()
        return config, self.get_inputs(config)

    def get_config(self) -> PretrainedConfig:
        if type(self).prepare_config_and_inputs is ModelTesterMixin.prepare_config_and_inputs:
            raise NotImplementedError("implement get_config() and get_inputs(config) (or prepare_config_and_inputs())")
        return self.prepare_config_and_inputs()[0]

    def get_inputs(self, config: PretrainedConfig) -> dict[str, Any]:
        return self.prepare_config_and_inputs()[1]

    # ------------------------------------------------------------------ backend hooks
    def _model(self, model_class: type, config: PretrainedConfig | None = None) -> Any:
        """A small, deterministic model in eval mode."""
        raise NotImplementedError

    def _run(self, model: Any, inputs: dict[str, Any] | None = None) -> Any:
        """The model's output on `inputs` (default: `get_inputs(model.config)`), without gradients or dropout."""
        raise NotImplementedError

    def _embedding_matrix(self, embedding: Any) -> np.ndarray:
        """An embedding layer's matrix, `(rows, dim)`."""
        raise NotImplementedError

    def _with_token(self, inputs: dict[str, Any], name: str, token: int) -> dict[str, Any]:
        """`inputs` with `inputs[name][0, 0] = token`."""
        ids = np.array(to_numpy(inputs[name]))
        ids[0, 0] = token
        return {**inputs, name: ids}

    def _output_is_tied(self, model: Any) -> bool:
        """Whether the LM head reads the input embedding's own variable."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def _classes(self) -> tuple[type, ...]:
        return tuple(self.all_model_classes or self.model_classes)

    def _head_classes(self) -> list[type]:
        return [c for c in self._classes() if c is not self.base_model_class]

    def _has_input_embeddings(self, model: Any) -> bool:
        try:
            model.get_input_embeddings()
        except NotImplementedError:
            return False
        return True

    @staticmethod
    def _assert_base_equal(base: dict[str, np.ndarray], head: dict[str, np.ndarray], prefix: str) -> None:
        compared = 0
        for key, value in base.items():
            for candidate in (f"{prefix}.{key}" if prefix else key, key):
                if candidate in head and head[candidate].shape == value.shape and not key.endswith("tracked"):
                    np.testing.assert_array_equal(value, head[candidate], err_msg=key)
                    compared += 1
                    break
        assert compared > 0, "no base weight found in the head model"

    # ------------------------------------------------------------------ tests
    def test_save_load_round_trip(self, tmp_path: Path) -> None:
        for model_class in self._classes():
            model = self._model(model_class)
            model.save_pretrained(tmp_path / model_class.__name__)
            assert (tmp_path / model_class.__name__ / "config.json").is_file()
            loaded, info = model_class.from_pretrained(tmp_path / model_class.__name__, output_loading_info=True)
            assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
            assert_arrays_identical(canonical_arrays(model), canonical_arrays(loaded))
            assert_outputs_close(self._run(model), self._run(loaded))

    def test_from_pretrained_no_checkpoint(self) -> None:
        for model_class in self._classes():
            model = self._model(model_class)
            loaded = model_class.from_pretrained(None, config=model.config, state_dict=model.canonical_state_dict())
            assert_arrays_identical(canonical_arrays(model), canonical_arrays(loaded))

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

    def test_sharded_save_load(self, tmp_path: Path) -> None:
        model_class = self._classes()[-1]
        model = self._model(model_class)
        for directory, safe, index_name in ((tmp_path / "safe", True, "model.safetensors.index.json"),
                                            (tmp_path / "bin", False, "pytorch_model.bin.index.json")):
            if not safe:
                pytest.importorskip("torch")
            model.save_pretrained(directory, max_shard_size=self.shard_size, safe_serialization=safe)
            shards = set(json.loads((directory / index_name).read_text())["weight_map"].values())
            assert len(shards) > 1 and all((directory / shard).is_file() for shard in shards)
            loaded = model_class.from_pretrained(directory)
            assert_arrays_identical(canonical_arrays(model), canonical_arrays(loaded), what=directory.name)
            assert_outputs_close(self._run(model), self._run(loaded))

    def test_loading_report(self, tmp_path: Path) -> None:
        from safetensors.numpy import load_file, save_file

        model_class = self._classes()[-1]
        model = self._model(model_class)
        model.save_pretrained(tmp_path)
        weights = load_file(tmp_path / "model.safetensors")
        key = next(k for k, v in weights.items() if v.ndim == 2)
        wrong = (weights[key].shape[0] + 1, weights[key].shape[1])
        expected_shape = tuple(weights[key].shape)
        weights[key] = np.zeros(wrong, weights[key].dtype)
        weights["no.such.weight"] = np.zeros(3, np.float32)
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        with pytest.raises(ShapeMismatchError, match=rf"{re.escape(key)}.*\[{wrong[0]}, {wrong[1]}\]"):
            model_class.from_pretrained(tmp_path)
        loaded, info = model_class.from_pretrained(tmp_path, ignore_mismatched_sizes=True, output_loading_info=True)
        assert [(k, tuple(a), tuple(b)) for k, a, b in info["mismatched_keys"]] == [(key, wrong, expected_shape)]
        assert info["unexpected_keys"] == ["no.such.weight"] and info["missing_keys"] == []
        assert np.isfinite(canonical_arrays(loaded)[key]).all()
        del weights[key]
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        loaded, info = model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert info["missing_keys"] == [key]
        assert np.isfinite(canonical_arrays(loaded)[key]).all()
        with pytest.raises(IncompleteLoadError):
            model_class.from_pretrained(tmp_path, strict=True)

    def test_tied_weights_after_reload(self, tmp_path: Path) -> None:
        tested = False
        for model_class in self._classes():
            model = self._model(model_class)
            if model.get_output_embeddings() is None or not getattr(model.config, "tie_word_embeddings", False):
                continue
            assert self._output_is_tied(model)
            saved = model.canonical_state_dict()
            for pattern in model._tied_weight_patterns():
                assert not any(re.search(rf"(^|\.){pattern}$", k) for k in saved), pattern
            model.save_pretrained(tmp_path / model_class.__name__)
            loaded = model_class.from_pretrained(tmp_path / model_class.__name__)
            assert self._output_is_tied(loaded)
            assert_outputs_close(self._run(model), self._run(loaded))
            tested = True
        if not tested:
            pytest.skip("no tied output embeddings")

    def test_resize_token_embeddings(self, tmp_path: Path) -> None:
        if not self.test_resize_embeddings or not self._has_input_embeddings(self._model(self._classes()[0])):
            pytest.skip("the model has no token embeddings")
        for model_class in self._classes():
            model = self._model(model_class)
            old = self._embedding_matrix(model.get_input_embeddings())
            size = old.shape[0]
            model.resize_token_embeddings(size + 10)
            new = self._embedding_matrix(model.get_input_embeddings())
            assert new.shape == (size + 10, old.shape[1]) and model.config.vocab_size == size + 10
            np.testing.assert_array_equal(new[:size], old)
            inputs = self._with_token(self.get_inputs(model.config), model_class.main_input_name, size + 9)
            before = self._run(model, inputs)
            model.save_pretrained(tmp_path / model_class.__name__)
            assert_outputs_close(before, self._run(model_class.from_pretrained(tmp_path / model_class.__name__),
                                                  inputs))
            model.resize_token_embeddings(size - 5)
            assert self._embedding_matrix(model.get_input_embeddings()).shape[0] == size - 5
            resized = model.resize_token_embeddings(size, pad_to_multiple_of=8)
            assert self._embedding_matrix(resized).shape[0] % 8 == 0
            with pytest.raises(ValueError, match="not and integer"):
                model.resize_token_embeddings(size, pad_to_multiple_of=1.3)

    def test_prune_heads(self, tmp_path: Path) -> None:
        model = self._model(self._classes()[0])
        if not self.test_pruning or not callable(getattr(model.base_model, "_prune_heads", None)):
            pytest.skip("the model does not support head pruning")
        for model_class in self._classes():
            model = self._model(model_class)
            count = model.num_parameters()
            model.prune_heads(self.heads_to_prune)
            assert model.config.pruned_heads == {int(k): sorted(v) for k, v in self.heads_to_prune.items()}
            pruned = model.num_parameters()
            assert pruned < count
            model.prune_heads(self.heads_to_prune)  # idempotent
            assert model.num_parameters() == pruned
            before = self._run(model)
            model.save_pretrained(tmp_path / model_class.__name__)
            loaded = model_class.from_pretrained(tmp_path / model_class.__name__)
            assert loaded.config.pruned_heads == model.config.pruned_heads
            assert_arrays_identical(canonical_arrays(model), canonical_arrays(loaded))
            assert_outputs_close(before, self._run(loaded))

    def test_dtype_round_trip(self, tmp_path: Path) -> None:
        model_class = self._classes()[0]
        self._model(model_class).save_pretrained(tmp_path / "fp32")
        model = model_class.from_pretrained(tmp_path / "fp32", dtype="bfloat16")
        assert {a.dtype.name for k, a in canonical_arrays(model).items() if _is_weight(k, a)} == {"bfloat16"}
        model.save_pretrained(tmp_path / "bf16")
        assert json.loads((tmp_path / "bf16" / "config.json").read_text())["dtype"] == "bfloat16"
        kept = canonical_arrays(model_class.from_pretrained(tmp_path / "bf16", dtype="auto"))
        upcast = canonical_arrays(model_class.from_pretrained(tmp_path / "bf16"))
        half = canonical_arrays(model_class.from_pretrained(tmp_path / "bf16", dtype="float16"))
        for key, value in kept.items():
            if _is_weight(key, value):
                assert value.dtype.name == "bfloat16" and upcast[key].dtype == np.float32, key
                assert half[key].dtype == np.float16, key
                np.testing.assert_array_equal(value.astype(np.float32), upcast[key], err_msg=key)
