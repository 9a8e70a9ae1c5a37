"""The forward-pass half of the common tests (what transformers v4's `ModelTesterMixin` checked of a model's
outputs): determinism, `return_dict` on / off, attention and hidden-state outputs, head masking, feed-forward
chunking, a training step with gradients, attention implementations, the main input name, `_keep_in_fp32_modules`.
[`ModelTesterMixin`][pretrained.testing._shared.ModelTesterMixin] inherits them; the backend mixins supply the hooks.

Flags, as in v4: `has_attentions`, `test_head_masking`, `is_training` (v4's model tester attribute),
`test_attn_implementations`; `expected_num_hidden_layers` (default `config.num_hidden_layers + 1`); a test class may
return labels from `get_labels(model_class, config, inputs)` so the training step uses the model's loss.

Example:
    >>> from pretrained.testing._forward import ForwardTests
    >>> ForwardTests.has_attentions, ForwardTests.test_head_masking
    (True, True)
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..checkpoint import to_numpy
from ..configuration import PretrainedConfig
from ..conversion import canonical_arrays
from ..errors import ConfigError
from ..modeling_base import keeps_fp32
from ..outputs import ModelOutput
from ._outputs import assert_outputs_close
from ._outputs import flat_outputs as _arrays


class ForwardTests:
    """Common tests of the forward pass (see the module docstring); hooks come from the backend mixin."""

    has_attentions: bool = True
    test_head_masking: bool = True
    is_training: bool = True
    test_attn_implementations: bool = True
    expected_num_hidden_layers: int | None = None

    # ------------------------------------------------------------------ hooks (backend mixins implement them)
    def _train_step(self, model: Any, inputs: dict[str, Any]) -> tuple[float, list[np.ndarray]]:
        """One forward + backward pass in training mode: `(loss, gradients of the trainable parameters)`; the loss
        is the output's `loss` (with labels), else the sum of its first array."""
        raise NotImplementedError

    def _forward_parameters(self, model: Any) -> list[str]:
        """The parameter names of the model's forward (`forward`, `call`, `__call__`)."""
        raise NotImplementedError

    def get_labels(self, model_class: type, config: PretrainedConfig, inputs: dict[str, Any]) -> dict[str, Any]:
        """Labels for `model_class`, so `_train_step` uses the model's own loss: zeros shaped as v4's tests made them,
        by the class name's task suffix (`...ForMaskedLM`: one per token, `...ForSequenceClassification`: one per
        example, ...); none for other classes. Override for other label layouts.

        >>> import numpy as np
        >>> ForwardTests().get_labels(type("BertForMaskedLM", (), {"main_input_name": "input_ids"}), None,
        ...                           {"input_ids": np.ones((2, 3))})["labels"].shape
        (2, 3)
        """
        batch_and_sequence = np.shape(to_numpy(inputs[model_class.main_input_name]))[:2]
        name = model_class.__name__
        if name.endswith(("ForMaskedLM", "ForCausalLM", "LMHeadModel", "ForTokenClassification")):
            return {"labels": np.zeros(batch_and_sequence, np.int64)}
        if name.endswith(("ForSequenceClassification", "ForImageClassification", "ForMultipleChoice")):
            return {"labels": np.zeros(batch_and_sequence[:1], np.int64)}
        if name.endswith("ForNextSentencePrediction"):
            return {"next_sentence_label": np.zeros(batch_and_sequence[:1], np.int64)}
        if name.endswith("ForQuestionAnswering"):
            zeros = np.zeros(batch_and_sequence[:1], np.int64)
            return {"start_positions": zeros, "end_positions": zeros}
        return {}

    # ------------------------------------------------------------------ helpers
    def _config(self, **overrides: Any) -> PretrainedConfig:
        config = copy.deepcopy(self.get_config())
        for key, value in overrides.items():
            setattr(config, key, value)
        return config

    def _accepts(self, model: Any, name: str) -> bool:
        return name in self._forward_parameters(model)

    def _num_layers(self, config: PretrainedConfig) -> int | None:
        if self.expected_num_hidden_layers is not None:
            return self.expected_num_hidden_layers
        layers = getattr(config, "num_hidden_layers", None)
        return None if layers is None else layers + 1

    # ------------------------------------------------------------------ tests
    def test_determinism(self) -> None:
        for model_class in self._classes():
            model = self._model(model_class)
            inputs = self.get_inputs(model.config)
            first, second = _arrays(self._run(model, inputs)), _arrays(self._run(model, inputs))
            for a, b in zip(first, second):
                np.testing.assert_array_equal(a[np.isfinite(a)], b[np.isfinite(b)])

    def test_model_outputs_equivalence(self) -> None:
        """`return_dict=False` gives `to_tuple()` of the `ModelOutput`; indexing the output by position and by name
        agree; `config.return_dict=False` (`use_return_dict`) returns tuples too."""
        for model_class in self._classes():
            model = self._model(model_class)
            extra = [{}]
            if self._accepts(model, "output_hidden_states"):
                extra.append({"output_hidden_states": True})
            if self.has_attentions and self._accepts(model, "output_attentions"):
                extra.append({"output_attentions": True, "output_hidden_states": True})
            for flags in extra:
                inputs = {**self.get_inputs(model.config), **flags}
                as_dict = self._run(model, inputs)
                as_tuple = self._run(model, {**inputs, "return_dict": False})
                assert isinstance(as_dict, ModelOutput), type(as_dict)
                assert isinstance(as_tuple, tuple), type(as_tuple)
                assert len(as_tuple) == len(as_dict) == len(as_dict.to_tuple()), (model_class.__name__, flags)
                for index, key in enumerate(as_dict.keys()):
                    assert as_dict[index] is as_dict[key]
                self._assert_same_arrays(as_dict, as_tuple, f"{model_class.__name__} {flags}")
                assert len(as_dict[:2]) == min(2, len(as_dict))
            model.config.return_dict = False
            assert isinstance(self._run(model), tuple), f"{model_class.__name__} ignores config.return_dict=False"

    def _assert_same_arrays(self, expected: Any, actual: Any, what: str) -> None:
        assert_outputs_close(expected, actual, atol=1e-5, what=what)

    def test_attention_outputs(self) -> None:
        if not self.has_attentions:
            pytest.skip("the model has no attention outputs")
        for model_class in self._classes():
            model = self._model(model_class)
            config, inputs = model.config, self.get_inputs(model.config)
            batch, seq = np.shape(to_numpy(inputs[model_class.main_input_name]))[:2]
            for output in (self._run(model, {**inputs, "output_attentions": True}),
                           self._run_with_config(model, inputs, output_attentions=True)):
                attentions = output.attentions
                assert attentions is not None and len(attentions) == config.num_hidden_layers, model_class.__name__
                assert [tuple(np.shape(to_numpy(a))) for a in attentions] == \
                    [(batch, config.num_attention_heads, seq, seq)] * config.num_hidden_layers
                assert "hidden_states" not in output, "hidden states were not asked for"

    def _run_with_config(self, model: Any, inputs: dict[str, Any], **flags: Any) -> Any:
        """The output with config attributes set for this call (models read the output flags at call time)."""
        saved = {name: getattr(model.config, name) for name in flags}
        try:
            for name, value in flags.items():
                setattr(model.config, name, value)
            return self._run(model, inputs)
        finally:
            for name, value in saved.items():
                setattr(model.config, name, value)

    def test_hidden_states_output(self) -> None:
        for model_class in self._classes():
            model = self._model(model_class)
            if not self._accepts(model, "output_hidden_states"):
                pytest.skip(f"{model_class.__name__} takes no output_hidden_states")
            config, inputs = model.config, self.get_inputs(model.config)
            for output in (self._run(model, {**inputs, "output_hidden_states": True}),
                           self._run_with_config(model, inputs, output_hidden_states=True)):
                hidden = output.hidden_states
                assert hidden is not None, model_class.__name__
                expected = self._num_layers(config)
                if expected is not None:
                    assert len(hidden) == expected, (model_class.__name__, len(hidden), expected)
                ids = np.shape(to_numpy(inputs[model_class.main_input_name]))
                if len(ids) == 2 and hasattr(config, "hidden_size"):
                    assert tuple(np.shape(to_numpy(hidden[0]))) == (*ids, config.hidden_size)
                assert "attentions" not in output

    def test_headmasking(self) -> None:
        if not (self.has_attentions and self.test_head_masking):
            pytest.skip("head masking is not tested for this model")
        config = self._config()
        layers, heads = config.num_hidden_layers, config.num_attention_heads
        head_mask = np.ones((layers, heads), np.float32)
        head_mask[0, 0] = 0
        head_mask[-1, :-1] = 0
        for model_class in self._classes():
            model = self._model(model_class, config)
            inputs = {**self.get_inputs(config), "head_mask": head_mask, "output_attentions": True}
            attentions = [np.asarray(to_numpy(a)) for a in self._run(model, inputs).attentions]
            assert np.abs(attentions[0][:, 0]).sum() == 0 and np.abs(attentions[0][:, 1:]).sum() > 0
            assert np.abs(attentions[-1][:, :-1]).sum() == 0 and np.abs(attentions[-1][:, -1]).sum() > 0
            unmasked = self._run(model, {**self.get_inputs(config), "output_attentions": True})
            assert not np.allclose(_arrays(unmasked)[0], _arrays(self._run(model, inputs))[0])

    def test_feed_forward_chunking(self) -> None:
        """`config.chunk_size_feed_forward = 1` (the feed-forward one position at a time) gives the same outputs
        (checked on the first class: the layers are shared by all)."""
        model_class = self._classes()[0]
        whole = self._run(self._model(model_class, self._config()))
        chunked = self._run(self._model(model_class, self._config(chunk_size_feed_forward=1)))
        np.testing.assert_allclose(_arrays(chunked)[0], _arrays(whole)[0], atol=1e-5, rtol=0)

    def test_training(self) -> None:
        if not self.is_training:
            pytest.skip("training is not tested for this model")
        for model_class in self._classes():
            model = self._model(model_class)
            inputs = {**self.get_inputs(model.config), **self.get_labels(model_class, model.config,
                                                                          self.get_inputs(model.config))}
            loss, gradients = self._train_step(model, inputs)
            assert np.isfinite(loss), f"{model_class.__name__}: loss {loss}"
            assert gradients and all(np.isfinite(g).all() for g in gradients), model_class.__name__
            assert sum(float(np.abs(g).sum()) > 0 for g in gradients) > len(gradients) // 2, \
                f"{model_class.__name__}: most parameters got no gradient"

    def test_attn_implementations_equal(self, tmp_path: Path) -> None:
        """Every supported attention implementation gives the eager outputs (within 1e-5), set at load
        (`attn_implementation=`) or later (`set_attn_implementation`); an unsupported one is refused by name."""
        model_class = self._classes()[-1]
        supported = model_class.supported_attn_implementations()
        with pytest.raises(ConfigError, match=r"attn_implementation='flash_attention_2'.*\['eager'"):
            self._model(model_class).set_attn_implementation("flash_attention_2")
        if not self.test_attn_implementations or supported == ("eager",):
            pytest.skip(f"{model_class.__name__} has only the eager attention")
        for cls in self._classes():
            model = self._model(cls)
            model.save_pretrained(tmp_path / cls.__name__)
            model.set_attn_implementation("eager")
            expected = self._run(model)
            for implementation in supported:
                loaded = cls.from_pretrained(tmp_path / cls.__name__, attn_implementation=implementation)
                assert loaded.config._attn_implementation == implementation
                self._assert_same_arrays(expected, self._run(loaded), f"{cls.__name__} {implementation}")
                model.set_attn_implementation(implementation)
                self._assert_same_arrays(expected, self._run(model), f"{cls.__name__} set {implementation}")

    def test_model_main_input_name(self) -> None:
        for model_class in self._classes():
            parameters = self._forward_parameters(self._model(model_class))
            assert parameters[0] == model_class.main_input_name, (model_class.__name__, parameters[:3])

    def test_keep_in_fp32_modules(self, tmp_path: Path) -> None:
        model_class = self._classes()[0]
        modules = model_class._keep_in_fp32_modules
        if not modules:
            pytest.skip("no _keep_in_fp32_modules")
        self._model(model_class).save_pretrained(tmp_path)
        loaded = canonical_arrays(model_class.from_pretrained(tmp_path, dtype="float16"))
        for key, array in loaded.items():
            if array.dtype.kind == "f" and not key.endswith(("running_mean", "running_var")):
                assert array.dtype == (np.float32 if keeps_fp32(key, modules) else np.float16), key


def forward_parameters(function: Any) -> list[str]:
    """The parameter names of a bound forward method, without `self` and `*args` / `**kwargs`.

    >>> forward_parameters(lambda input_ids, attention_mask=None, **kwargs: None)
    ['input_ids', 'attention_mask']
    """
    return [p.name for p in inspect.signature(function).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
