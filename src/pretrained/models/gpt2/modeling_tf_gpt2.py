"""GPT-2 in TensorFlow (Keras 3), with the canonical keys of transformers' PyTorch GPT-2.

Layers are named like the PyTorch modules (`transformer`, `wte`, `h`, `0`, `attn`, `c_attn`, ...) and the
projections are [`TFConv1D`][pretrained.tf.layers.TFConv1D]s (weight stored (in, out), as the checkpoint). The LM
head multiplies by the word-embedding matrix itself (tied), so `lm_head.weight` is never stored; with
`config.tie_word_embeddings=False` the model gets its own `lm_head`. Generation uses a fixed-size cache
([`StaticCache`][pretrained.generation.static.StaticCache]), so `tf.function(model.generate, jit_compile=True)`
compiles the whole loop.

Example:
    >>> import numpy as np
    >>> from pretrained.models.gpt2 import GPT2Config, TFGPT2LMHeadModel
    >>> model = TFGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32))
    >>> tuple(model(np.array([[1, 2, 3]])).logits.shape)
    (1, 3, 50)
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from pretrained.models.bert.modeling_tf_bert import (  # the same activations and losses as v4's TF heads
    ACT2FN,
    _classification_loss,
    _masked_lm_loss,
)
from pretrained.outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    SequenceClassifierOutputWithPast,
    output_flags,
    returned,
)
from pretrained.tf.generation import StaticCache, TFGenerationMixin, update_cache
from pretrained.tf.layers import TFConv1D
from pretrained.tf.modeling import TFPreTrainedModel
from pretrained.tf.module_utils import TFModuleUtilsMixin
from pretrained.tf.variables import ContainerLayer, LayerList, declare_input_shape, replace_layer

from .configuration_gpt2 import GPT2Config


def _layer_norm(config: GPT2Config, name: str) -> keras.layers.LayerNormalization:
    layer = keras.layers.LayerNormalization(epsilon=config.layer_norm_epsilon, name=name)
    return declare_input_shape(layer, (None, None, config.n_embd))


def _embedding(config: GPT2Config, rows: int, name: str) -> keras.layers.Embedding:
    init = keras.initializers.RandomNormal(stddev=config.initializer_range)
    return declare_input_shape(keras.layers.Embedding(rows, config.n_embd, embeddings_initializer=init, name=name),
                               None)


def attention_allowed(attention_mask: Any, query_length: int, key_length: int, offset: Any) -> Any:
    """(batch or 1, 1, query, key) bools: causal (query i sits at position `offset + i`) and not padding."""
    queries = tf.range(query_length)[:, None] + tf.cast(offset, tf.int32)
    allowed = (tf.range(key_length)[None, :] <= queries)[None, None]
    if attention_mask is not None:
        allowed = allowed & (tf.cast(attention_mask, tf.int32)[:, None, None, :key_length] != 0)
    return allowed


class TFGPT2Attention(ContainerLayer):
    """Causal self-attention: `c_attn` (query, key, value), `c_proj`; writes to a static cache when given one."""

    def __init__(self, config: GPT2Config, layer_idx: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.num_heads, self.head_dim = config.n_head, config.n_embd // config.n_head
        self.embed_dim = config.n_embd
        scale = 1.0 / math.sqrt(self.head_dim) if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1 if config.scale_attn_by_inverse_layer_idx else 1)
        self.c_attn = TFConv1D(3 * config.n_embd, config.n_embd, config.initializer_range, name="c_attn")
        self.c_proj = TFConv1D(config.n_embd, config.n_embd, config.initializer_range, name="c_proj")
        self.attn_dropout = keras.layers.Dropout(config.attn_pdrop)
        self.resid_dropout = keras.layers.Dropout(config.resid_pdrop)

    def _heads(self, x: Any) -> Any:
        return ops.transpose(ops.reshape(x, (ops.shape(x)[0], -1, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def call(self, hidden_states: Any, allowed: Any, layer_past: Any = None, cache_index: Any = None,
             head_mask: Any = None, training: bool = False) -> tuple[Any, Any, Any]:
        query, key, value = (self._heads(t) for t in ops.split(self.c_attn(hidden_states), 3, axis=-1))
        present = None
        if layer_past is not None:
            key, value = update_cache(layer_past[0], key, cache_index), update_cache(layer_past[1], value, cache_index)
            present = (key, value)
        scores = ops.matmul(query, ops.transpose(key, (0, 1, 3, 2))) * self.scale
        scores = ops.where(allowed, scores, ops.cast(tf.as_dtype(scores.dtype).min, scores.dtype))
        probs = self.attn_dropout(ops.softmax(scores, axis=-1), training=training)
        if head_mask is not None:
            probs = probs * ops.cast(head_mask, probs.dtype)
        context = ops.transpose(ops.matmul(probs, value), (0, 2, 1, 3))
        context = ops.reshape(context, (ops.shape(context)[0], -1, self.embed_dim))
        return self.resid_dropout(self.c_proj(context), training=training), present, probs


class TFGPT2MLP(ContainerLayer):
    def __init__(self, config: GPT2Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.c_fc = TFConv1D(config.inner_dim, config.n_embd, config.initializer_range, name="c_fc")
        self.c_proj = TFConv1D(config.n_embd, config.inner_dim, config.initializer_range, name="c_proj")
        self.act = ACT2FN[config.activation_function]
        self.dropout = keras.layers.Dropout(config.resid_pdrop)

    def call(self, hidden_states: Any, training: bool = False) -> Any:
        return self.dropout(self.c_proj(self.act(self.c_fc(hidden_states))), training=training)


class TFGPT2Block(ContainerLayer):
    def __init__(self, config: GPT2Config, layer_idx: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ln_1 = _layer_norm(config, "ln_1")
        self.attn = TFGPT2Attention(config, layer_idx, name="attn")
        self.ln_2 = _layer_norm(config, "ln_2")
        self.mlp = TFGPT2MLP(config, name="mlp")

    def call(self, hidden_states: Any, allowed: Any, layer_past: Any = None, cache_index: Any = None,
             head_mask: Any = None, training: bool = False) -> tuple[Any, Any, Any]:
        attended, present, probs = self.attn(self.ln_1(hidden_states), allowed=allowed, layer_past=layer_past,
                                             cache_index=cache_index, head_mask=head_mask, training=training)
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.ln_2(hidden_states), training=training), present, probs


class TFGPT2MainLayer(ContainerLayer, TFModuleUtilsMixin):
    """The decoder as a Keras layer (`transformer` inside the task models): `wte`, `wpe`, `h.{i}`, `ln_f`."""

    def __init__(self, config: GPT2Config, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = config
        self.wte = _embedding(config, config.vocab_size, "wte")
        self.wpe = _embedding(config, config.n_positions, "wpe")
        self.drop = keras.layers.Dropout(config.embd_pdrop)
        self.h = LayerList([TFGPT2Block(config, i, name=str(i)) for i in range(config.n_layer)], name="h")
        self.ln_f = _layer_norm(config, "ln_f")

    def get_input_embeddings(self) -> keras.layers.Embedding:
        return self.wte

    def set_input_embeddings(self, value: keras.layers.Embedding) -> None:
        replace_layer(self, "wte", value)

    def call(self, input_ids: Any = None, past_key_values: StaticCache | None = None, attention_mask: Any = None,
             token_type_ids: Any = None, position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
             use_cache: bool | None = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, return_dict: bool | None = None,
             training: bool = False) -> BaseModelOutputWithPastAndCrossAttentions | tuple[Any, ...]:
        config = self.config
        flags = output_flags(config, output_attentions, output_hidden_states, return_dict)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You have to specify exactly one of input_ids or inputs_embeds")
        hidden = self.wte(input_ids) if inputs_embeds is None else inputs_embeds
        length = hidden.shape[1] if hidden.shape[1] is not None else tf.shape(hidden)[1]  # open under serving
        cached = past_key_values is not None
        offset = past_key_values.index if cached else 0
        if not cached and isinstance(length, int) and length > config.n_positions:
            raise ValueError(f"sequence length {length} exceeds the position table (n_positions={config.n_positions})")
        if position_ids is None:
            position_ids = (tf.range(length) + tf.cast(offset, tf.int32))[None, :]
        hidden = hidden + ops.cast(self.wpe(position_ids), hidden.dtype)
        if token_type_ids is not None:
            hidden = hidden + ops.cast(self.wte(token_type_ids), hidden.dtype)
        hidden = self.drop(hidden, training=training)
        key_length = int(past_key_values.layers[0][0].shape[2]) if cached else length
        allowed = attention_allowed(attention_mask, length, key_length, offset)
        head_masks = self.get_head_mask(head_mask, config.n_layer)
        states, presents, attentions = [], [], []
        for i, block in enumerate(self.h):
            states.append(hidden)
            layer_past = past_key_values.layers[i] if cached else None
            hidden, present, probs = block(hidden, allowed=allowed, layer_past=layer_past, cache_index=offset,
                                           head_mask=head_masks[i], training=training)
            presents.append(present)
            attentions.append(probs)
        hidden = self.ln_f(hidden)
        keep_cache = cached and (use_cache is None or use_cache)
        out = BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden,
            past_key_values=StaticCache(tf.cast(offset, tf.int32) + length, tuple(presents)) if keep_cache else None,
            hidden_states=(*states, hidden) if flags.output_hidden_states else None,
            attentions=tuple(attentions) if flags.output_attentions else None)
        return returned(out, flags.return_dict)


class TFGPT2PreTrainedModel(TFPreTrainedModel):
    """Shared plumbing of the TF GPT-2 classes: config class, prefix, dummy inputs, the static cache."""

    config_class = GPT2Config
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"h\.\d+\.attn\.bias$", r"h\.\d+\.attn\.masked_bias$"]

    @property
    def dummy_inputs(self) -> dict[str, Any]:
        ids = np.array([[7, 6, 0, 0, 1], [1, 2, 3, 0, 0], [0, 0, 0, 4, 5]], np.int32) % self.config.vocab_size
        return {"input_ids": ids}

    def init_cache(self, batch_size: int, max_length: int) -> StaticCache:
        """An empty [`StaticCache`][pretrained.generation.static.StaticCache] for `generate()`."""
        config = self.config
        shape = (batch_size, config.n_head, max_length, config.n_embd // config.n_head)
        zeros = tf.zeros(shape, dtype=self.compute_dtype or "float32")
        return StaticCache(tf.constant(0, tf.int32), tuple((zeros, zeros) for _ in range(config.n_layer)))


class TFGPT2Model(TFGPT2PreTrainedModel):
    """The bare GPT-2 decoder (`transformer`): `BaseModelOutputWithPastAndCrossAttentions` (`last_hidden_state`,
    `past_key_values` given a cache, `hidden_states` / `attentions` on request), or its tuple with `return_dict=False`.

    Example:
        >>> import numpy as np
        >>> from pretrained.models.gpt2 import GPT2Config, TFGPT2Model
        >>> model = TFGPT2Model(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2))
        >>> tuple(model(np.array([[1, 2]])).last_hidden_state.shape)
        (1, 2, 16)
        >>> len(model(np.array([[1, 2]]), output_hidden_states=True, return_dict=False))
        2
    """

    def __init__(self, config: GPT2Config, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.transformer = TFGPT2MainLayer(config, name="transformer")

    def call(self, input_ids: Any = None, past_key_values: StaticCache | None = None, attention_mask: Any = None,
             token_type_ids: Any = None, position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
             use_cache: bool | None = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, return_dict: bool | None = None,
             training: bool = False) -> BaseModelOutputWithPastAndCrossAttentions | tuple[Any, ...]:
        """Decode `input_ids` (batch, length)."""
        return self.transformer(input_ids, past_key_values=past_key_values, attention_mask=attention_mask,
                                token_type_ids=token_type_ids, position_ids=position_ids, head_mask=head_mask,
                                inputs_embeds=inputs_embeds, use_cache=use_cache, output_attentions=output_attentions,
                                output_hidden_states=output_hidden_states, return_dict=return_dict,
                                training=training)


class TFGPT2LMHeadModel(TFGPT2PreTrainedModel, TFGenerationMixin):
    """GPT-2 with its LM head (tied to `transformer.wte`): `CausalLMOutputWithCrossAttentions` with `logits`
    (batch, length, vocab) and the next-token `loss` with `labels`, or its tuple with `return_dict=False`. Generates
    with `generate()` (eager, or compiled with `tf.function(jit_compile=True)`).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.gpt2 import GPT2Config, TFGPT2LMHeadModel
        >>> model = TFGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2))
        >>> out = model(np.array([[1, 2, 3]]), labels=np.array([[1, 2, 3]]))
        >>> tuple(out.logits.shape), tuple(out.loss.shape)
        ((1, 3, 50), ())
    """

    _tied_weights_keys = ["lm_head.weight"]
    # a tied head reads `transformer.wte`: a stored copy of it is not needed
    _keys_to_ignore_on_load_unexpected = [*TFGPT2PreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          r"^lm_head\.weight$"]

    def __init__(self, config: GPT2Config, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.transformer = TFGPT2MainLayer(config, name="transformer")
        self.lm_head = None
        if not config.tie_word_embeddings:
            self.lm_head = declare_input_shape(
                keras.layers.Dense(config.vocab_size, use_bias=False, name="lm_head",
                                   kernel_initializer=keras.initializers.RandomNormal(stddev=config.initializer_range)),
                (None, None, config.n_embd))

    def get_output_embeddings(self) -> keras.layers.Layer:
        return self.transformer.get_input_embeddings() if self.lm_head is None else self.lm_head

    def set_output_embeddings(self, value: keras.layers.Layer) -> None:
        replace_layer(self, "lm_head", value)

    def call(self, input_ids: Any = None, past_key_values: StaticCache | None = None, attention_mask: Any = None,
             token_type_ids: Any = None, position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
             labels: Any = None, use_cache: bool | None = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, return_dict: bool | None = None,
             training: bool = False) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        """`logits` (batch, length, vocab); `loss` (labels shifted inside, -100 ignored) with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.transformer(input_ids, past_key_values=past_key_values, attention_mask=attention_mask,
                               token_type_ids=token_type_ids, position_ids=position_ids, head_mask=head_mask,
                               inputs_embeds=inputs_embeds, use_cache=use_cache,
                               output_attentions=flags.output_attentions,
                               output_hidden_states=flags.output_hidden_states, return_dict=True, training=training)
        hidden = out.last_hidden_state
        if self.lm_head is None:
            matrix = self.transformer.wte.embeddings
            logits = ops.matmul(hidden, ops.transpose(ops.cast(matrix, hidden.dtype)))
        else:
            logits = self.lm_head(hidden)
        loss = None if labels is None else _masked_lm_loss(logits[:, :-1], ops.convert_to_tensor(labels)[:, 1:])
        return returned(CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions, cross_attentions=out.cross_attentions), flags.return_dict)


class TFGPT2ForSequenceClassification(TFGPT2PreTrainedModel):
    """GPT-2 with a classifier (`score`, no bias) on the last non-padding token (`config.pad_token_id`):
    `SequenceClassifierOutputWithPast` (or its tuple with `return_dict=False`).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.gpt2 import GPT2Config, TFGPT2ForSequenceClassification
        >>> config = GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, num_labels=3, pad_token_id=0)
        >>> tuple(TFGPT2ForSequenceClassification(config)(np.array([[5, 6, 0], [7, 8, 9]])).logits.shape)
        (2, 3)
    """

    def __init__(self, config: GPT2Config, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.num_labels = config.num_labels
        self.transformer = TFGPT2MainLayer(config, name="transformer")
        self.score = declare_input_shape(
            keras.layers.Dense(config.num_labels, use_bias=False, name="score",
                               kernel_initializer=keras.initializers.RandomNormal(stddev=config.initializer_range)),
            (None, None, config.n_embd))

    def call(self, input_ids: Any = None, past_key_values: StaticCache | None = None, attention_mask: Any = None,
             token_type_ids: Any = None, position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
             labels: Any = None, use_cache: bool | None = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, return_dict: bool | None = None,
             training: bool = False) -> SequenceClassifierOutputWithPast | tuple[Any, ...]:
        """`logits` (batch, num_labels) at each row's last non-padding token; `loss` with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.transformer(input_ids, past_key_values=past_key_values, attention_mask=attention_mask,
                               token_type_ids=token_type_ids, position_ids=position_ids, head_mask=head_mask,
                               inputs_embeds=inputs_embeds, use_cache=use_cache,
                               output_attentions=flags.output_attentions,
                               output_hidden_states=flags.output_hidden_states, return_dict=True, training=training)
        logits = self.score(out.last_hidden_state)
        batch, length = (d if d is not None else tf.shape(logits)[i] for i, d in enumerate(logits.shape[:2]))
        pad = self.config.pad_token_id
        if pad is None and batch != 1:
            raise ValueError("Cannot handle batch sizes > 1 if no padding token is defined.")
        if pad is None or input_ids is None:
            last = tf.fill(tf.reshape(batch, (1,)), length - 1)
        else:
            not_pad = tf.cast(tf.not_equal(tf.cast(input_ids, tf.int32), pad), tf.int32)
            last = tf.argmax(tf.range(length)[None, :] * not_pad, axis=-1, output_type=tf.int32)
        pooled = tf.gather(logits, last, axis=1, batch_dims=1)
        loss = None if labels is None else _classification_loss(self.config, pooled, ops.convert_to_tensor(labels))
        return returned(SequenceClassifierOutputWithPast(
            loss=loss, logits=pooled, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions), flags.return_dict)


__all__ = ["TFGPT2ForSequenceClassification", "TFGPT2LMHeadModel", "TFGPT2MainLayer", "TFGPT2Model",
           "TFGPT2PreTrainedModel"]
