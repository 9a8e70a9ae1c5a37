"""A BERT-layout encoder in TensorFlow (Keras 3), with the canonical keys of transformers' PyTorch BERT.

Every layer is named like the PyTorch module (`embeddings`, `encoder`, `layer`, `0`, `attention`, `self`, `query`,
`LayerNorm`, ...), so `bert.encoder.layer.0.attention.self.query.weight` is the path of the Keras `query` kernel.
The masked-LM decoder multiplies by the word-embedding matrix itself (tied), so `cls.predictions.decoder.*` is never
stored; with `config.tie_word_embeddings=False` the head gets its own `decoder`.

Example:
    >>> import numpy as np
    >>> from pretrained.models.bert import BertConfig, TFBertModel
    >>> config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
    ...                     intermediate_size=64)
    >>> model = TFBertModel(config)
    >>> model(np.array([[1, 2, 3]]), attention_mask=np.array([[1, 1, 0]])).last_hidden_state.shape
    TensorShape([1, 3, 32])
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from pretrained.errors import ConfigError
from pretrained.heads import pruneable_heads_and_indices
from pretrained.outputs import ModelOutput
from pretrained.tf.modeling import TFPreTrainedModel
from pretrained.tf.module_utils import TFModuleUtilsMixin
from pretrained.tf.pruning import prune_layer_attribute
from pretrained.tf.variables import ContainerLayer, LayerList, declare_input_shape, replace_layer, replace_variable

from .configuration_bert import BertConfig

ACT2FN = {
    "gelu": lambda x: keras.activations.gelu(x, approximate=False),
    "gelu_new": lambda x: keras.activations.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: keras.activations.gelu(x, approximate=True),
    "relu": keras.activations.relu,
    "silu": keras.activations.silu,
    "swish": keras.activations.silu,
    "tanh": keras.activations.tanh,
}


def _activation(name: str) -> Any:
    try:
        return ACT2FN[name]
    except KeyError:
        raise ConfigError(f"unsupported hidden_act {name!r}; choose one of {sorted(ACT2FN)}") from None


def _init(config: BertConfig) -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(stddev=config.initializer_range)


def _dense(config: BertConfig, units: int, name: str, *, inputs: int | None = None, **kwargs: Any
           ) -> keras.layers.Dense:
    layer = keras.layers.Dense(units, kernel_initializer=_init(config), name=name, **kwargs)
    return declare_input_shape(layer, (None, None, config.hidden_size if inputs is None else inputs))


def _layer_norm(config: BertConfig) -> keras.layers.LayerNormalization:
    layer = keras.layers.LayerNormalization(epsilon=config.layer_norm_eps, name="LayerNorm")
    return declare_input_shape(layer, (None, None, config.hidden_size))


def _embedding(config: BertConfig, rows: int, name: str) -> keras.layers.Embedding:
    layer = keras.layers.Embedding(rows, config.hidden_size, embeddings_initializer=_init(config), name=name)
    return declare_input_shape(layer, None)


# ----------------------------------------------------------------------------------------------- blocks
class TFBertEmbeddings(ContainerLayer):
    """Word + position + token-type embeddings, then LayerNorm and dropout."""

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.word_embeddings = _embedding(config, config.vocab_size, "word_embeddings")
        self.position_embeddings = _embedding(config, config.max_position_embeddings, "position_embeddings")
        self.token_type_embeddings = _embedding(config, config.type_vocab_size, "token_type_embeddings")
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, input_ids: Any, token_type_ids: Any = None, position_ids: Any = None,
             training: bool = False) -> Any:
        if position_ids is None:
            position_ids = ops.arange(ops.shape(input_ids)[1])[None, :]
        if token_type_ids is None:
            token_type_ids = ops.zeros_like(input_ids)
        embeddings = (self.word_embeddings(input_ids) + self.token_type_embeddings(token_type_ids)
                      + self.position_embeddings(position_ids))
        return self.dropout(self.LayerNorm(embeddings), training=training)


class TFBertSelfAttention(ContainerLayer):
    """Multi-head scaled dot-product attention over `num_heads` heads (fewer than the config's once pruned)."""

    def __init__(self, config: BertConfig, num_heads: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_attention_heads = num_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = num_heads * self.attention_head_size
        self.query = _dense(config, self.all_head_size, "query")
        self.key = _dense(config, self.all_head_size, "key")
        self.value = _dense(config, self.all_head_size, "value")
        self.dropout = keras.layers.Dropout(config.attention_probs_dropout_prob)

    def _heads(self, x: Any) -> Any:
        x = ops.reshape(x, (ops.shape(x)[0], -1, self.num_attention_heads, self.attention_head_size))
        return ops.transpose(x, (0, 2, 1, 3))

    def call(self, hidden_states: Any, attention_mask: Any = None, head_mask: Any = None,
             training: bool = False) -> tuple[Any, Any]:
        query, key, value = (self._heads(layer(hidden_states)) for layer in (self.query, self.key, self.value))
        scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2))) / math.sqrt(self.attention_head_size)
        if attention_mask is not None:
            scores = scores + ops.cast(attention_mask, scores.dtype)
        probs = self.dropout(ops.softmax(scores, axis=-1), training=training)
        if head_mask is not None:
            probs = probs * ops.cast(head_mask, probs.dtype)
        context = ops.transpose(ops.matmul(probs, value), (0, 2, 1, 3))
        return ops.reshape(context, (ops.shape(context)[0], -1, self.all_head_size)), probs


class TFBertSelfOutput(ContainerLayer):
    """`LayerNorm(dropout(dense(x)) + residual)`."""

    def __init__(self, config: BertConfig, inputs: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config, config.hidden_size, "dense", inputs=inputs)
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, hidden_states: Any, input_tensor: Any, training: bool = False) -> Any:
        return self.LayerNorm(self.dropout(self.dense(hidden_states), training=training) + input_tensor)


TFBertOutput = TFBertSelfOutput  # same computation, after the intermediate layer


class TFBertAttention(ContainerLayer):
    """Self-attention (`self`) and its output projection (`output`); `prune_heads` rebuilds both."""

    def __init__(self, config: BertConfig, pruned_heads: Iterable[int] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pruned_heads = set(pruned_heads)
        self.self_attention = TFBertSelfAttention(
            config, config.num_attention_heads - len(self.pruned_heads), name="self")
        self.dense_output = TFBertSelfOutput(config, self.self_attention.all_head_size, name="output")

    def prune_heads(self, heads: Iterable[int]) -> None:
        """Drop `heads` (numbered as in the unpruned layer): q/k/v lose output columns, `output.dense` input rows."""
        attention = self.self_attention
        heads, index = pruneable_heads_and_indices(
            heads, attention.num_attention_heads, attention.attention_head_size, self.pruned_heads)
        if not heads:
            return
        for name in ("query", "key", "value"):
            prune_layer_attribute(attention, name, index, dim=0)
        prune_layer_attribute(self.dense_output, "dense", index, dim=1)
        attention.num_attention_heads -= len(heads)
        attention.all_head_size = attention.attention_head_size * attention.num_attention_heads
        self.pruned_heads |= heads

    def call(self, hidden_states: Any, attention_mask: Any = None, head_mask: Any = None,
             training: bool = False) -> tuple[Any, Any]:
        context, probs = self.self_attention(hidden_states, attention_mask=attention_mask, head_mask=head_mask,
                                             training=training)
        return self.dense_output(context, hidden_states, training=training), probs


class TFBertIntermediate(ContainerLayer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config, config.intermediate_size, "dense")
        self.activation = _activation(config.hidden_act)

    def call(self, hidden_states: Any) -> Any:
        return self.activation(self.dense(hidden_states))


class TFBertLayer(ContainerLayer):
    """One transformer block: `attention`, `intermediate`, `output`."""

    def __init__(self, config: BertConfig, pruned_heads: Iterable[int] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.attention = TFBertAttention(config, pruned_heads, name="attention")
        self.intermediate = TFBertIntermediate(config, name="intermediate")
        self.bert_output = TFBertOutput(config, config.intermediate_size, name="output")

    def call(self, hidden_states: Any, attention_mask: Any = None, head_mask: Any = None,
             training: bool = False) -> tuple[Any, Any]:
        attended, probs = self.attention(hidden_states, attention_mask=attention_mask, head_mask=head_mask,
                                         training=training)
        return self.bert_output(self.intermediate(attended), attended, training=training), probs


class TFBertEncoder(ContainerLayer):
    """`layer.0` ... `layer.{n-1}`; layers listed in `config.pruned_heads` are built with those heads removed."""

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        count = config.num_hidden_layers
        pruned = {int(layer) % count: heads for layer, heads in (config.pruned_heads or {}).items()}
        self.layer = LayerList(
            [TFBertLayer(config, pruned.get(i, ()), name=str(i)) for i in range(count)], name="layer")

    def call(self, hidden_states: Any, attention_mask: Any = None, head_mask: Any = None,
             output_attentions: bool = False, output_hidden_states: bool = False,
             training: bool = False) -> ModelOutput:
        states, attentions = [], []
        for i, block in enumerate(self.layer):
            states.append(hidden_states)
            hidden_states, probs = block(hidden_states, attention_mask=attention_mask, head_mask=head_mask[i],
                                         training=training)
            attentions.append(probs)
        out = ModelOutput(last_hidden_state=hidden_states)
        if output_hidden_states:
            out.hidden_states = (*states, hidden_states)
        if output_attentions:
            out.attentions = tuple(attentions)
        return out


class TFBertPooler(ContainerLayer):
    """`tanh(dense(first token))`."""

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config, config.hidden_size, "dense", activation="tanh")
        declare_input_shape(self.dense, (None, config.hidden_size))

    def call(self, hidden_states: Any) -> Any:
        return self.dense(hidden_states[:, 0])


# ----------------------------------------------------------------------------------------------- the encoder
class _TFBertBody:
    """What the bare model and the `bert` layer of the heads share: parts, embeddings access, pruning, forward."""

    config: BertConfig

    def _build_body(self, config: BertConfig, add_pooling_layer: bool) -> None:
        self.embeddings = TFBertEmbeddings(config, name="embeddings")
        self.encoder = TFBertEncoder(config, name="encoder")
        self.pooler = TFBertPooler(config, name="pooler") if add_pooling_layer else None

    def get_input_embeddings(self) -> keras.layers.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: keras.layers.Embedding) -> None:
        replace_layer(self.embeddings, "word_embeddings", value)

    def _prune_heads(self, heads_to_prune: Mapping[int, Iterable[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[int(layer)].attention.prune_heads(heads)

    def _encode(self, input_ids: Any, attention_mask: Any, token_type_ids: Any, position_ids: Any, head_mask: Any,
                output_attentions: bool | None, output_hidden_states: bool | None, training: bool) -> ModelOutput:
        config = self.config
        if attention_mask is None:
            attention_mask = ops.ones_like(input_ids)
        extended = self.get_extended_attention_mask(attention_mask, None)
        head_mask = self.get_head_mask(head_mask, config.num_hidden_layers)
        embedded = self.embeddings(input_ids, token_type_ids=token_type_ids, position_ids=position_ids,
                                   training=training)
        out = self.encoder(
            embedded, attention_mask=extended, head_mask=head_mask,
            output_attentions=bool(output_attentions if output_attentions is not None else config.output_attentions),
            output_hidden_states=bool(
                output_hidden_states if output_hidden_states is not None else config.output_hidden_states),
            training=training,
        )
        result = ModelOutput(last_hidden_state=out["last_hidden_state"])
        if self.pooler is not None:
            result.pooler_output = self.pooler(out["last_hidden_state"])
        for name in ("hidden_states", "attentions"):
            if name in out:
                result[name] = out[name]
        return result


class TFBertMainLayer(_TFBertBody, ContainerLayer, TFModuleUtilsMixin):
    """The encoder as a Keras layer (named `bert` inside the task models)."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self._build_body(config, add_pooling_layer)

    def call(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None, position_ids: Any = None,
             head_mask: Any = None, output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             training: bool = False) -> ModelOutput:
        return self._encode(input_ids, attention_mask, token_type_ids, position_ids, head_mask, output_attentions,
                            output_hidden_states, training)


class TFBertPreTrainedModel(TFPreTrainedModel):
    """Shared plumbing of the TF BERT classes: config class, prefix, dummy inputs."""

    config_class = BertConfig
    base_model_prefix = "bert"

    @property
    def dummy_inputs(self) -> dict[str, Any]:
        ids = np.array([[7, 6, 0, 0, 1], [1, 2, 3, 0, 0], [0, 0, 0, 4, 5]], np.int32) % self.config.vocab_size
        return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}


class TFBertModel(_TFBertBody, TFBertPreTrainedModel):
    """The bare BERT encoder (`embeddings`, `encoder`, `pooler`): `last_hidden_state`, `pooler_output` and, on
    request, `hidden_states` / `attentions`.

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertModel
        >>> model = TFBertModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        ...                                intermediate_size=64))
        >>> model(np.array([[1, 2]]), attention_mask=np.array([[1, 0]])).pooler_output.shape
        TensorShape([1, 32])
    """

    def __init__(self, config: BertConfig, *inputs: Any, add_pooling_layer: bool = True, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self._build_body(config, add_pooling_layer)

    def call(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None, position_ids: Any = None,
             head_mask: Any = None, labels: Any = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, training: bool = False) -> ModelOutput:
        """Encode `input_ids` `(batch, seq)`. `labels` is accepted and ignored (no head)."""
        return self._encode(input_ids, attention_mask, token_type_ids, position_ids, head_mask, output_attentions,
                            output_hidden_states, training)


# ----------------------------------------------------------------------------------------------- heads
class TFBertPredictionHeadTransform(ContainerLayer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config, config.hidden_size, "dense")
        self.activation = _activation(config.hidden_act)
        self.LayerNorm = _layer_norm(config)

    def call(self, hidden_states: Any) -> Any:
        return self.LayerNorm(self.activation(self.dense(hidden_states)))


class TFBertLMPredictionHead(ContainerLayer):
    """`transform`, the output `bias`, and a `decoder` only when the embeddings are not tied."""

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocab_size = config.vocab_size
        self.transform = TFBertPredictionHeadTransform(config, name="transform")
        self.decoder = None
        if not config.tie_word_embeddings:
            self.decoder = _dense(config, config.vocab_size, "decoder", use_bias=False)

    def build(self, input_shape: Any = None) -> None:
        self.bias = self.add_weight(shape=(self.vocab_size,), initializer="zeros", name="bias")
        super().build(input_shape)

    def call(self, hidden_states: Any, embedding_matrix: Any = None) -> Any:
        hidden_states = self.transform(hidden_states)
        if self.decoder is not None:
            logits = self.decoder(hidden_states)
        else:
            logits = ops.matmul(hidden_states, ops.transpose(ops.cast(embedding_matrix, hidden_states.dtype)))
        return logits + ops.cast(self.bias, logits.dtype)


class TFBertOnlyMLMHead(ContainerLayer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.predictions = TFBertLMPredictionHead(config, name="predictions")

    def call(self, hidden_states: Any, embedding_matrix: Any = None) -> Any:
        return self.predictions(hidden_states, embedding_matrix=embedding_matrix)


def _masked_lm_loss(logits: Any, labels: Any) -> Any:
    labels = ops.cast(labels, "int32")
    valid = ops.not_equal(labels, -100)
    losses = keras.losses.sparse_categorical_crossentropy(
        ops.where(valid, labels, 0), ops.cast(logits, "float32"), from_logits=True)
    valid = ops.cast(valid, "float32")
    return ops.sum(losses * valid) / ops.maximum(ops.sum(valid), 1.0)


class TFBertForMaskedLM(TFBertPreTrainedModel):
    """BERT with the masked-LM head (`cls.predictions`), decoder tied to the word embeddings by default.

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertForMaskedLM
        >>> model = TFBertForMaskedLM(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                      num_attention_heads=4, intermediate_size=64))
        >>> out = model(np.array([[1, 2]]), labels=np.array([[-100, 2]]))
        >>> tuple(out.logits.shape), tuple(out.loss.shape)
        ((1, 2, 50), ())
    """

    _keys_to_ignore_on_load_unexpected = [r"pooler", r"^cls\.predictions\.decoder\.(weight|bias)$"]
    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.bert = TFBertMainLayer(config, add_pooling_layer=False, name="bert")
        self.cls = TFBertOnlyMLMHead(config, name="cls")

    def get_output_embeddings(self) -> keras.layers.Layer:
        decoder = self.cls.predictions.decoder
        return self.bert.get_input_embeddings() if decoder is None else decoder

    def set_output_embeddings(self, value: keras.layers.Layer) -> None:
        replace_layer(self.cls.predictions, "decoder", value)

    def get_bias(self) -> dict[str, Any]:
        self._ensure_built()
        return {"bias": self.cls.predictions.bias}

    def set_bias(self, value: Mapping[str, np.ndarray]) -> None:
        replace_variable(self.cls.predictions, "bias", np.asarray(value["bias"]))
        self.cls.predictions.vocab_size = int(value["bias"].shape[0])

    def call(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None, position_ids: Any = None,
             head_mask: Any = None, labels: Any = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, training: bool = False) -> ModelOutput:
        """`logits` `(batch, seq, vocab)`; `loss` (mean cross-entropy over labels != -100) when `labels` given."""
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        position_ids=position_ids, head_mask=head_mask, output_attentions=output_attentions,
                        output_hidden_states=output_hidden_states, training=training)
        matrix = self.bert.get_input_embeddings().embeddings if self.cls.predictions.decoder is None else None
        logits = self.cls(out["last_hidden_state"], embedding_matrix=matrix)
        return _with_loss(out, logits, None if labels is None else _masked_lm_loss(logits, labels))


def _classification_loss(config: BertConfig, logits: Any, labels: Any) -> Any:
    problem = config.problem_type
    if problem is None:
        if config.num_labels == 1:
            problem = "regression"
        elif tf.as_dtype(keras.backend.standardize_dtype(labels.dtype)).is_integer:
            problem = "single_label_classification"
        else:
            problem = "multi_label_classification"
    logits = ops.cast(logits, "float32")
    if problem == "regression":
        labels = ops.cast(labels, "float32")
        if config.num_labels == 1:
            logits, labels = ops.squeeze(logits), ops.squeeze(labels)
        return ops.mean(ops.square(logits - labels))
    if problem == "single_label_classification":
        return ops.mean(keras.losses.sparse_categorical_crossentropy(
            ops.reshape(labels, (-1,)), ops.reshape(logits, (-1, config.num_labels)), from_logits=True))
    targets = ops.cast(labels, "float32")
    return ops.mean(ops.maximum(logits, 0.0) - logits * targets + ops.log1p(ops.exp(-ops.abs(logits))))


def _with_loss(out: ModelOutput, logits: Any, loss: Any) -> ModelOutput:
    result = ModelOutput()
    if loss is not None:
        result.loss = loss
    result.logits = logits
    for name in ("hidden_states", "attentions"):
        if name in out:
            result[name] = out[name]
    return result


class TFBertForSequenceClassification(TFBertPreTrainedModel):
    """BERT with a classification / regression head on the pooled output (`classifier`).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertForSequenceClassification
        >>> model = TFBertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                                    num_attention_heads=4, intermediate_size=64))
        >>> tuple(model(np.array([[1, 2]]), labels=np.array([1])).logits.shape)
        (1, 2)
    """

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.num_labels = config.num_labels
        self.bert = TFBertMainLayer(config, name="bert")
        rate = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = keras.layers.Dropout(rate)
        self.classifier = declare_input_shape(_dense(config, config.num_labels, "classifier"),
                                              (None, config.hidden_size))

    def call(self, input_ids: Any, attention_mask: Any = None, token_type_ids: Any = None, position_ids: Any = None,
             head_mask: Any = None, labels: Any = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, training: bool = False) -> ModelOutput:
        """`logits` `(batch, num_labels)`; `loss` by `config.problem_type` (inferred as in transformers) with
        `labels`."""
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        position_ids=position_ids, head_mask=head_mask, output_attentions=output_attentions,
                        output_hidden_states=output_hidden_states, training=training)
        logits = self.classifier(self.dropout(out["pooler_output"], training=training))
        loss = None if labels is None else _classification_loss(self.config, logits, ops.convert_to_tensor(labels))
        return _with_loss(out, logits, loss)


__all__ = [
    "TFBertForMaskedLM",
    "TFBertForSequenceClassification",
    "TFBertMainLayer",
    "TFBertModel",
    "TFBertPreTrainedModel",
]
