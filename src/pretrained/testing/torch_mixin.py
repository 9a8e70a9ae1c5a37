"""`TorchModelTesterMixin`: the common tests for a user's PyTorch model (the shared tests of
[`ModelTesterMixin`][pretrained.testing._shared.ModelTesterMixin], plus PyTorch's fast-init checks).

Apply it to a pytest class, list the model classes and say how to build a small config and inputs:

Example:
    >>> from pretrained.testing.torch_mixin import TorchModelTesterMixin
    >>> class TestMyModel(TorchModelTesterMixin):  # doctest: +SKIP
    ...     all_model_classes = (MyModel, MyModelForMaskedLM)
    ...     base_model_class = MyModel
    ...     def get_config(self):
    ...         return MyConfig(hidden_size=32, num_hidden_layers=2)
    ...     def get_inputs(self, config):
    ...         return {"input_ids": torch.tensor([[1, 2, 3]])}

v4's `prepare_config_and_inputs()` and the earlier `model_classes` spelling work as well. Switch off
`test_resize_embeddings` / `test_pruning` for models without token embeddings / attention heads (they are skipped
automatically when the model has no input embeddings / no `_prune_heads`).
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from ..configuration import PretrainedConfig
from ._forward import forward_parameters
from ._shared import ModelTesterMixin, assert_outputs_close, flat_outputs
from .cross_mixin import TwinEquivalenceMixin

__all__ = ["TorchModelTesterMixin", "assert_outputs_close", "assert_state_equal", "flat_tensors", "mock_init_weights"]


def flat_tensors(output: Any) -> list[torch.Tensor]:
    """Every tensor of a model output (a `ModelOutput` / dict, a tuple or one tensor)."""
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [t for item in output for t in flat_tensors(item)]
    return [output] if isinstance(output, torch.Tensor) else []


def assert_state_equal(a: nn.Module, b: nn.Module) -> None:
    """Bit-exact equality of two models' state dicts (same keys, dtypes and values)."""
    left, right = a.state_dict(), b.state_dict()
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype, key
        assert torch.equal(left[key], right[key]), key


def mock_init_weights(self: nn.Module, module: nn.Module) -> None:
    """A deterministic `_init_weights`: every parameter of `module` is filled with a value derived from its name."""
    for name, param in module.named_parameters(recurse=False):
        param.data.fill_(sum(map(ord, name)) % 7 + 0.5)


def _mocked(model_class: type, *, assign: bool) -> type:
    attrs = {"_init_weights": mock_init_weights, "_keys_to_ignore_on_load_missing": [],
             "_supports_assign_param_buffer": assign}
    return type(f"Mocked{model_class.__name__}", (model_class,), attrs)


def _shared_groups(model: nn.Module) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for key, tensor in model.state_dict(keep_vars=True).items():
        groups.setdefault(id(tensor), []).append(key)
    return sorted(keys for keys in groups.values() if len(keys) > 1)


class TorchModelTesterMixin(ModelTesterMixin, TwinEquivalenceMixin):
    """Common tests for `PreTrainedModel` subclasses (see the module docstring)."""

    # ------------------------------------------------------------------ hooks
    def _model(self, model_class: type, config: PretrainedConfig | None = None) -> nn.Module:
        torch.manual_seed(0)
        return model_class(copy.deepcopy(config or self.get_config())).eval()

    @torch.no_grad()
    def _run(self, model: nn.Module, inputs: dict[str, Any] | None = None) -> Any:
        inputs = self.get_inputs(model.config) if inputs is None else inputs
        return model(**{k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()})

    def _embedding_matrix(self, embedding: nn.Module) -> np.ndarray:
        return flat_outputs(embedding.weight.detach())[0]

    def _output_is_tied(self, model: nn.Module) -> bool:
        return model.get_output_embeddings().weight is model.get_input_embeddings().weight

    def _train_step(self, model: nn.Module, inputs: dict[str, Any]) -> tuple[float, list[np.ndarray]]:
        model.train()
        output = model(**{k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in inputs.items()})
        loss = output.loss if output.loss is not None else flat_tensors(output)[0].float().sum()
        loss.backward()
        grads = [p.grad.detach().float().numpy() for p in model.parameters() if p.requires_grad and p.grad is not None]
        return float(loss.detach()), grads

    def _forward_parameters(self, model: nn.Module) -> list[str]:
        return forward_parameters(model.forward)

    # ------------------------------------------------------------------ PyTorch-only tests
    def test_outputs_are_pytrees(self) -> None:
        """A `ModelOutput` flattens to its tensors and back (torch's pytree: `torch.compile`, `torch.export`)."""
        from torch.utils import _pytree

        output = self._run(self._model(self._classes()[-1]))
        leaves, spec = _pytree.tree_flatten(output)
        assert len(leaves) == len(flat_tensors(output))
        rebuilt = _pytree.tree_unflatten(leaves, spec)
        assert type(rebuilt) is type(output) and list(rebuilt) == list(output)

    def test_loaded_model_is_in_eval_mode(self, tmp_path: Path) -> None:
        model_class = self._classes()[0]
        self._model(model_class).train().save_pretrained(tmp_path)
        assert not model_class.from_pretrained(tmp_path).training

    def test_shared_tensors_after_reload(self, tmp_path: Path) -> None:
        """Every group of parameters sharing one tensor (tied embeddings, any other tie) is stored once and shared
        again after loading."""
        for model_class in self._classes():
            model = self._model(model_class)
            shared = _shared_groups(model)
            model.save_pretrained(tmp_path / model_class.__name__)
            loaded = model_class.from_pretrained(tmp_path / model_class.__name__)
            assert _shared_groups(loaded) == shared
            saved = model.canonical_state_dict()
            for group in shared:
                assert sum(k in saved for k in group) == 1, group

    def test_fast_init_from_base(self, tmp_path: Path) -> None:
        """A base checkpoint with one weight deleted, into each head class: the meta + assign path and the copy
        path give identical weights, and the deleted weight comes out of `_init_weights` (not garbage)."""
        if self.base_model_class is None:
            pytest.skip("no base model class")
        base = self._model(self.base_model_class)
        deleted = random.Random(0).choice([n for n, _ in base.named_parameters()])
        self._save_without(base, deleted, tmp_path)
        for model_class in self._head_classes():
            fast = _mocked(model_class, assign=True).from_pretrained(tmp_path)
            slow = _mocked(model_class, assign=False).from_pretrained(tmp_path)
            assert_state_equal(fast, slow)
            prefix = model_class.base_model_prefix
            key = f"{prefix}.{deleted}" if prefix and f"{prefix}.{deleted}" in fast.state_dict() else deleted
            self._assert_mock_initialised(fast, key)

    def test_fast_init_to_base(self, tmp_path: Path) -> None:
        if self.base_model_class is None:
            pytest.skip("no base model class")
        for model_class in self._head_classes():
            head = self._model(model_class)
            directory = tmp_path / model_class.__name__
            prefix = model_class.base_model_prefix
            base_keys = {n for n, _ in self._model(self.base_model_class).named_parameters()}
            candidates = [n for n, _ in head.named_parameters() if n.removeprefix(f"{prefix}.") in base_keys]
            deleted = random.Random(0).choice(candidates)
            self._save_without(head, deleted, directory)
            fast = _mocked(self.base_model_class, assign=True).from_pretrained(directory)
            slow = _mocked(self.base_model_class, assign=False).from_pretrained(directory)
            assert_state_equal(fast, slow)
            self._assert_mock_initialised(fast, deleted.removeprefix(f"{prefix}.") if prefix else deleted)

    @staticmethod
    def _save_without(model: nn.Module, key: str, directory: Path) -> None:
        from safetensors.torch import load_file, save_file

        model.save_pretrained(directory)
        weights = load_file(directory / "model.safetensors")
        weights.pop(key, None)
        save_file(weights, directory / "model.safetensors", metadata={"format": "pt"})

    @staticmethod
    def _assert_mock_initialised(model: nn.Module, key: str) -> None:
        tensor = model.state_dict()[key]
        leaf = key.rsplit(".", 1)[-1]
        expected = torch.full_like(tensor, sum(map(ord, leaf)) % 7 + 0.5)
        assert torch.equal(tensor, expected), f"{key} was not initialised by _init_weights"
