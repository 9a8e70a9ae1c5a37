"""`FlaxModelTesterMixin`: the common tests for a user's Flax NNX model (the shared tests of
[`ModelTesterMixin`][pretrained.testing._shared.ModelTesterMixin], plus `nnx.jit`).

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

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..configuration import PretrainedConfig
from ._forward import forward_parameters
from ._shared import ModelTesterMixin, assert_outputs_close
from .cross_mixin import TwinEquivalenceMixin

__all__ = ["FlaxModelTesterMixin", "assert_outputs_close"]


class FlaxModelTesterMixin(ModelTesterMixin, TwinEquivalenceMixin):
    """Common tests for `FlaxPreTrainedModel` subclasses (see
    [`ModelTesterMixin`][pretrained.testing._shared.ModelTesterMixin] for the attributes)."""

    # ------------------------------------------------------------------ hooks
    def _model(self, model_class: type, config: PretrainedConfig | None = None) -> Any:
        return model_class(config or self.get_config(), rngs=nnx.Rngs(0)).eval()

    def _run(self, model: Any, inputs: dict[str, Any] | None = None) -> Any:
        return model(**(self.get_inputs(model.config) if inputs is None else inputs))

    def _embedding_matrix(self, embedding: Any) -> np.ndarray:
        return np.asarray(embedding.embedding.get_value())

    def _output_is_tied(self, model: Any) -> bool:
        output, inputs = model.get_output_embeddings(), model.get_input_embeddings()
        return output is inputs or output.embedding is inputs.embedding

    def _train_step(self, model: Any, inputs: dict[str, Any]) -> tuple[float, list[np.ndarray]]:
        model.train()
        dropout = "rngs" in self._forward_parameters(model)

        def loss_of(module: Any) -> Any:
            output = module(**inputs, **({"rngs": nnx.Rngs(dropout=0)} if dropout else {}))
            return output.loss if output.loss is not None else jnp.sum(output[0].astype(jnp.float32))

        loss, grads = nnx.jit(nnx.value_and_grad(loss_of))(model)
        return float(loss), [np.asarray(g, np.float32) for g in jax.tree.leaves(grads)]

    def _forward_parameters(self, model: Any) -> list[str]:
        return forward_parameters(model.__call__)

    # ------------------------------------------------------------------ Flax-only tests
    def test_jit(self, tmp_path: Path) -> None:
        """A loaded model runs under `nnx.jit` with the eager outputs."""
        model_class = self._classes()[-1]
        self._model(model_class).save_pretrained(tmp_path)
        model = model_class.from_pretrained(tmp_path)
        inputs = self.get_inputs(model.config)

        @nnx.jit
        def forward(module: Any, batch: dict[str, Any]) -> Any:
            return module(**batch)

        assert_outputs_close(self._run(model), forward(model, {k: jnp.asarray(v) for k, v in inputs.items()}),
                             atol=1e-5)
