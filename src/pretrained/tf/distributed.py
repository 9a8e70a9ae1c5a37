"""TensorFlow's sharded load is the `tf.distribute` strategy's: `from_pretrained` called inside
`strategy.scope()` creates the model's variables through the strategy (a `MirroredStrategy` mirrors each one on
every replica) and the shared pipeline assigns each checkpoint tensor once, read once; the strategy copies it to
its replicas. Reading the variables out for saving needs no collective, so any process may save.

Example:
    >>> import tensorflow as tf, tempfile
    >>> from pretrained.models.bert import BertConfig, TFBertModel
    >>> d = tempfile.mkdtemp()
    >>> TFBertModel(BertConfig(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    ...                        intermediate_size=16)).save_pretrained(d)
    >>> with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
    ...     model = TFBertModel.from_pretrained(d)
    >>> strategy_of(model).__class__.__name__
    'MirroredStrategy'
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf


def strategy_of(model: Any) -> tf.distribute.Strategy | None:
    """The `tf.distribute` strategy that created the model's variables (None: the default, undistributed one)."""
    for variable in model.weights:
        value = getattr(variable, "value", variable)
        if isinstance(value, tf.distribute.DistributedValues):
            return value.distribute_strategy
    return None


__all__ = ["strategy_of"]
