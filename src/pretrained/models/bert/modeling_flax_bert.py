"""A BERT-layout encoder in Flax NNX, state-compatible with transformers' PyTorch BERT (same canonical keys).

Example:
    >>> import jax.numpy as jnp
    >>> from pretrained.models.bert import BertConfig, FlaxBertModel
    >>> config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
    ...                     intermediate_size=64)
    >>> model = FlaxBertModel(config).eval()
    >>> model(jnp.array([[1, 2, 3]])).last_hidden_state.shape
    (1, 3, 32)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from pretrained.attention import attention_head_size
from pretrained.flax.attention import attention_forward
from pretrained.flax.embeddings import resize_bias
from pretrained.flax.generation import StaticCache, update_cache
from pretrained.flax.modeling import FlaxPreTrainedModel
from pretrained.flax.module_utils import apply_chunking_to_forward
from pretrained.flax.pruning import prune_linear_layer, pruneable_heads_and_indices
from pretrained.outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    MaskedLMOutput,
    SequenceClassifierOutput,
    output_flags,
    returned,
)

from .configuration_bert import (
    BertConfig,
    check_cross_attention,
    check_position_embedding_type,
    missing_cross_attention_message,
)

ACT2FN = {
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),
    "gelu_new": lambda x: jax.nn.gelu(x, approximate=True),
    "gelu_pytorch_tanh": lambda x: jax.nn.gelu(x, approximate=True),
    "relu": jax.nn.relu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "tanh": jnp.tanh,
}


def _activation(name: str) -> Any:
    try:
        return ACT2FN[name]
    except KeyError:
        raise ValueError(f"unsupported hidden_act {name!r}; choose one of {sorted(ACT2FN)}") from None


class _Layers:
    """Keyword bundle for building layers: dtypes, initialisers and the rngs."""

    def __init__(self, config: BertConfig, rngs: nnx.Rngs, dtype: Any, param_dtype: Any) -> None:
        self.config, self.rngs, self.dtype, self.param_dtype = config, rngs, dtype, param_dtype
        self.init = nnx.initializers.normal(stddev=config.initializer_range)

    def linear(self, din: int, dout: int, *, bias: bool = True) -> nnx.Linear:
        return nnx.Linear(din, dout, use_bias=bias, kernel_init=self.init, dtype=self.dtype,
                          param_dtype=self.param_dtype, rngs=self.rngs)

    def embed(self, num: int, dim: int) -> nnx.Embed:
        return nnx.Embed(num, dim, embedding_init=self.init, dtype=self.dtype, param_dtype=self.param_dtype,
                         rngs=self.rngs)

    def layer_norm(self, dim: int) -> nnx.LayerNorm:
        return nnx.LayerNorm(dim, epsilon=self.config.layer_norm_eps, dtype=self.dtype,
                             param_dtype=self.param_dtype, rngs=self.rngs)


class FlaxBertEmbeddings(nnx.Module):
    """Word + position + token-type embeddings, then LayerNorm and dropout (or `inputs_embeds` instead of the word
    embeddings)."""

    def __init__(self, config: BertConfig, make: _Layers) -> None:
        check_position_embedding_type(config)
        self.word_embeddings = make.embed(config.vocab_size, config.hidden_size)
        self.position_embeddings = make.embed(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = make.embed(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = make.layer_norm(config.hidden_size)
        self.dropout = nnx.Dropout(config.hidden_dropout_prob)

    def __call__(self, input_ids: jax.Array | None, token_type_ids: jax.Array, position_ids: jax.Array,
                 inputs_embeds: jax.Array | None = None, rngs: nnx.Rngs | None = None) -> jax.Array:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        hidden = (inputs_embeds + self.token_type_embeddings(token_type_ids)
                  + self.position_embeddings(position_ids))
        return self.dropout(self.LayerNorm(hidden), rngs=rngs)


class FlaxBertSelfAttention(nnx.Module):
    """Multi-head scaled dot-product attention (query / key / value projections), run by the implementation
    `attn_implementation` names (`config._attn_implementation`: "eager" or "sdpa", see
    [`pretrained.flax.attention`][pretrained.flax.attention])."""

    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = attention_head_size(config.hidden_size, config.num_attention_heads)
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = make.linear(config.hidden_size, self.all_head_size)
        self.key = make.linear(config.hidden_size, self.all_head_size)
        self.value = make.linear(config.hidden_size, self.all_head_size)
        self.dropout = nnx.Dropout(config.attention_probs_dropout_prob)
        self.attn_implementation = config._attn_implementation

    def _heads(self, x: jax.Array) -> jax.Array:
        return x.reshape(*x.shape[:2], self.num_attention_heads, self.attention_head_size)

    def __call__(self, hidden: jax.Array, mask: jax.Array | None, head_mask: jax.Array | None,
                 output_attentions: bool = False, rngs: nnx.Rngs | None = None, key_value_states: Any = None,
                 layer_past: Any = None, cache_index: Any = None) -> tuple[jax.Array, Any, Any]:
        """`(context (batch, seq, all_head_size), attention probabilities or None, the layer's cache or None)`:
        keys and values from `key_value_states` (cross-attention), or written into `layer_past` (a static cache,
        (batch, heads, max_length, head_dim)) at `cache_index`."""
        source = hidden if key_value_states is None else key_value_states
        key, value = self._heads(self.key(source)), self._heads(self.value(source))
        present = None
        if layer_past is not None:
            present = tuple(update_cache(past, new.transpose(0, 2, 1, 3), cache_index)
                            for past, new in zip(layer_past, (key, value)))
            key, value = (cached.transpose(0, 2, 1, 3) for cached in present)
        context, probs = attention_forward(
            self.attn_implementation, self._heads(self.query(hidden)), key, value, mask, head_mask=head_mask,
            dropout=self.dropout, rngs=rngs, output_attentions=output_attentions, caller=type(self).__name__)
        return context.reshape(*context.shape[:2], self.all_head_size), probs, present


class FlaxBertSelfOutput(nnx.Module):
    """`LayerNorm(dropout(dense(x)) + residual)`."""

    def __init__(self, config: BertConfig, make: _Layers, input_size: int) -> None:
        self.dense = make.linear(input_size, config.hidden_size)
        self.LayerNorm = make.layer_norm(config.hidden_size)
        self.dropout = nnx.Dropout(config.hidden_dropout_prob)

    def __call__(self, hidden: jax.Array, residual: jax.Array, rngs: nnx.Rngs | None = None) -> jax.Array:
        return self.LayerNorm(self.dropout(self.dense(hidden), rngs=rngs) + residual)


class FlaxBertAttention(nnx.Module):
    """Self-attention (`self`) and its output projection (`output`); supports head pruning."""

    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.self = FlaxBertSelfAttention(config, make)
        self.output = FlaxBertSelfOutput(config, make, config.hidden_size)
        self.pruned_heads: frozenset[int] = frozenset()

    def prune_heads(self, heads: Iterable[int]) -> None:
        """Remove `heads` (original numbering) from this layer's query/key/value and output projection."""
        attn = self.self
        heads, index = pruneable_heads_and_indices(heads, attn.num_attention_heads, attn.attention_head_size,
                                                   set(self.pruned_heads))
        if not heads:
            return
        for layer in (attn.query, attn.key, attn.value):
            prune_linear_layer(layer, index, dim=0)
        prune_linear_layer(self.output.dense, index, dim=1)
        attn.num_attention_heads -= len(heads)
        attn.all_head_size = attn.attention_head_size * attn.num_attention_heads
        self.pruned_heads = frozenset(self.pruned_heads | heads)

    def __call__(self, hidden: jax.Array, mask: jax.Array | None, head_mask: jax.Array | None,
                 output_attentions: bool = False, rngs: nnx.Rngs | None = None, key_value_states: Any = None,
                 layer_past: Any = None, cache_index: Any = None) -> tuple[jax.Array, Any, Any]:
        context, probs, present = self.self(hidden, mask, head_mask, output_attentions, rngs, key_value_states,
                                            layer_past, cache_index)
        return self.output(context, hidden, rngs), probs, present


class FlaxBertIntermediate(nnx.Module):
    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.dense = make.linear(config.hidden_size, config.intermediate_size)
        self.hidden_act = config.hidden_act

    def __call__(self, hidden: jax.Array) -> jax.Array:
        return _activation(self.hidden_act)(self.dense(hidden))


class FlaxBertLayer(nnx.Module):
    """Attention, cross-attention over the encoder's states (`crossattention`, when `config.add_cross_attention`),
    then the feed-forward (`intermediate`, `output`) in chunks of `config.chunk_size_feed_forward` positions (0: at
    once)."""

    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.attention = FlaxBertAttention(config, make)
        self.crossattention = FlaxBertAttention(config, make) if check_cross_attention(config) else None
        self.intermediate = FlaxBertIntermediate(config, make)
        self.output = FlaxBertSelfOutput(config, make, config.intermediate_size)

    def __call__(self, hidden: jax.Array, mask: jax.Array | None, head_mask: jax.Array | None,
                 output_attentions: bool = False, rngs: nnx.Rngs | None = None, encoder_hidden_states: Any = None,
                 encoder_mask: Any = None, layer_past: Any = None, cache_index: Any = None) -> tuple:
        """`(output, self-attention probabilities, cross-attention probabilities, the layer's cache)`."""
        attended, probs, present = self.attention(hidden, mask, head_mask, output_attentions, rngs,
                                                  layer_past=layer_past, cache_index=cache_index)
        cross_probs = None
        if encoder_hidden_states is not None:
            if self.crossattention is None:
                raise ValueError(missing_cross_attention_message(self))
            attended, cross_probs, _ = self.crossattention(attended, encoder_mask, head_mask, output_attentions,
                                                           rngs, key_value_states=encoder_hidden_states)

        def feed_forward(chunk: jax.Array) -> jax.Array:
            return self.output(self.intermediate(chunk), chunk, rngs)

        return apply_chunking_to_forward(feed_forward, self.chunk_size_feed_forward, 1, attended), probs, cross_probs, \
            present


class FlaxBertEncoder(nnx.Module):
    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.layer = nnx.List([FlaxBertLayer(config, make) for _ in range(config.num_hidden_layers)])

    def __call__(self, hidden: jax.Array, mask: jax.Array | None, head_masks: list[Any], *,
                 output_attentions: bool, output_hidden_states: bool, rngs: nnx.Rngs | None = None,
                 encoder_hidden_states: Any = None, encoder_mask: Any = None,
                 past_key_values: StaticCache | None = None) -> BaseModelOutputWithPoolingAndCrossAttentions:
        all_hidden, all_attentions, all_cross, presents = [], [], [], []
        for i, (layer, head_mask) in enumerate(zip(self.layer, head_masks)):
            all_hidden.append(hidden)
            hidden, probs, cross, present = layer(
                hidden, mask, head_mask, output_attentions, rngs, encoder_hidden_states, encoder_mask,
                None if past_key_values is None else past_key_values.layers[i],
                None if past_key_values is None else past_key_values.index)
            all_attentions.append(probs)
            all_cross.append(cross)
            presents.append(present)
        crossed = output_attentions and encoder_hidden_states is not None
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden,
            hidden_states=(*all_hidden, hidden) if output_hidden_states else None,
            past_key_values=None if past_key_values is None else tuple(presents),
            attentions=tuple(all_attentions) if output_attentions else None,
            cross_attentions=tuple(all_cross) if crossed else None)


class FlaxBertPooler(nnx.Module):
    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.dense = make.linear(config.hidden_size, config.hidden_size)

    def __call__(self, hidden: jax.Array) -> jax.Array:
        return jnp.tanh(self.dense(hidden[:, 0]))


class FlaxBertPreTrainedModel(FlaxPreTrainedModel):
    """Shared plumbing of the Flax BERT classes (config class, prefix, layer factory), both attention
    implementations (`attn_implementation="eager"` or `"sdpa"`, the default)."""

    config_class = BertConfig
    base_model_prefix = "bert"
    _supports_sdpa = True
    # mesh= loads: attention heads and the MLP split over the mesh axis "tp" (NNX kernels are (in, out))
    _partition_rules = [
        (r"attention/self/(query|key|value)/kernel$", (None, "tp")),
        (r"attention/self/(query|key|value)/bias$", ("tp",)),
        (r"attention/output/dense/kernel$", ("tp", None)),
        (r"intermediate/dense/kernel$", (None, "tp")),
        (r"intermediate/dense/bias$", ("tp",)),
        (r"layer/\d+/output/dense/kernel$", ("tp", None)),
    ]

    def _make(self) -> _Layers:
        return _Layers(self.config, self.rngs, self.dtype, self.param_dtype)


class FlaxBertModel(FlaxBertPreTrainedModel):
    """The bare BERT encoder (`embeddings`, `encoder`, optional `pooler`), returning
    `BaseModelOutputWithPoolingAndCrossAttentions` (`last_hidden_state`, `pooler_output` and, on request,
    `hidden_states` / `attentions`), or its tuple with `return_dict=False`.

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertModel
        >>> model = FlaxBertModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                  num_attention_heads=4, intermediate_size=64))
        >>> model(jnp.array([[1, 2]]), attention_mask=jnp.array([[1, 0]])).pooler_output.shape
        (1, 32)
    """

    def __init__(self, config: BertConfig, *, add_pooling_layer: bool = True, rngs: nnx.Rngs | int | None = None,
                 dtype: Any = jnp.float32, param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        make = self._make()
        self.embeddings = FlaxBertEmbeddings(config, make)
        self.encoder = FlaxBertEncoder(config, make)
        self.pooler = FlaxBertPooler(config, make) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nnx.Embed:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nnx.Embed) -> None:
        self.embeddings.word_embeddings = value

    def _prune_heads(self, heads_to_prune: Mapping[int, Iterable[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[int(layer)].attention.prune_heads(heads)

    def __call__(
        self,
        input_ids: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        encoder_hidden_states: jax.Array | None = None,
        encoder_attention_mask: jax.Array | None = None,
        past_key_values: StaticCache | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        rngs: nnx.Rngs | None = None,
    ) -> Any:
        """Encode `input_ids` `(batch, seq)` (or `inputs_embeds` `(batch, seq, hidden)`); `rngs` feeds dropout in
        training mode. A decoder (`config.is_decoder`) masks causally and, given a static `past_key_values` cache,
        writes to it (the `attention_mask` then spans the whole cache)."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if input_ids is not None:
            input_ids = jnp.asarray(input_ids)
            self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)
        batch, seq = (input_ids if input_ids is not None else inputs_embeds).shape[:2]
        offset = 0 if past_key_values is None else past_key_values.index
        key_length = seq if past_key_values is None else past_key_values.layers[0][0].shape[2]
        if token_type_ids is None:
            token_type_ids = jnp.zeros((batch, seq), dtype=jnp.int32)
        if position_ids is None:
            position_ids = jnp.broadcast_to(jnp.arange(seq) + offset, (batch, seq))
        if attention_mask is None:
            attention_mask = jnp.ones((batch, key_length), dtype=jnp.int32)
        attention_mask = jnp.asarray(attention_mask)
        if self.config.is_decoder and attention_mask.ndim == 2:  # causal: query i sits at position offset + i
            causal = jnp.arange(key_length)[None, :] <= jnp.arange(seq)[:, None] + offset
            attention_mask = causal[None].astype(jnp.int32) * attention_mask[:, None, :]
        mask = self.get_extended_attention_mask(attention_mask, (batch, seq), dtype=self.dtype)
        encoder_mask = None
        if encoder_hidden_states is not None:
            if encoder_attention_mask is None:
                encoder_attention_mask = jnp.ones(encoder_hidden_states.shape[:2], dtype=jnp.int32)
            encoder_mask = self.invert_attention_mask(encoder_attention_mask, dtype=self.dtype)
        head_masks = self.get_head_mask(head_mask, self.config.num_hidden_layers)
        hidden = self.embeddings(input_ids, jnp.asarray(token_type_ids), jnp.asarray(position_ids), inputs_embeds,
                                 rngs)
        out = self.encoder(hidden, mask, head_masks, rngs=rngs, output_attentions=flags.output_attentions,
                           output_hidden_states=flags.output_hidden_states, encoder_hidden_states=encoder_hidden_states,
                           encoder_mask=encoder_mask, past_key_values=past_key_values)
        if out.past_key_values is not None:
            cached = use_cache is not False and self.config.is_decoder
            out.past_key_values = StaticCache(offset + seq, out.past_key_values) if cached else None
        if self.pooler is not None:
            out.pooler_output = self.pooler(out.last_hidden_state)
        return returned(out, flags.return_dict)


class FlaxBertPredictionHeadTransform(nnx.Module):
    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.dense = make.linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = make.layer_norm(config.hidden_size)
        self.hidden_act = config.hidden_act

    def __call__(self, hidden: jax.Array) -> jax.Array:
        return self.LayerNorm(_activation(self.hidden_act)(self.dense(hidden)))


class FlaxBertLMPredictionHead(nnx.Module):
    """`transform`, the output `bias`, and a `decoder` only when the embeddings are not tied (a tied head reads
    the word embeddings through `nnx.Embed.attend`, so `cls.predictions.decoder.weight` is never stored)."""

    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.transform = FlaxBertPredictionHeadTransform(config, make)
        self.bias = nnx.Param(jnp.zeros((config.vocab_size,), make.param_dtype))
        tied = config.tie_word_embeddings
        self.decoder = None if tied else make.linear(config.hidden_size, config.vocab_size, bias=False)

    def __call__(self, hidden: jax.Array, embeddings: nnx.Embed) -> jax.Array:
        hidden = self.transform(hidden)
        logits = embeddings.attend(hidden) if self.decoder is None else self.decoder(hidden)
        return logits + self.bias.get_value().astype(logits.dtype)


class FlaxBertOnlyMLMHead(nnx.Module):
    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.predictions = FlaxBertLMPredictionHead(config, make)


def _masked_lm_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    labels = jnp.asarray(labels)
    valid = labels != -100
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    picked = jnp.take_along_axis(log_probs, jnp.where(valid, labels, 0)[..., None], axis=-1)[..., 0]
    return -jnp.sum(jnp.where(valid, picked, 0.0)) / jnp.maximum(jnp.sum(valid), 1)


class FlaxBertForMaskedLM(FlaxBertPreTrainedModel):
    """BERT with the masked-LM head (`cls.predictions`), decoder tied to the word embeddings by default.

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertForMaskedLM
        >>> model = FlaxBertForMaskedLM(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                        num_attention_heads=4, intermediate_size=64))
        >>> out = model(jnp.array([[1, 2]]), labels=jnp.array([[-100, 2]]))
        >>> out.logits.shape, out.loss.shape
        ((1, 2, 50), ())
    """

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.bert = FlaxBertModel(config, add_pooling_layer=False, rngs=self.rngs, dtype=dtype,
                                  param_dtype=param_dtype)
        self.cls = FlaxBertOnlyMLMHead(config, self._make())
        self.post_init()

    def get_output_embeddings(self) -> nnx.Module:
        decoder = self.cls.predictions.decoder
        return self.bert.get_input_embeddings() if decoder is None else decoder

    def set_output_embeddings(self, value: nnx.Module) -> None:
        self.cls.predictions.decoder = nnx.data(value)  # the attribute may have started as None (static)

    def _resize_output_bias(self, new_num_tokens: int, *, mean_resizing: bool) -> None:
        resize_bias(self.cls.predictions.bias, new_num_tokens, mean_resizing=mean_resizing)

    def __call__(
        self,
        input_ids: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        labels: jax.Array | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        rngs: nnx.Rngs | None = None,
    ) -> Any:
        """`MaskedLMOutput`: `logits` `(batch, seq, vocab)`; `loss` (mean cross-entropy over labels != -100) when
        `labels` given."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True, rngs=rngs)
        logits = self.cls.predictions(out.last_hidden_state, self.bert.get_input_embeddings())
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                       attentions=out.attentions), flags.return_dict)


def _classification_loss(config: BertConfig, logits: jax.Array, labels: jax.Array) -> jax.Array:
    labels = jnp.asarray(labels)
    problem = config.problem_type
    if problem is None:
        if config.num_labels == 1:
            problem = "regression"
        elif jnp.issubdtype(labels.dtype, jnp.integer):
            problem = "single_label_classification"
        else:
            problem = "multi_label_classification"
    logits = logits.astype(jnp.float32)
    if problem == "regression":
        return jnp.mean((logits.squeeze() - labels.astype(jnp.float32).squeeze()) ** 2)
    if problem == "single_label_classification":
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.mean(jnp.take_along_axis(log_probs, labels.reshape(-1, 1), axis=-1))
    targets = labels.astype(jnp.float32)
    return jnp.mean(jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits))))


class FlaxBertForSequenceClassification(FlaxBertPreTrainedModel):
    """BERT with a classification / regression head on the pooled output (`classifier`).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertForSequenceClassification
        >>> model = FlaxBertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                                      num_attention_heads=4, intermediate_size=64))
        >>> model(jnp.array([[1, 2]]), labels=jnp.array([1])).logits.shape
        (1, 2)
    """

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.num_labels = config.num_labels
        self.bert = FlaxBertModel(config, rngs=self.rngs, dtype=dtype, param_dtype=param_dtype)
        rate = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nnx.Dropout(rate)
        self.classifier = self._make().linear(config.hidden_size, config.num_labels)
        self.post_init()

    def __call__(
        self,
        input_ids: jax.Array | None = None,
        attention_mask: jax.Array | None = None,
        token_type_ids: jax.Array | None = None,
        position_ids: jax.Array | None = None,
        head_mask: jax.Array | None = None,
        inputs_embeds: jax.Array | None = None,
        labels: jax.Array | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        *,
        rngs: nnx.Rngs | None = None,
    ) -> Any:
        """`SequenceClassifierOutput`: `logits` `(batch, num_labels)`; `loss` by `config.problem_type` (as
        transformers) when `labels` given."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True, rngs=rngs)
        logits = self.classifier(self.dropout(out.pooler_output, rngs=rngs))
        loss = None if labels is None else _classification_loss(self.config, logits, labels)
        return returned(SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                 attentions=out.attentions), flags.return_dict)


__all__ = ["FlaxBertForMaskedLM", "FlaxBertForSequenceClassification", "FlaxBertModel", "FlaxBertPreTrainedModel"]
