"""`TFModelTesterMixin`: the common tests for a user's TensorFlow (Keras 3) model (same test names as the torch mixin).

Apply it to a pytest class and say how to build a small config and inputs:

Example:
    >>> from pretrained.testing.tf_mixin import TFModelTesterMixin
    >>> class TestMyModel(TFModelTesterMixin):  # doctest: +SKIP
    ...     all_model_classes = (TFMyModel, TFMyModelForMaskedLM)
    ...     base_model_class = TFMyModel
    ...     def get_config(self):
    ...         return MyConfig(hidden_size=32, num_hidden_layers=2)
    ...     def get_inputs(self, config):
    ...         return {"input_ids": np.array([[1, 2, 3]])}
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from ..configuration import PretrainedConfig
from ..errors import IncompleteLoadError, ShapeMismatchError
from ._shared import SharedModelTests, assert_outputs_close, canonical_arrays


class TFModelTesterMixin(SharedModelTests):
    """Common tests for `TFPreTrainedModel` subclasses. Set `all_model_classes`, `base_model_class`, and implement
    `get_config()` / `get_inputs(config)`. Switch off `test_resize_embeddings` / `test_pruning` for models without
    token embeddings / attention heads."""

    # ------------------------------------------------------------------ helpers
    def _model(self, model_class: type, config: PretrainedConfig | None = None) -> Any:
        model = model_class(config or self.get_config())
        model.build_model()
        return model

    def _run(self, model: Any, config: PretrainedConfig | None = None) -> Any:
        return model(**self.get_inputs(config or model.config), training=False)

    # ------------------------------------------------------------------ tests
    def test_loading_report(self, tmp_path: Path) -> None:
        model_class = self.all_model_classes[-1]
        model = self._model(model_class)
        model.save_pretrained(tmp_path)
        _, info = model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert info == {"missing_keys": [], "unexpected_keys": [], "mismatched_keys": [], "error_msgs": []}
        from safetensors.numpy import load_file, save_file

        # a tensor of the wrong shape: an error naming the key and both shapes, or initialised on request
        weights = load_file(tmp_path / "model.safetensors")
        key = next(k for k, v in weights.items() if v.ndim == 2)
        wrong = weights[key].shape
        weights[key] = np.zeros((wrong[0] + 1, wrong[1]), weights[key].dtype)
        weights["no.rule.maps.this"] = np.zeros(3, np.float32)
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        with pytest.raises(ShapeMismatchError, match=rf"{re.escape(key)}.*{wrong[0] + 1}, {wrong[1]}"):
            model_class.from_pretrained(tmp_path)
        loaded, info = model_class.from_pretrained(tmp_path, ignore_mismatched_sizes=True, output_loading_info=True)
        assert [m[0] for m in info["mismatched_keys"]] == [key]
        assert info["mismatched_keys"][0][1] == (wrong[0] + 1, wrong[1])
        assert info["unexpected_keys"] == ["no.rule.maps.this"]
        # a missing tensor: reported, initialised, and refused with strict=True
        del weights[key]
        save_file(weights, tmp_path / "model.safetensors", metadata={"format": "pt"})
        loaded, info = model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert key in info["missing_keys"]
        assert np.isfinite(canonical_arrays(loaded)[key]).all()
        with pytest.raises(IncompleteLoadError):
            model_class.from_pretrained(tmp_path, strict=True)

    def test_tied_weights_after_reload(self, tmp_path: Path) -> None:
        tested = False
        for model_class in self.all_model_classes:
            model = model_class(self.get_config())  # not built: the check needs only the layers
            output = model.get_output_embeddings()
            if output is None or not getattr(model.config, "tie_word_embeddings", False):
                continue
            model.build_model()
            model.save_pretrained(tmp_path)
            loaded = model_class.from_pretrained(tmp_path)
            assert loaded.get_output_embeddings() is loaded.get_input_embeddings()
            saved = model.canonical_state_dict()
            for key in model._tied_weights_keys or []:
                assert key not in saved
            tested = True
        if not tested:
            pytest.skip("no tied output embeddings")

    def test_resize_token_embeddings(self, tmp_path: Path) -> None:
        if not self.test_resize_embeddings:
            pytest.skip("the model has no token embeddings")
        for model_class in self.all_model_classes:
            model = self._model(model_class)
            old = model.get_input_embeddings().embeddings.numpy()
            size = old.shape[0]
            model.resize_token_embeddings(size + 10)
            new = model.get_input_embeddings().embeddings.numpy()
            assert new.shape == (size + 10, old.shape[1]) and model.config.vocab_size == size + 10
            np.testing.assert_array_equal(new[:size], old)
            inputs = self.get_inputs(model.config)
            ids = np.array(inputs[model_class.main_input_name])
            ids[0, 0] = size + 9
            inputs[model_class.main_input_name] = ids
            before = model(**inputs)
            model.save_pretrained(tmp_path / model_class.__name__)
            assert_outputs_close(before, model_class.from_pretrained(tmp_path / model_class.__name__)(**inputs))
            model.resize_token_embeddings(size - 5)
            assert model.get_input_embeddings().embeddings.shape[0] == size - 5
            assert model.resize_token_embeddings(size, pad_to_multiple_of=8).input_dim % 8 == 0
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
        self._model(model_class).save_pretrained(tmp_path / "fp32")
        model = model_class.from_pretrained(tmp_path / "fp32", dtype="bfloat16")
        assert {v.dtype for v in model.weights if v.dtype.startswith("float") or v.dtype == "bfloat16"} == {"bfloat16"}
        model.save_pretrained(tmp_path / "bf16")
        assert json.loads((tmp_path / "bf16" / "config.json").read_text())["dtype"] == "bfloat16"
        kept = model_class.from_pretrained(tmp_path / "bf16", dtype="auto")
        upcast = model_class.from_pretrained(tmp_path / "bf16")
        kept_arrays, upcast_arrays = canonical_arrays(kept), canonical_arrays(upcast)
        for key, value in kept_arrays.items():
            if value.dtype.kind == "f" or value.dtype.name == "bfloat16":
                assert value.dtype.name == "bfloat16" and upcast_arrays[key].dtype == np.float32, key
                np.testing.assert_array_equal(value.astype(np.float32), upcast_arrays[key], err_msg=key)

    def test_serving(self, tmp_path: Path) -> None:
        """The `serving` signature (a `tf.function`) gives the eager outputs."""
        model = self._model(self.all_model_classes[-1])
        inputs = {k: tf.convert_to_tensor(v) for k, v in self.get_inputs(model.config).items()}
        signature = model.input_signature
        inputs = {k: tf.cast(v, signature[k].dtype) for k, v in inputs.items() if k in signature}
        served = model.serving(inputs)
        eager = model.serving_output(model(**inputs, training=False))
        assert served.keys() == eager.keys()
        assert_outputs_close(eager, served, atol=1e-5)
