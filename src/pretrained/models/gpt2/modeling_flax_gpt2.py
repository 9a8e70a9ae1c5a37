"""GPT-2 in Flax NNX, state-compatible with transformers' PyTorch GPT-2 (same canonical keys, `Conv1D` layout).

The projections are [`FlaxConv1D`][pretrained.flax.layers.FlaxConv1D]s; the LM head reads the word embeddings
through `nnx.Embed.attend` (tied), so `lm_head.weight` is never stored. Generation uses a fixed-size cache
([`StaticCache`][pretrained.generation.static.StaticCache]) and compiles the whole loop with `jax.jit`.

Example:
    >>> import jax.numpy as jnp
    >>> from pretrained.models.gpt2 import GPT2Config, FlaxGPT2LMHeadModel
    >>> model = FlaxGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32))
    >>> model(jnp.array([[1, 2, 3]])).logits.shape
    (1, 3, 50)
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from pretrained.flax.generation import FlaxGenerationMixin, StaticCache, update_cache
from pretrained.flax.layers import FlaxConv1D
from pretrained.flax.modeling import FlaxPreTrainedModel
from pretrained.models.bert.modeling_flax_bert import (  # the same activations and losses as v4's heads
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

from .configuration_gpt2 import GPT2Config


class _Layers:
    """Keyword bundle for building layers: dtypes, initialiser, rngs."""

    def __init__(self, config: GPT2Config, rngs: nnx.Rngs, dtype: Any, param_dtype: Any) -> None:
        self.config, self.rngs, self.dtype, self.param_dtype = config, rngs, dtype, param_dtype
        self.init = nnx.initializers.normal(stddev=config.initializer_range)

    def conv1d(self, nf: int, nx: int) -> FlaxConv1D:
        return FlaxConv1D(nf, nx, rngs=self.rngs, initializer_range=self.config.initializer_range, dtype=self.dtype,
                          param_dtype=self.param_dtype)

    def embed(self, num: int) -> nnx.Embed:
        return nnx.Embed(num, self.config.n_embd, embedding_init=self.init, dtype=self.dtype,
                         param_dtype=self.param_dtype, rngs=self.rngs)

    def layer_norm(self) -> nnx.LayerNorm:
        return nnx.LayerNorm(self.config.n_embd, epsilon=self.config.layer_norm_epsilon, dtype=self.dtype,
                             param_dtype=self.param_dtype, rngs=self.rngs)

    def linear(self, outputs: int) -> nnx.Linear:
        return nnx.Linear(self.config.n_embd, outputs, use_bias=False, kernel_init=self.init, dtype=self.dtype,
                          param_dtype=self.param_dtype, rngs=self.rngs)


def attention_allowed(attention_mask: jax.Array | None, query_length: int, key_length: int,
                      offset: Any) -> jax.Array:
    """(batch or 1, 1, query, key) bools: causal (query i sits at position `offset + i`) and not padding."""
    queries = jnp.arange(query_length)[:, None] + offset
    allowed = (jnp.arange(key_length)[None, :] <= queries)[None, None]
    if attention_mask is not None:
        allowed = allowed & (jnp.asarray(attention_mask)[:, None, None, :key_length] != 0)
    return allowed


class FlaxGPT2Attention(nnx.Module):
    """Causal self-attention: `c_attn` (query, key, value), `c_proj`; writes to a static cache when given one."""

    def __init__(self, config: GPT2Config, make: _Layers, layer_idx: int = 0) -> None:
        self.num_heads, self.head_dim = config.n_head, config.n_embd // config.n_head
        scale = 1.0 / math.sqrt(self.head_dim) if config.scale_attn_weights else 1.0
        self.scale = scale / (layer_idx + 1 if config.scale_attn_by_inverse_layer_idx else 1)
        self.c_attn = make.conv1d(3 * config.n_embd, config.n_embd)
        self.c_proj = make.conv1d(config.n_embd, config.n_embd)
        self.attn_dropout = nnx.Dropout(config.attn_pdrop)
        self.resid_dropout = nnx.Dropout(config.resid_pdrop)

    def _heads(self, x: jax.Array) -> jax.Array:
        return x.reshape(*x.shape[:2], self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def __call__(self, hidden: jax.Array, allowed: jax.Array, layer_past: Any = None, cache_index: Any = None,
                 head_mask: jax.Array | None = None, rngs: nnx.Rngs | None = None) -> tuple[jax.Array, Any, Any]:
        query, key, value = (self._heads(t) for t in jnp.split(self.c_attn(hidden), 3, axis=-1))
        present = None
        if layer_past is not None:
            key, value = update_cache(layer_past[0], key, cache_index), update_cache(layer_past[1], value, cache_index)
            present = (key, value)
        scores = jnp.einsum("bhqd,bhkd->bhqk", query, key.astype(query.dtype)) * self.scale
        scores = jnp.where(allowed, scores, jnp.finfo(scores.dtype).min)
        probs = self.attn_dropout(jax.nn.softmax(scores, axis=-1), rngs=rngs)
        if head_mask is not None:
            probs = probs * head_mask
        context = jnp.einsum("bhqk,bhkd->bhqd", probs, value.astype(probs.dtype)).transpose(0, 2, 1, 3)
        context = context.reshape(*context.shape[:2], self.num_heads * self.head_dim)
        return self.resid_dropout(self.c_proj(context), rngs=rngs), present, probs


class FlaxGPT2MLP(nnx.Module):
    def __init__(self, config: GPT2Config, make: _Layers) -> None:
        self.c_fc = make.conv1d(config.inner_dim, config.n_embd)
        self.c_proj = make.conv1d(config.n_embd, config.inner_dim)
        self.activation_function = config.activation_function
        self.dropout = nnx.Dropout(config.resid_pdrop)

    def __call__(self, hidden: jax.Array, rngs: nnx.Rngs | None = None) -> jax.Array:
        return self.dropout(self.c_proj(ACT2FN[self.activation_function](self.c_fc(hidden))), rngs=rngs)


class FlaxGPT2Block(nnx.Module):
    def __init__(self, config: GPT2Config, make: _Layers, layer_idx: int = 0) -> None:
        self.ln_1 = make.layer_norm()
        self.attn = FlaxGPT2Attention(config, make, layer_idx)
        self.ln_2 = make.layer_norm()
        self.mlp = FlaxGPT2MLP(config, make)

    def __call__(self, hidden: jax.Array, allowed: jax.Array, layer_past: Any = None, cache_index: Any = None,
                 head_mask: jax.Array | None = None, rngs: nnx.Rngs | None = None) -> tuple[jax.Array, Any, Any]:
        attended, present, probs = self.attn(self.ln_1(hidden), allowed, layer_past, cache_index, head_mask, rngs)
        hidden = hidden + attended
        return hidden + self.mlp(self.ln_2(hidden), rngs), present, probs


class FlaxGPT2PreTrainedModel(FlaxPreTrainedModel):
    """Shared plumbing of the Flax GPT-2 classes: config class, prefix, layer factory, the static cache."""

    config_class = GPT2Config
    base_model_prefix = "transformer"
    _keys_to_ignore_on_load_unexpected = [r"h\.\d+\.attn\.bias$", r"h\.\d+\.attn\.masked_bias$"]
    # mesh= loads: attention and MLP split over the mesh axis "tp" (Conv1D weights are (in, out))
    _partition_rules = [
        (r"(attn/c_attn|mlp/c_fc)/weight$", (None, "tp")),
        (r"(attn/c_attn|mlp/c_fc)/bias$", ("tp",)),
        (r"(attn|mlp)/c_proj/weight$", ("tp", None)),
    ]

    def _make(self) -> _Layers:
        return _Layers(self.config, self.rngs, self.dtype, self.param_dtype)

    def init_cache(self, batch_size: int, max_length: int) -> StaticCache:
        """An empty [`StaticCache`][pretrained.generation.static.StaticCache] for `generate()` (v4's name)."""
        config = self.config
        zeros = jnp.zeros((batch_size, config.n_head, max_length, config.n_embd // config.n_head),
                          self.dtype or jnp.float32)
        return StaticCache(jnp.asarray(0, jnp.int32), tuple((zeros, zeros) for _ in range(config.n_layer)))


class FlaxGPT2Model(FlaxGPT2PreTrainedModel):
    """The bare GPT-2 decoder (`wte`, `wpe`, `h`, `ln_f`): `BaseModelOutputWithPastAndCrossAttentions`
    (`last_hidden_state`, `past_key_values` given a cache, `hidden_states` / `attentions` on request), or its tuple
    with `return_dict=False`.

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.gpt2 import GPT2Config, FlaxGPT2Model
        >>> model = FlaxGPT2Model(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2))
        >>> model(jnp.array([[1, 2]])).last_hidden_state.shape
        (1, 2, 16)
        >>> len(model(jnp.array([[1, 2]]), output_hidden_states=True, return_dict=False))
        2
    """

    def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        make = self._make()
        self.wte = make.embed(config.vocab_size)
        self.wpe = make.embed(config.n_positions)
        self.drop = nnx.Dropout(config.embd_pdrop)
        self.h = nnx.List([FlaxGPT2Block(config, make, i) for i in range(config.n_layer)])
        self.ln_f = make.layer_norm()
        self.post_init()

    def get_input_embeddings(self) -> nnx.Embed:
        return self.wte

    def set_input_embeddings(self, value: nnx.Embed) -> None:
        self.wte = value

    def __call__(
        self,
        input_ids: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        past_key_values: StaticCache | None = None,
        token_type_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        rngs: nnx.Rngs | None = None,
    ) -> BaseModelOutputWithPastAndCrossAttentions | tuple[Any, ...]:
        """Decode `input_ids` (batch, length); with a `past_key_values` cache, `attention_mask` spans the cache."""
        config = self.config
        flags = output_flags(config, output_attentions, output_hidden_states, return_dict)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You have to specify exactly one of input_ids or inputs_embeds")
        hidden = self.wte(jnp.asarray(input_ids)) if inputs_embeds is None else jnp.asarray(inputs_embeds)
        length = hidden.shape[1]
        cached = past_key_values is not None
        offset = past_key_values.index if cached else 0
        if not cached and length > config.n_positions:
            raise ValueError(f"sequence length {length} exceeds the position table (n_positions={config.n_positions})")
        if position_ids is None:
            position_ids = (jnp.arange(length) + offset)[None, :]
        hidden = hidden + self.wpe(jnp.asarray(position_ids))
        if token_type_ids is not None:
            hidden = hidden + self.wte(jnp.asarray(token_type_ids))
        hidden = self.drop(hidden, rngs=rngs)
        key_length = past_key_values.layers[0][0].shape[2] if cached else length
        allowed = attention_allowed(attention_mask, length, key_length, offset)
        head_masks = self.get_head_mask(head_mask, config.n_layer)
        states, presents, attentions = [], [], []
        for i, block in enumerate(self.h):
            states.append(hidden)
            layer_past = past_key_values.layers[i] if cached else None
            hidden, present, probs = block(hidden, allowed, layer_past, offset, head_masks[i], rngs)
            presents.append(present)
            attentions.append(probs)
        hidden = self.ln_f(hidden)
        keep_cache = cached and (use_cache is None or use_cache)
        out = BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden,
            past_key_values=StaticCache(offset + length, tuple(presents)) if keep_cache else None,
            hidden_states=(*states, hidden) if flags.output_hidden_states else None,
            attentions=tuple(attentions) if flags.output_attentions else None)
        return returned(out, flags.return_dict)


class FlaxGPT2LMHeadModel(FlaxGPT2PreTrainedModel, FlaxGenerationMixin):
    """GPT-2 with its LM head (tied to `transformer.wte`): `CausalLMOutputWithCrossAttentions` with `logits`
    (batch, length, vocab) and the next-token `loss` with `labels`, or its tuple with `return_dict=False`. Generates
    with `generate()` (compiled with `jax.jit`).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.gpt2 import GPT2Config, FlaxGPT2LMHeadModel
        >>> model = FlaxGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2))
        >>> out = model(jnp.array([[1, 2, 3]]), labels=jnp.array([[1, 2, 3]]))
        >>> out.logits.shape, out.loss.shape
        ((1, 3, 50), ())
    """

    _tied_weights_keys = ["lm_head.weight"]
    _keys_to_ignore_on_load_unexpected = [*FlaxGPT2PreTrainedModel._keys_to_ignore_on_load_unexpected,
                                          r"^lm_head\.weight$"]

    def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.transformer = FlaxGPT2Model(config, rngs=self.rngs, dtype=dtype, param_dtype=param_dtype)
        self.lm_head = None if config.tie_word_embeddings else self._make().linear(config.vocab_size)
        self.post_init()

    def get_output_embeddings(self) -> nnx.Module:
        return self.transformer.get_input_embeddings() if self.lm_head is None else self.lm_head

    def set_output_embeddings(self, value: nnx.Module) -> None:
        self.lm_head = nnx.data(value)  # the attribute may have started as None (static)

    def __call__(
        self,
        input_ids: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        past_key_values: StaticCache | None = None,
        token_type_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        labels: jax.Array | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        rngs: nnx.Rngs | None = None,
    ) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        """`logits` (batch, length, vocab); `loss` (labels shifted inside, -100 ignored) with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.transformer(input_ids, attention_mask, position_ids, past_key_values, token_type_ids, head_mask,
                               inputs_embeds, use_cache, flags.output_attentions, flags.output_hidden_states,
                               return_dict=True, rngs=rngs)
        hidden = out.last_hidden_state
        logits = self.transformer.wte.attend(hidden) if self.lm_head is None else self.lm_head(hidden)
        loss = None if labels is None else _masked_lm_loss(logits[:, :-1], jnp.asarray(labels)[:, 1:])
        return returned(CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions, cross_attentions=out.cross_attentions), flags.return_dict)


class FlaxGPT2ForSequenceClassification(FlaxGPT2PreTrainedModel):
    """GPT-2 with a classifier (`score`, no bias) on the last non-padding token (`config.pad_token_id`):
    `SequenceClassifierOutputWithPast` (or its tuple with `return_dict=False`).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.gpt2 import GPT2Config, FlaxGPT2ForSequenceClassification
        >>> config = GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, num_labels=3, pad_token_id=0)
        >>> FlaxGPT2ForSequenceClassification(config)(jnp.array([[5, 6, 0], [7, 8, 9]])).logits.shape
        (2, 3)
    """

    def __init__(self, config: GPT2Config, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.num_labels = config.num_labels
        self.transformer = FlaxGPT2Model(config, rngs=self.rngs, dtype=dtype, param_dtype=param_dtype)
        self.score = self._make().linear(config.num_labels)
        self.post_init()

    def __call__(
        self,
        input_ids: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        past_key_values: StaticCache | None = None,
        token_type_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        labels: jax.Array | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        rngs: nnx.Rngs | None = None,
    ) -> SequenceClassifierOutputWithPast | tuple[Any, ...]:
        """`logits` (batch, num_labels) at each row's last non-padding token; `loss` with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.transformer(input_ids, attention_mask, position_ids, past_key_values, token_type_ids, head_mask,
                               inputs_embeds, use_cache, flags.output_attentions, flags.output_hidden_states,
                               return_dict=True, rngs=rngs)
        logits = self.score(out.last_hidden_state)
        batch, length = logits.shape[:2]
        pad = self.config.pad_token_id
        if pad is None and batch != 1:
            raise ValueError("Cannot handle batch sizes > 1 if no padding token is defined.")
        if pad is None or input_ids is None:
            last = jnp.full((batch,), length - 1)
        else:
            last = jnp.argmax(jnp.arange(length)[None, :] * (jnp.asarray(input_ids) != pad), axis=-1)
        pooled = logits[jnp.arange(batch), last]
        loss = None if labels is None else _classification_loss(self.config, pooled, labels)
        return returned(SequenceClassifierOutputWithPast(
            loss=loss, logits=pooled, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions), flags.return_dict)


__all__ = ["FlaxGPT2ForSequenceClassification", "FlaxGPT2LMHeadModel", "FlaxGPT2Model", "FlaxGPT2PreTrainedModel"]
