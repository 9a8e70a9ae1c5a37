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
from ._shared import SharedModelTests, assert_outputs_close


class FlaxModelTesterMixin(SharedModelTests):
    """Common tests for `FlaxPreTrainedModel` subclasses. Set `all_model_classes`, `base_model_class`, and
    implement `get_config()` / `get_inputs(config)`. Switch off `test_resize_embeddings` / `test_pruning` for
    models without token embeddings / attention heads."""

    # ------------------------------------------------------------------ helpers
    def _model(self, model_class: type, config: PretrainedConfig | None = None, seed: int = 0) -> Any:
        return model_class(config or self.get_config(), rngs=nnx.Rngs(seed)).eval()

    def _run(self, model: Any, config: PretrainedConfig | None = None) -> Any:
        return model(**self.get_inputs(config or model.config))

    # ------------------------------------------------------------------ tests
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
