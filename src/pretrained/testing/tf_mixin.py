"""`TFModelTesterMixin`: the common tests for a user's TensorFlow (Keras 3) model (the shared tests of
[`ModelTesterMixin`][pretrained.testing._shared.ModelTesterMixin], plus the serving signature).

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

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from ..configuration import PretrainedConfig
from ..outputs import ModelOutput
from ._forward import forward_parameters
from ._shared import ModelTesterMixin, assert_outputs_close, flat_outputs
from .cross_mixin import TwinEquivalenceMixin

__all__ = ["TFModelTesterMixin", "assert_outputs_close"]


class TFModelTesterMixin(ModelTesterMixin, TwinEquivalenceMixin):
    """Common tests for `TFPreTrainedModel` subclasses (see [`ModelTesterMixin`][pretrained.testing._shared.ModelTesterMixin]
    for the attributes)."""

    # ------------------------------------------------------------------ hooks
    def _model(self, model_class: type, config: PretrainedConfig | None = None) -> Any:
        keras.utils.set_random_seed(0)
        model = model_class(config or self.get_config())
        model.build_model()
        return model

    def _run(self, model: Any, inputs: dict[str, Any] | None = None) -> Any:
        return model(**(self.get_inputs(model.config) if inputs is None else inputs), training=False)

    def _embedding_matrix(self, embedding: Any) -> np.ndarray:
        return np.asarray(embedding.embeddings.numpy())

    def _output_is_tied(self, model: Any) -> bool:
        return model.get_output_embeddings() is model.get_input_embeddings()

    def _train_step(self, model: Any, inputs: dict[str, Any]) -> tuple[float, list[np.ndarray]]:
        with tf.GradientTape() as tape:
            output = model(**inputs, training=True)
            loss = output.loss if output.loss is not None else tf.reduce_sum(tf.cast(output[0], tf.float32))
        grads = tape.gradient(loss, model.trainable_variables)
        return float(loss), [np.asarray(tf.convert_to_tensor(g), np.float32) for g in grads if g is not None]

    def _forward_parameters(self, model: Any) -> list[str]:
        return forward_parameters(model.call)

    # ------------------------------------------------------------------ TensorFlow-only tests
    def test_outputs_in_tf_function(self) -> None:
        """Inside `tf.function` the model returns the same `ModelOutput` class with the eager values (and tuples
        with `return_dict=False`)."""
        model = self._model(self._classes()[-1])
        inputs = self.get_inputs(model.config)
        eager = self._run(model, inputs)
        traced = tf.function(lambda batch: model(**batch, training=False))(inputs)
        assert isinstance(traced, ModelOutput) and type(traced) is type(eager) and list(traced) == list(eager)
        assert_outputs_close(eager, traced, atol=1e-5)
        as_tuple = tf.function(lambda batch: model(**batch, return_dict=False, training=False))(inputs)
        assert isinstance(as_tuple, tuple) and len(flat_outputs(as_tuple)) == len(flat_outputs(eager))

    def test_serving(self) -> None:
        """The `serving` signature (a `tf.function`) gives the eager outputs."""
        model = self._model(self._classes()[-1])
        inputs = {k: tf.convert_to_tensor(v) for k, v in self.get_inputs(model.config).items()}
        signature = model.input_signature
        inputs = {k: tf.cast(v, signature[k].dtype) for k, v in inputs.items() if k in signature}
        served = model.serving(inputs)
        eager = model.serving_output(model(**inputs, training=False))
        assert served.keys() == eager.keys()
        assert_outputs_close(eager, served, atol=1e-5)
