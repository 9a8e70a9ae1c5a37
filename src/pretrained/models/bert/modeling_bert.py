"""A BERT-layout encoder for PyTorch, state-dict compatible with transformers' BERT.

It exercises what the base class offers: attention and head masks, head pruning, embedding resizing and a masked-LM
head tied to the word embeddings.

Example:
    >>> import torch
    >>> from pretrained.models.bert import BertConfig, BertModel
    >>> config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    ...                     intermediate_size=16)
    >>> out = BertModel(config).eval()(torch.tensor([[1, 2, 3]]), attention_mask=torch.tensor([[1, 1, 0]]))
    >>> out.last_hidden_state.shape, out.pooler_output.shape, out[0] is out.last_hidden_state
    (torch.Size([1, 3, 8]), torch.Size([1, 8]), True)

The pieces of a layer (`BertSelfAttention` with its attention implementations, `BertSelfOutput`, `BertAttention`,
`BertIntermediate`, `BertOutput`, `BertLayer`) are meant to be reused by further BERT heads.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pretrained.attention import attention_head_size
from pretrained.outputs import (
    BaseModelOutputWithPoolingAndCrossAttentions,
    MaskedLMOutput,
    SequenceClassifierOutput,
    output_flags,
    returned,
)
from pretrained.torch.attention import attention_forward
from pretrained.torch.modeling import PreTrainedModel
from pretrained.torch.module_utils import apply_chunking_to_forward
from pretrained.torch.pruning import find_pruneable_heads_and_indices, prune_linear_layer

from .configuration_bert import (
    BertConfig,
    check_cross_attention,
    check_position_embedding_type,
    missing_cross_attention_message,
)

ACT2FN = {
    "gelu": nn.GELU(),
    "gelu_new": nn.GELU(approximate="tanh"),
    "gelu_pytorch_tanh": nn.GELU(approximate="tanh"),
    "relu": nn.ReLU(),
    "silu": nn.SiLU(),
    "swish": nn.SiLU(),
    "tanh": nn.Tanh(),
}


def _activation(name: str) -> nn.Module:
    if name not in ACT2FN:
        raise ValueError(f"hidden_act {name!r} is not supported (choose from {sorted(ACT2FN)})")
    return ACT2FN[name]


class BertEmbeddings(nn.Module):
    """Word + position + token-type embeddings, then LayerNorm and dropout (or `inputs_embeds` instead of the word
    embeddings)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        check_position_embedding_type(config)
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )

    def forward(self, input_ids: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None,
                position_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                past_key_values_length: int = 0) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)
        seq_length = inputs_embeds.shape[1]
        if past_key_values_length + seq_length > self.position_ids.shape[1]:
            raise ValueError(f"sequence length {past_key_values_length + seq_length} exceeds max_position_embeddings "
                             f"{self.position_ids.shape[1]}")
        if position_ids is None:
            position_ids = self.position_ids[:, past_key_values_length:past_key_values_length + seq_length]
        if token_type_ids is None:
            token_type_ids = torch.zeros(inputs_embeds.shape[:2], dtype=torch.long, device=inputs_embeds.device)
        embeddings = (inputs_embeds + self.token_type_embeddings(token_type_ids)
                      + self.position_embeddings(position_ids))
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    """Multi-head scaled dot-product attention (query / key / value projections), run by the implementation
    `attn_implementation` names (`config._attn_implementation`: "eager" or "sdpa", see
    [`pretrained.torch.attention`][pretrained.torch.attention])."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = attention_head_size(config.hidden_size, config.num_attention_heads)
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.attn_implementation = config._attn_implementation

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:2], self.num_attention_heads, self.attention_head_size)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, output_attentions: bool = False,
                key_value_states: torch.Tensor | None = None, past_key_value: tuple | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Tensor, torch.Tensor]]:
        """`(context (batch, seq, all_head_size), attention probabilities or None, (key, value))`: keys and values
        from `key_value_states` (cross-attention) or the hidden states after the cached `past_key_value` (v4's
        layout, (batch, heads, length, head_dim))."""
        source = hidden_states if key_value_states is None else key_value_states
        key, value = self._heads(self.key(source)), self._heads(self.value(source))
        if past_key_value is not None:
            key = torch.cat((past_key_value[0].transpose(1, 2), key), dim=1)
            value = torch.cat((past_key_value[1].transpose(1, 2), value), dim=1)
        context, probs = attention_forward(
            self.attn_implementation, self._heads(self.query(hidden_states)), key, value, attention_mask,
            head_mask=head_mask, dropout=self.dropout, output_attentions=output_attentions,
            caller=type(self).__name__)
        present = (key.transpose(1, 2), value.transpose(1, 2))
        return context.reshape(*context.shape[:2], self.all_head_size), probs, present


class BertSelfOutput(nn.Module):
    """`LayerNorm(dropout(dense(x)) + residual)` after the attention."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertAttention(nn.Module):
    """Self-attention plus its output projection; supports head pruning."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)
        self.pruned_heads: set[int] = set()

    def prune_heads(self, heads: list[int]) -> None:
        heads, index = find_pruneable_heads_and_indices(
            heads, self.self.num_attention_heads, self.self.attention_head_size, self.pruned_heads
        )
        if not heads:
            return
        self.self.query = prune_linear_layer(self.self.query, index)
        self.self.key = prune_linear_layer(self.self.key, index)
        self.self.value = prune_linear_layer(self.self.value, index)
        self.output.dense = prune_linear_layer(self.output.dense, index, dim=1)
        self.self.num_attention_heads -= len(heads)
        self.self.all_head_size = self.self.attention_head_size * self.self.num_attention_heads
        self.pruned_heads |= heads

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, output_attentions: bool = False,
                key_value_states: torch.Tensor | None = None, past_key_value: tuple | None = None
                ) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Tensor, torch.Tensor]]:
        context, probs, present = self.self(hidden_states, attention_mask, head_mask, output_attentions,
                                            key_value_states, past_key_value)
        return self.output(context, hidden_states), probs, present


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = _activation(config.hidden_act)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertLayer(nn.Module):
    """Attention, cross-attention over the encoder's states (`crossattention`, when `config.add_cross_attention`),
    then the feed-forward (`intermediate`, `output`) in chunks of `config.chunk_size_feed_forward` positions (0: at
    once)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.chunk_size_feed_forward = config.chunk_size_feed_forward
        self.seq_len_dim = 1
        self.attention = BertAttention(config)
        if check_cross_attention(config):
            self.crossattention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def feed_forward_chunk(self, attention_output: torch.Tensor) -> torch.Tensor:
        return self.output(self.intermediate(attention_output), attention_output)

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, output_attentions: bool = False,
                encoder_hidden_states: torch.Tensor | None = None, encoder_attention_mask: torch.Tensor | None = None,
                past_key_value: tuple | None = None) -> tuple[Any, ...]:
        """`(output, self-attention probabilities, cross-attention probabilities, (key, value) of the
        self-attention)`."""
        attention_output, probs, present = self.attention(hidden_states, attention_mask, head_mask, output_attentions,
                                                          past_key_value=past_key_value)
        cross_probs = None
        if encoder_hidden_states is not None:
            if not hasattr(self, "crossattention"):
                raise ValueError(missing_cross_attention_message(self))
            attention_output, cross_probs, _ = self.crossattention(
                attention_output, encoder_attention_mask, head_mask, output_attentions,
                key_value_states=encoder_hidden_states)
        layer_output = apply_chunking_to_forward(self.feed_forward_chunk, self.chunk_size_feed_forward,
                                                 self.seq_len_dim, attention_output)
        return layer_output, probs, cross_probs, present


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False

    def forward(self, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None, head_mask: list,
                *, output_attentions: bool, output_hidden_states: bool,
                encoder_hidden_states: torch.Tensor | None = None, encoder_attention_mask: torch.Tensor | None = None,
                past_key_values: tuple | None = None, use_cache: bool = False
                ) -> BaseModelOutputWithPoolingAndCrossAttentions:
        all_hidden = (hidden_states,) if output_hidden_states else None
        all_attentions, all_cross, presents = [], [], []
        for i, layer in enumerate(self.layer):
            inputs = (hidden_states, attention_mask, head_mask[i], output_attentions, encoder_hidden_states,
                      encoder_attention_mask, None if past_key_values is None else past_key_values[i])
            if self.gradient_checkpointing and self.training:
                hidden_states, probs, cross, present = self._gradient_checkpointing_func(layer.__call__, *inputs)
            else:
                hidden_states, probs, cross, present = layer(*inputs)
            if output_hidden_states:
                all_hidden += (hidden_states,)
            all_attentions.append(probs)
            all_cross.append(cross)
            presents.append(present)
        crossed = output_attentions and encoder_hidden_states is not None
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=hidden_states, hidden_states=all_hidden,
            past_key_values=tuple(presents) if use_cache else None,
            attentions=tuple(all_attentions) if output_attentions else None,
            cross_attentions=tuple(all_cross) if crossed else None)


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


class BertPredictionHeadTransform(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.transform_act_fn = _activation(config.hidden_act)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.transform_act_fn(self.dense(hidden_states)))


class BertLMPredictionHead(nn.Module):
    """Transform, then project onto the vocabulary; `decoder.bias` is `bias` (one Parameter)."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias

    def _tie_weights(self) -> None:
        self.decoder.bias = self.bias

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(hidden_states))


class BertOnlyMLMHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)

    def forward(self, sequence_output: torch.Tensor) -> torch.Tensor:
        return self.predictions(sequence_output)


class BertPreTrainedModel(PreTrainedModel):
    """Shared settings of the BERT models: `base_model_prefix = "bert"`, BERT's initialisation, and both attention
    implementations (`attn_implementation="eager"` or `"sdpa"`, the default)."""

    config_class = BertConfig
    base_model_prefix = "bert"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _no_split_modules = ["BertLayer"]
    # device_mesh= loads: the MLP split over the mesh (attention stays replicated: its head reshape uses the global
    # head count, which a column-split projection does not hold locally)
    _tp_plan = {"encoder.layer.*.intermediate.dense": "colwise", "encoder.layer.*.output.dense": "rowwise"}

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.padding_idx is not None:
                module.weight.data[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            module.weight.data.fill_(1.0)
            module.bias.data.zero_()
        elif isinstance(module, BertLMPredictionHead):
            module.bias.data.zero_()


class BertModel(BertPreTrainedModel):
    """The encoder: `model(input_ids, attention_mask=None, token_type_ids=None, position_ids=None, head_mask=None,
    inputs_embeds=None, output_attentions=None, output_hidden_states=None, return_dict=None)` ->
    `BaseModelOutputWithPoolingAndCrossAttentions` (`last_hidden_state`, `pooler_output`, + `hidden_states`,
    `attentions` on request), or its tuple with `return_dict=False`.

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertModel
        >>> m = BertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
        >>> m(torch.tensor([[1, 2]]), output_hidden_states=True).hidden_states[0].shape
        torch.Size([1, 2, 8])
        >>> m(torch.tensor([[1, 2]]), return_dict=False)[1].shape
        torch.Size([1, 8])
    """

    def __init__(self, config: BertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[layer].attention.prune_heads(heads)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: tuple | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPoolingAndCrossAttentions | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        decoder = self.config.is_decoder
        use_cache = decoder and (self.config.use_cache if use_cache is None else use_cache)
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids and inputs_embeds")
        if input_ids is not None:
            if input_ids.dim() != 2:
                raise ValueError(f"input_ids must be (batch, sequence), got shape {tuple(input_ids.shape)}")
            self.warn_if_padding_and_no_attention_mask(input_ids, attention_mask)
        reference = input_ids if input_ids is not None else inputs_embeds
        shape = tuple(reference.shape[:2])
        past = 0 if past_key_values is None else past_key_values[0][0].shape[-2]
        if attention_mask is None:
            attention_mask = torch.ones((shape[0], past + shape[1]), dtype=torch.long, device=reference.device)
        if decoder and attention_mask.dim() == 2:  # causal: query i sits at position past + i
            queries = torch.arange(past, past + shape[1], device=reference.device)[:, None]
            causal = torch.arange(attention_mask.shape[1], device=reference.device)[None, :] <= queries
            attention_mask = causal[None].to(attention_mask.dtype) * attention_mask[:, None, :]
        extended_mask = self.get_extended_attention_mask(attention_mask, shape)
        if encoder_hidden_states is not None:
            if encoder_attention_mask is None:
                encoder_attention_mask = torch.ones(encoder_hidden_states.shape[:2], dtype=torch.long,
                                                    device=reference.device)
            encoder_attention_mask = self.invert_attention_mask(encoder_attention_mask)
        head_mask = self.get_head_mask(head_mask, self.config.num_hidden_layers)
        hidden = self.embeddings(input_ids, token_type_ids=token_type_ids, position_ids=position_ids,
                                 inputs_embeds=inputs_embeds, past_key_values_length=past)
        out = self.encoder(hidden, extended_mask, head_mask, output_attentions=flags.output_attentions,
                           output_hidden_states=flags.output_hidden_states, encoder_hidden_states=encoder_hidden_states,
                           encoder_attention_mask=encoder_attention_mask, past_key_values=past_key_values,
                           use_cache=use_cache)
        if self.pooler is not None:
            out.pooler_output = self.pooler(out.last_hidden_state)
        return returned(out, flags.return_dict)


class BertForMaskedLM(BertPreTrainedModel):
    """BERT with the masked-LM head (`cls.predictions`, decoder tied to the word embeddings): `MaskedLMOutput`
    (`logits` over the vocabulary, `loss` (cross-entropy, label -100 ignored) with `labels`).

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertForMaskedLM
        >>> m = BertForMaskedLM(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
        >>> m(torch.tensor([[1, 2]]), labels=torch.tensor([[-100, 2]])).logits.shape
        torch.Size([1, 2, 20])
    """

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.cls.predictions.decoder

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.cls.predictions.decoder = value
        self.cls.predictions.bias = value.bias

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, output_attentions: bool | None = None,
                output_hidden_states: bool | None = None, return_dict: bool | None = None
                ) -> MaskedLMOutput | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True)
        logits = self.cls(out.last_hidden_state)
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1))
        return returned(MaskedLMOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                       attentions=out.attentions), flags.return_dict)


class BertForSequenceClassification(BertPreTrainedModel):
    """BERT with a classifier on the pooled output: `SequenceClassifierOutput` (`logits (batch, num_labels)`; with
    `labels`, the loss of `config.problem_type`, inferred as in transformers v4 when unset).

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertForSequenceClassification
        >>> cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, num_labels=3)
        >>> out = BertForSequenceClassification(cfg)(torch.tensor([[1, 2]]), labels=torch.tensor([2]))
        >>> out.logits.shape, cfg.problem_type
        (torch.Size([1, 3]), 'single_label_classification')
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config)
        dropout = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, output_attentions: bool | None = None,
                output_hidden_states: bool | None = None, return_dict: bool | None = None
                ) -> SequenceClassifierOutput | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True)
        logits = self.classifier(self.dropout(out.pooler_output))
        loss = None if labels is None else self._loss(logits, labels)
        return returned(SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                 attentions=out.attentions), flags.return_dict)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"
        if self.config.problem_type == "regression":
            if self.num_labels == 1:
                return nn.functional.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
            return nn.functional.mse_loss(logits, labels.to(logits.dtype))
        if self.config.problem_type == "single_label_classification":
            return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
