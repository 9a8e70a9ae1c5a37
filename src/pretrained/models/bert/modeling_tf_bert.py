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

from collections.abc import Iterable, Mapping
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from pretrained.attention import attention_head_size
from pretrained.errors import ConfigError
from pretrained.heads import pruneable_heads_and_indices
from pretrained.outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    MaskedLMOutput,
    SequenceClassifierOutput,
    output_flags,
    returned,
)
from pretrained.tf.attention import attention_forward
from pretrained.tf.generation import StaticCache, update_cache
from pretrained.tf.modeling import TFPreTrainedModel
from pretrained.tf.module_utils import TFModuleUtilsMixin, apply_chunking_to_forward
from pretrained.tf.pruning import prune_layer_attribute
from pretrained.tf.variables import ContainerLayer, LayerList, declare_input_shape, replace_layer, replace_variable

from .configuration_bert import (
    BertConfig,
    check_cross_attention,
    check_position_embedding_type,
    missing_cross_attention_message,
)

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
    """Word + position + token-type embeddings, then LayerNorm and dropout (or `inputs_embeds` instead of the word
    embeddings)."""

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        check_position_embedding_type(config)
        self.word_embeddings = _embedding(config, config.vocab_size, "word_embeddings")
        self.position_embeddings = _embedding(config, config.max_position_embeddings, "position_embeddings")
        self.token_type_embeddings = _embedding(config, config.type_vocab_size, "token_type_embeddings")
        self.LayerNorm = _layer_norm(config)
        self.dropout = keras.layers.Dropout(config.hidden_dropout_prob)

    def call(self, input_ids: Any = None, token_type_ids: Any = None, position_ids: Any = None,
             inputs_embeds: Any = None, training: bool = False) -> Any:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        if position_ids is None:
            position_ids = ops.arange(ops.shape(inputs_embeds)[1])[None, :]
        if token_type_ids is None:
            token_type_ids = ops.zeros(ops.shape(inputs_embeds)[:2], "int32")
        embeddings = (inputs_embeds + self.token_type_embeddings(token_type_ids)
                      + self.position_embeddings(position_ids))
        return self.dropout(self.LayerNorm(embeddings), training=training)


class TFBertSelfAttention(ContainerLayer):
    """Multi-head scaled dot-product attention over `num_heads` heads (fewer than the config's once pruned), run by
    the implementation `attn_implementation` names (`config._attn_implementation`: "eager" or "sdpa", see
    [`pretrained.tf.attention`][pretrained.tf.attention])."""

    def __init__(self, config: BertConfig, num_heads: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_attention_heads = num_heads
        self.attention_head_size = attention_head_size(config.hidden_size, config.num_attention_heads)
        self.all_head_size = num_heads * self.attention_head_size
        self.query = _dense(config, self.all_head_size, "query")
        self.key = _dense(config, self.all_head_size, "key")
        self.value = _dense(config, self.all_head_size, "value")
        self.dropout = keras.layers.Dropout(config.attention_probs_dropout_prob)
        self.attn_implementation = config._attn_implementation

    def _heads(self, x: Any) -> Any:
        return ops.reshape(x, (ops.shape(x)[0], -1, self.num_attention_heads, self.attention_head_size))

    def call(self, hidden_states: Any, attention_mask: Any = None, head_mask: Any = None,
             output_attentions: bool = False, training: bool = False, key_value_states: Any = None,
             layer_past: Any = None, cache_index: Any = None) -> tuple[Any, Any, Any]:
        """`(context (batch, seq, all_head_size), attention probabilities or None, the layer's cache or None)`:
        keys and values from `key_value_states` (cross-attention), or written into `layer_past` (a static cache,
        (batch, heads, max_length, head_dim)) at `cache_index`."""
        source = hidden_states if key_value_states is None else key_value_states
        key, value = self._heads(self.key(source)), self._heads(self.value(source))
        present = None
        if layer_past is not None:
            present = tuple(update_cache(past, ops.transpose(new, (0, 2, 1, 3)), cache_index)
                            for past, new in zip(layer_past, (key, value)))
            key, value = (ops.transpose(cached, (0, 2, 1, 3)) for cached in present)
        context, probs = attention_forward(
            self.attn_implementation, self._heads(self.query(hidden_states)), key, value, attention_mask,
            head_mask=head_mask, dropout=self.dropout, training=training, output_attentions=output_attentions,
            caller=type(self).__name__)
        return ops.reshape(context, (ops.shape(context)[0], -1, self.all_head_size)), probs, present


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
             output_attentions: bool = False, training: bool = False, key_value_states: Any = None,
             layer_past: Any = None, cache_index: Any = None) -> tuple[Any, Any, Any]:
        context, probs, present = self.self_attention(
            hidden_states, attention_mask=attention_mask, head_mask=head_mask, output_attentions=output_attentions,
            training=training, key_value_states=key_value_states, layer_past=layer_past, cache_index=cache_index)
        return self.dense_output(context, hidden_states, training=training), probs, present


class TFBertIntermediate(ContainerLayer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dense = _dense(config, config.intermediate_size, "dense")
        self.activation = _activation(config.hidden_act)

    def call(self, hidden_states: Any) -> Any:
        return self.activation(self.dense(hidden_states))


class TFBertLayer(ContainerLayer):
    """One transformer block: `attention`, cross-attention over the encoder's states (`crossattention`, when
    `config.add_cross_attention`), then the feed-forward (`intermediate`, `output`) in chunks of
    `config.chunk_size_feed_forward` positions (0: at once)."""

    def __init__(self, config: BertConfig, pruned_heads: Iterable[int] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.attention = TFBertAttention(config, pruned_heads, name="attention")
        if check_cross_attention(config):
            self.crossattention = TFBertAttention(config, name="crossattention")
        self.intermediate = TFBertIntermediate(config, name="intermediate")
        self.bert_output = TFBertOutput(config, config.intermediate_size, name="output")

    def call(self, hidden_states: Any, attention_mask: Any = None, head_mask: Any = None,
             output_attentions: bool = False, training: bool = False, encoder_hidden_states: Any = None,
             encoder_attention_mask: Any = None, layer_past: Any = None, cache_index: Any = None) -> tuple:
        """`(output, self-attention probabilities, cross-attention probabilities, the layer's cache)`."""
        attended, probs, present = self.attention(
            hidden_states, attention_mask=attention_mask, head_mask=head_mask, output_attentions=output_attentions,
            training=training, layer_past=layer_past, cache_index=cache_index)
        cross_probs = None
        if encoder_hidden_states is not None:
            if not hasattr(self, "crossattention"):
                raise ValueError(missing_cross_attention_message(self))
            attended, cross_probs, _ = self.crossattention(
                attended, attention_mask=encoder_attention_mask, head_mask=head_mask,
                output_attentions=output_attentions, training=training, key_value_states=encoder_hidden_states)

        def feed_forward(chunk: Any) -> Any:
            return self.bert_output(self.intermediate(chunk), chunk, training=training)

        return apply_chunking_to_forward(feed_forward, self.chunk_size_feed_forward, 1, attended), probs, cross_probs, \
            present


class TFBertEncoder(ContainerLayer):
    """`layer.0` ... `layer.{n-1}`; layers listed in `config.pruned_heads` are built with those heads removed."""

    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        count = config.num_hidden_layers
        pruned = {int(layer) % count: heads for layer, heads in (config.pruned_heads or {}).items()}
        self.layer = LayerList(
            [TFBertLayer(config, pruned.get(i, ()), name=str(i)) for i in range(count)], name="layer")

    def call(self, hidden_states: Any, attention_mask: Any = None, head_mask: Any = None,
             output_attentions: bool = False, output_hidden_states: bool = False, training: bool = False,
             encoder_hidden_states: Any = None, encoder_attention_mask: Any = None,
             past_key_values: StaticCache | None = None) -> BaseModelOutputWithPoolingAndCrossAttentions:
        states, attentions, crossed, presents = [], [], [], []
        for i, block in enumerate(self.layer):
            states.append(hidden_states)
            hidden_states, probs, cross, present = block(
                hidden_states, attention_mask=attention_mask, head_mask=head_mask[i],
                output_attentions=output_attentions, training=training, encoder_hidden_states=encoder_hidden_states,
                encoder_attention_mask=encoder_attention_mask,
                layer_past=None if past_key_values is None else past_key_values.layers[i],
                cache_index=None if past_key_values is None else past_key_values.index)
            attentions.append(probs)
            crossed.append(cross)
            presents.append(present)
        cross_attentions = output_attentions and encoder_hidden_states is not None
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden_states,
            hidden_states=(*states, hidden_states) if output_hidden_states else None,
            past_key_values=None if past_key_values is None else tuple(presents),
            attentions=tuple(attentions) if output_attentions else None,
            cross_attentions=tuple(crossed) if cross_attentions else None)


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

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
             encoder_hidden_states: Any = None, encoder_attention_mask: Any = None,
             past_key_values: StaticCache | None = None, use_cache: bool | None = None,
             output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, training: bool = False) -> Any:
        """Encode `input_ids` `(batch, seq)` (or `inputs_embeds` `(batch, seq, hidden)`); a decoder
        (`config.is_decoder`) masks causally and, given a static `past_key_values` cache, writes to it (the
        `attention_mask` then spans the whole cache)."""
        config = self.config
        flags = output_flags(config, output_attentions, output_hidden_states, return_dict)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if input_ids is not None:
            self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)
        batch, length = ops.shape(input_ids if input_ids is not None else inputs_embeds)[:2]
        offset = 0 if past_key_values is None else past_key_values.index
        key_length = length if past_key_values is None else ops.shape(past_key_values.layers[0][0])[2]
        if attention_mask is None:
            attention_mask = ops.ones((batch, key_length), "int32")
        if config.is_decoder and len(attention_mask.shape) == 2:  # causal: query i sits at position offset + i
            causal = ops.arange(key_length)[None, :] <= ops.arange(length)[:, None] + ops.cast(offset, "int32")
            attention_mask = ops.cast(causal, "int32")[None] * ops.cast(attention_mask, "int32")[:, None, :]
        if position_ids is None and past_key_values is not None:
            position_ids = (ops.arange(length) + ops.cast(offset, "int32"))[None, :]
        extended = self.get_extended_attention_mask(attention_mask, None)
        if encoder_hidden_states is not None:
            if encoder_attention_mask is None:
                encoder_attention_mask = ops.ones(ops.shape(encoder_hidden_states)[:2], "int32")
            encoder_attention_mask = self.invert_attention_mask(encoder_attention_mask)
        head_mask = self.get_head_mask(head_mask, config.num_hidden_layers)
        embedded = self.embeddings(input_ids, token_type_ids=token_type_ids, position_ids=position_ids,
                                   inputs_embeds=inputs_embeds, training=training)
        out = self.encoder(embedded, attention_mask=extended, head_mask=head_mask,
                           output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                           training=training, encoder_hidden_states=encoder_hidden_states,
                           encoder_attention_mask=encoder_attention_mask, past_key_values=past_key_values)
        if out.past_key_values is not None:
            cached = use_cache is not False and config.is_decoder
            out.past_key_values = StaticCache(ops.cast(offset, "int32") + length, out.past_key_values) if cached \
                else None
        if self.pooler is not None:
            out.pooler_output = self.pooler(out.last_hidden_state)
        return returned(out, flags.return_dict)


class TFBertMainLayer(_TFBertBody, ContainerLayer, TFModuleUtilsMixin):
    """The encoder as a Keras layer (named `bert` inside the task models)."""

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self._build_body(config, add_pooling_layer)


class TFBertPreTrainedModel(TFPreTrainedModel):
    """Shared plumbing of the TF BERT classes: config class, prefix, dummy inputs, both attention implementations
    (`attn_implementation="eager"` or `"sdpa"`, the default)."""

    config_class = BertConfig
    base_model_prefix = "bert"
    _supports_sdpa = True

    @property
    def dummy_inputs(self) -> dict[str, Any]:
        ids = np.array([[7, 6, 0, 0, 1], [1, 2, 3, 0, 0], [0, 0, 0, 4, 5]], np.int32) % self.config.vocab_size
        return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}


class TFBertModel(_TFBertBody, TFBertPreTrainedModel):
    """The bare BERT encoder (`embeddings`, `encoder`, `pooler`): `BaseModelOutputWithPoolingAndCrossAttentions`
    (`last_hidden_state`, `pooler_output` and, on request, `hidden_states` / `attentions`), or its tuple with
    `return_dict=False`.

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

    def get_lm_head(self) -> keras.layers.Layer:
        return self.cls.predictions

    def get_bias(self) -> dict[str, Any]:
        self._ensure_built()
        return {"bias": self.cls.predictions.bias}

    def set_bias(self, value: Mapping[str, np.ndarray]) -> None:
        replace_variable(self.cls.predictions, "bias", np.asarray(value["bias"]))
        self.cls.predictions.vocab_size = int(value["bias"].shape[0])

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None, labels: Any = None,
             output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, training: bool = False) -> Any:
        """`MaskedLMOutput`: `logits` `(batch, seq, vocab)`; `loss` (mean cross-entropy over labels != -100) when
        `labels` given."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True, training=training)
        matrix = self.bert.get_input_embeddings().embeddings if self.cls.predictions.decoder is None else None
        logits = self.cls(out.last_hidden_state, embedding_matrix=matrix)
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                       attentions=out.attentions), flags.return_dict)


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

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None, labels: Any = None,
             output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, training: bool = False) -> Any:
        """`SequenceClassifierOutput`: `logits` `(batch, num_labels)`; `loss` by `config.problem_type` (inferred as
        in transformers) with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True, training=training)
        logits = self.classifier(self.dropout(out.pooler_output, training=training))
        loss = None if labels is None else _classification_loss(self.config, logits, ops.convert_to_tensor(labels))
        return returned(SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                 attentions=out.attentions), flags.return_dict)


__all__ = [
    "TFBertForMaskedLM",
    "TFBertForSequenceClassification",
    "TFBertMainLayer",
    "TFBertModel",
    "TFBertPreTrainedModel",
]
