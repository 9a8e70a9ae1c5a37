"""`FlaxModelTesterMixin`: the common tests for a user's Flax NNX model (same test names as the torch mixin).

Apply it to a pytest class and say how to build a small config and inputs:

Example:
    >>> from pretrained.testing.flax_mixin import FlaxModelTesterMixin
    >>> class TestMyModel(FlaxModelTesterMixin):  # doctest: +SKIP
    ...     all_model_classes = (FlaxMyModel, FlaxMyModelForMaskedLM)
    ...     base_model_class = FlaxMyModel
    ...     def get_config(self):
    ...         return MyConfig(hidden_size=32, num_hidden_layers=2)
    ...     def get_inputs(self, config):
    ...         return {"input_ids": np.array([[1, 2, 3]])}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from ..configuration import PretrainedConfig
from ..errors import IncompleteLoadError, ShapeMismatchError


def flat_outputs(output: Any) -> list[np.ndarray]:
    """Every array of a model output (a `ModelOutput`, a tuple or one array), as float32 NumPy arrays."""
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [a for item in output for a in flat_outputs(item)]
    return [np.asarray(output, dtype=np.float32)]


def assert_outputs_close(a: Any, b: Any, atol: float = 1e-5) -> None:
    left, right = flat_outputs(a), flat_outputs(b)
    assert len(left) == len(right)
    for x, y in zip(left, right):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)


def canonical_arrays(model: Any) -> dict[str, np.ndarray]:
    """`{canonical key: array}` of a model, as it would be saved."""
    out = {}
    for key, tensor in model.canonical_state_dict().items():
        out[key] = np.array(tensor.owner, copy=True)
    return out


class FlaxModelTesterMixin:
    """Common tests for `FlaxPreTrainedModel` subclasses. Set `all_model_classes`, `base_model_class`, and
    implement `get_config()` / `get_inputs(config)`. Switch off `test_resize_embeddings` / `test_pruning` for
    models without token embeddings / attention heads."""

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

    # ------------------------------------------------------------------ helpers
    def _model(self, model_class: type, config: PretrainedConfig | None = None, seed: int = 0) -> Any:
        return model_class(config or self.get_config(), rngs=nnx.Rngs(seed)).eval()

    def _run(self, model: Any, config: PretrainedConfig | None = None) -> Any:
        return model(**self.get_inputs(config or model.config))

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

    def test_loading_report(self, tmp_path: Path) -> None:
        model_class = self.all_model_classes[-1]
        model = self._model(model_class)
        model.save_pretrained(tmp_path)
        _, info = model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
        # a tensor of the wrong shape: an error naming the key and both shapes, or initialised on request
        from safetensors.numpy import load_file, save_file

        weights = load_file(tmp_path / "model.safetensors")
        key = next(k for k, v in weights.items() if v.ndim == 2)
        wrong = weights[key].shape
        weights[key] = np.zeros((wrong[0] + 1, wrong[1]), weights[key].dtype)
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        with pytest.raises(ShapeMismatchError, match=key.replace(".", r"\.")):
            model_class.from_pretrained(tmp_path)
        loaded, info = model_class.from_pretrained(tmp_path, ignore_mismatched_sizes=True, output_loading_info=True)
        assert [m[0] for m in info["mismatched_keys"]] == [key]
        assert info["mismatched_keys"][0][1] == (wrong[0] + 1, wrong[1])
        # a missing tensor: reported, initialised, and refused with strict=True
        del weights[key]
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        _, info = model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert key in info["missing_keys"]
        with pytest.raises(IncompleteLoadError):
            model_class.from_pretrained(tmp_path, strict=True)

    def test_tied_weights_after_reload(self, tmp_path: Path) -> None:
        tested = False
        for model_class in self.all_model_classes:
            model = self._model(model_class)
            output = model.get_output_embeddings()
            if output is None or not getattr(model.config, "tie_word_embeddings", False):
                continue
            model.save_pretrained(tmp_path)
            loaded = model_class.from_pretrained(tmp_path)
            inputs, outputs = loaded.get_input_embeddings(), loaded.get_output_embeddings()
            assert outputs is inputs or outputs.embedding is inputs.embedding
            for key in model._tied_weights_keys or []:
                assert key not in model.canonical_state_dict()
            tested = True
        if not tested:
            pytest.skip("no tied output embeddings")

    def test_resize_token_embeddings(self, tmp_path: Path) -> None:
        if not self.test_resize_embeddings:
            pytest.skip("the model has no token embeddings")
        for model_class in self.all_model_classes:
            model = self._model(model_class)
            old = np.asarray(model.get_input_embeddings().embedding.get_value())
            size = old.shape[0]
            model.resize_token_embeddings(size + 10)
            new = np.asarray(model.get_input_embeddings().embedding.get_value())
            assert new.shape == (size + 10, old.shape[1]) and model.config.vocab_size == size + 10
            np.testing.assert_array_equal(new[:size], old)
            inputs = self.get_inputs(model.config)
            inputs[model_class.main_input_name] = jnp.asarray(inputs[model_class.main_input_name]).at[0, 0].set(size + 9)
            before = model(**inputs)
            model.save_pretrained(tmp_path / model_class.__name__)
            assert_outputs_close(before, model_class.from_pretrained(tmp_path / model_class.__name__)(**inputs))
            model.resize_token_embeddings(size - 5)
            assert model.get_input_embeddings().embedding.shape[0] == size - 5
            with pytest.raises(ValueError, match="not and integer"):
                model.resize_token_embeddings(size, pad_to_multiple_of=1.3)

    def test_prune_heads(self, tmp_path: Path) -> None:
        if not self.test_pruning:
            pytest.skip("the model has no attention heads")
        for model_class in self.all_model_classes:
            model = self._model(model_class)
            model.prune_heads(self.heads_to_prune)
            assert model.config.pruned_heads == {int(k): sorted(v) for k, v in self.heads_to_prune.items()}
            before = self._run(model)
            model.save_pretrained(tmp_path / model_class.__name__)
            loaded = model_class.from_pretrained(tmp_path / model_class.__name__)
            assert loaded.config.pruned_heads == model.config.pruned_heads
            assert_outputs_close(before, self._run(loaded))

    def test_dtype_round_trip(self, tmp_path: Path) -> None:
        model_class = self.all_model_classes[0]
        model = self._model(model_class)
        model.params = model.to_bf16(nnx.to_pure_dict(nnx.state(model, (nnx.Param, nnx.BatchStat))))
        model.save_pretrained(tmp_path)
        assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "bfloat16"
        kept = model_class.from_pretrained(tmp_path, dtype="auto")
        leaves = jax.tree.leaves(kept.params)
        assert leaves and all(leaf.dtype == jnp.bfloat16 for leaf in leaves)
        upcast = model_class.from_pretrained(tmp_path)
        assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(upcast.params))
        for a, b in zip(jax.tree.leaves(kept.params), jax.tree.leaves(upcast.params)):
            np.testing.assert_array_equal(np.asarray(a, np.float32), np.asarray(b))

    def test_sharded_save_load(self, tmp_path: Path) -> None:
        model_class = self.all_model_classes[-1]
        model = self._model(model_class)
        model.save_pretrained(tmp_path, max_shard_size=self.shard_size)
        index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
        shards = set(index["weight_map"].values())
        assert len(shards) > 1 and not (tmp_path / "model.safetensors").exists()
        assert all((tmp_path / shard).is_file() for shard in shards)
        assert_outputs_close(self._run(model), self._run(model_class.from_pretrained(tmp_path)))

    def test_jit(self, tmp_path: Path) -> None:
        model_class = self.all_model_classes[-1]
        self._model(model_class).save_pretrained(tmp_path)
        model = model_class.from_pretrained(tmp_path)
        inputs = self.get_inputs(model.config)

        @nnx.jit
        def forward(module: Any, batch: dict[str, Any]) -> Any:
            return module(**batch)

        assert_outputs_close(self._run(model), forward(model, {k: jnp.asarray(v) for k, v in inputs.items()}),
                             atol=1e-5)
