"""GPT-2 for PyTorch, state-dict compatible with transformers' GPT-2 (its `Conv1D` layout, tied LM head).

The cache is v4's legacy tuple format: `past_key_values[layer] = (key, value)`, each (batch, heads, length,
head_dim); attention runs through `scaled_dot_product_attention` (eager when attentions or a head mask are asked
for).

Example:
    >>> import torch
    >>> from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel
    >>> model = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32)).eval()
    >>> out = model(torch.tensor([[1, 2, 3]]))
    >>> tuple(out.logits.shape), len(out.past_key_values), tuple(out.past_key_values[0][0].shape)
    ((1, 3, 50), 2, (1, 2, 3, 8))
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from pretrained.outputs import (
    BaseModelOutputWithPastAndCrossAttentions,
    CausalLMOutputWithCrossAttentions,
    SequenceClassifierOutputWithPast,
    output_flags,
    returned,
)
from pretrained.torch.generation import GenerationMixin
from pretrained.torch.layers import Conv1D
from pretrained.torch.modeling import PreTrainedModel
from pretrained.torch.pruning import find_pruneable_heads_and_indices, prune_conv1d_layer

from .configuration_gpt2 import GPT2Config


def _gelu_new(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACT2FN = {
    "gelu_new": _gelu_new,
    "gelu": nn.functional.gelu,
    "gelu_pytorch_tanh": lambda x: nn.functional.gelu(x, approximate="tanh"),
    "relu": nn.functional.relu,
    "silu": nn.functional.silu,
    "swish": nn.functional.silu,
    "tanh": torch.tanh,
}


def attention_bias(attention_mask: torch.Tensor | None, query_length: int, past_length: int,
                   dtype: torch.dtype) -> torch.Tensor | None:
    """The additive (batch, 1, query, key) mask: 0 where a query may attend (causal, and the key is not padding),
    the dtype's minimum elsewhere; None when nothing is masked for a single query token."""
    if attention_mask is None and query_length == 1:
        return None
    key_length = past_length + query_length
    device = attention_mask.device if attention_mask is not None else None
    queries = torch.arange(past_length, key_length, device=device)[:, None]
    allowed = (torch.arange(key_length, device=device)[None, :] <= queries)[None, None]
    if attention_mask is not None:
        allowed = allowed & (attention_mask[:, None, None, :key_length] != 0)
    return torch.full(allowed.shape, torch.finfo(dtype).min, dtype=dtype, device=device).masked_fill(allowed, 0.0)


class GPT2Attention(nn.Module):
    """Causal self-attention: `c_attn` (query, key, value in one `Conv1D`), `c_proj`; supports head pruning."""

    def __init__(self, config: GPT2Config, layer_idx: int = 0) -> None:
        super().__init__()
        self.embed_dim = config.n_embd
        self.num_heads = config.n_head
        self.head_dim = self.embed_dim // self.num_heads
        self.split_size = self.embed_dim
        self.scale_attn_weights = config.scale_attn_weights
        self.layer_scale = float(layer_idx + 1) if config.scale_attn_by_inverse_layer_idx else 1.0
        self.c_attn = Conv1D(3 * self.embed_dim, self.embed_dim)
        self.c_proj = Conv1D(self.embed_dim, self.embed_dim)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.pruned_heads: set[int] = set()

    def prune_heads(self, heads: list[int]) -> None:
        heads, index = find_pruneable_heads_and_indices(heads, self.num_heads, self.head_dim, self.pruned_heads)
        if not heads:
            return
        index_attn = torch.cat([index, index + self.split_size, index + 2 * self.split_size])
        self.c_attn = prune_conv1d_layer(self.c_attn, index_attn, dim=1)
        self.c_proj = prune_conv1d_layer(self.c_proj, index, dim=0)
        self.split_size = (self.split_size // self.num_heads) * (self.num_heads - len(heads))
        self.num_heads -= len(heads)
        self.pruned_heads |= heads

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(*x.shape[:-1], self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, hidden_states: torch.Tensor, layer_past: tuple[torch.Tensor, torch.Tensor] | None = None,
                bias: torch.Tensor | None = None, head_mask: torch.Tensor | None = None, use_cache: bool = False,
                output_attentions: bool = False) -> tuple[torch.Tensor, Any, torch.Tensor | None]:
        query, key, value = (self._heads(t) for t in self.c_attn(hidden_states).split(self.split_size, dim=2))
        if layer_past is not None:
            key = torch.cat((layer_past[0], key), dim=-2)
            value = torch.cat((layer_past[1], value), dim=-2)
        present = (key, value) if use_cache else None
        scale = (1.0 / math.sqrt(self.head_dim) if self.scale_attn_weights else 1.0) / self.layer_scale
        weights = None
        if output_attentions or head_mask is not None:
            scores = torch.matmul(query, key.transpose(-1, -2)) * scale
            if bias is not None:
                scores = scores + bias
            weights = self.attn_dropout(nn.functional.softmax(scores, dim=-1).type(value.dtype))
            if head_mask is not None:
                weights = weights * head_mask
            context = torch.matmul(weights, value)
        else:
            causal = bias is None and query.shape[-2] > 1
            context = nn.functional.scaled_dot_product_attention(
                query, key, value, attn_mask=bias, is_causal=causal, scale=scale,
                dropout_p=self.attn_dropout.p if self.training else 0.0)
        context = context.transpose(1, 2).reshape(*hidden_states.shape[:-1], self.num_heads * self.head_dim)
        return self.resid_dropout(self.c_proj(context)), present, weights


class GPT2MLP(nn.Module):
    def __init__(self, intermediate_size: int, config: GPT2Config) -> None:
        super().__init__()
        self.c_fc = Conv1D(intermediate_size, config.n_embd)
        self.c_proj = Conv1D(config.n_embd, intermediate_size)
        self.act = ACT2FN[config.activation_function]
        self.dropout = nn.Dropout(config.resid_pdrop)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(hidden_states))))


class GPT2Block(nn.Module):
    """Pre-LayerNorm block: `ln_1`, `attn`, `ln_2`, `mlp`."""

    def __init__(self, config: GPT2Config, layer_idx: int = 0) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.attn = GPT2Attention(config, layer_idx)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.mlp = GPT2MLP(config.inner_dim, config)

    def forward(self, hidden_states: torch.Tensor, layer_past: Any = None, bias: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, use_cache: bool = False, output_attentions: bool = False
                ) -> tuple[torch.Tensor, Any, torch.Tensor | None]:
        attended, present, weights = self.attn(self.ln_1(hidden_states), layer_past, bias, head_mask, use_cache,
                                               output_attentions)
        hidden_states = hidden_states + attended
        return hidden_states + self.mlp(self.ln_2(hidden_states)), present, weights


class GPT2PreTrainedModel(PreTrainedModel):
    """Shared settings of the GPT-2 models: `base_model_prefix = "transformer"` and GPT-2's initialisation."""

    config_class = GPT2Config
    base_model_prefix = "transformer"
    supports_gradient_checkpointing = True
    _no_split_modules = ["GPT2Block"]
    # buffers older transformers versions saved
    _keys_to_ignore_on_load_unexpected = [r"h\.\d+\.attn\.bias$", r"h\.\d+\.attn\.masked_bias$"]

    def _init_weights(self, module: nn.Module) -> None:
        std = self.config.initializer_range
        if isinstance(module, (nn.Linear, Conv1D)):
            module.weight.data.normal_(mean=0.0, std=std)
            if module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.Embedding):
            module.weight.data.normal_(mean=0.0, std=std)
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)
        projection = getattr(module, "c_proj", None)
        if isinstance(projection, Conv1D):  # GPT-2's scaled init of the residual projections
            projection.weight.data.normal_(mean=0.0, std=std / math.sqrt(2 * self.config.n_layer))


class GPT2Model(GPT2PreTrainedModel):
    """The decoder: `wte`, `wpe`, `h.{i}`, `ln_f`. `model(input_ids, past_key_values=None, attention_mask=None,
    token_type_ids=None, position_ids=None, head_mask=None, inputs_embeds=None, use_cache=None, ...)` ->
    `BaseModelOutputWithPastAndCrossAttentions` (`last_hidden_state`, `past_key_values` when `use_cache`,
    `hidden_states` / `attentions` on request), or its tuple with `return_dict=False`.

    Example:
        >>> import torch
        >>> from pretrained.models.gpt2 import GPT2Config, GPT2Model
        >>> model = GPT2Model(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2)).eval()
        >>> model(torch.tensor([[1, 2]]), output_hidden_states=True).hidden_states[0].shape
        torch.Size([1, 2, 16])
        >>> len(model(torch.tensor([[1, 2]]), use_cache=False, return_dict=False))
        1
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.drop = nn.Dropout(config.embd_pdrop)
        self.h = nn.ModuleList([GPT2Block(config, layer_idx=i) for i in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)
        self.gradient_checkpointing = False
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.wte

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.wte = value

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, heads in heads_to_prune.items():
            self.h[layer].attn.prune_heads(heads)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: tuple | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPastAndCrossAttentions | tuple[Any, ...]:
        config = self.config
        flags = output_flags(config, output_attentions, output_hidden_states, return_dict)
        use_cache = config.use_cache if use_cache is None else use_cache
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You have to specify exactly one of input_ids or inputs_embeds")
        if inputs_embeds is None:
            if input_ids.dim() != 2:
                raise ValueError(f"input_ids must be (batch, sequence), got shape {tuple(input_ids.shape)}")
            inputs_embeds = self.wte(input_ids)
        batch, length = inputs_embeds.shape[:2]
        past = past_key_values[0][0].shape[-2] if past_key_values is not None else 0
        if past + length > config.n_positions and position_ids is None:
            raise ValueError(f"sequence length {past + length} exceeds the position table (n_positions="
                             f"{config.n_positions})")
        if position_ids is None:
            position_ids = torch.arange(past, past + length, device=inputs_embeds.device)[None, :]
        hidden = inputs_embeds + self.wpe(position_ids)
        if token_type_ids is not None:
            hidden = hidden + self.wte(token_type_ids)
        hidden = self.drop(hidden)
        bias = attention_bias(attention_mask, length, past, hidden.dtype)
        head_masks = self.get_head_mask(head_mask, config.n_layer)
        if self.gradient_checkpointing and self.training:
            use_cache = False
        presents, all_hidden, all_attentions = [], [], []
        for i, block in enumerate(self.h):
            if flags.output_hidden_states:
                all_hidden.append(hidden)
            layer_past = None if past_key_values is None else past_key_values[i]
            if self.gradient_checkpointing and self.training:
                hidden, present, weights = self._gradient_checkpointing_func(
                    block.__call__, hidden, None, bias, head_masks[i], False, flags.output_attentions)
            else:
                hidden, present, weights = block(hidden, layer_past, bias, head_masks[i], use_cache,
                                                 flags.output_attentions)
            presents.append(present)
            all_attentions.append(weights)
        hidden = self.ln_f(hidden)
        out = BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden, past_key_values=tuple(presents) if use_cache else None,
            hidden_states=(*all_hidden, hidden) if flags.output_hidden_states else None,
            attentions=tuple(all_attentions) if flags.output_attentions else None)
        return returned(out, flags.return_dict)


class GPT2LMHeadModel(GPT2PreTrainedModel, GenerationMixin):
    """GPT-2 with its language-model head (`lm_head`, tied to `transformer.wte`): `CausalLMOutputWithCrossAttentions`
    with `logits` (batch, length, vocab) and the next-token `loss` with `labels` (shifted inside; -100 ignored), or
    its tuple with `return_dict=False`. Generates with `generate()`.

    Example:
        >>> import torch
        >>> from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel
        >>> model = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2))
        >>> ids = torch.tensor([[1, 2, 3]])
        >>> out = model(ids, labels=ids)
        >>> tuple(out.logits.shape), out.loss.dim(), model.lm_head.weight is model.transformer.wte.weight
        ((1, 3, 50), 0, True)
    """

    _tied_weights_keys = ["lm_head.weight"]

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Linear) -> None:
        self.lm_head = value

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: tuple | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        logits_to_keep: int = 0,
    ) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.transformer(input_ids, past_key_values, attention_mask, token_type_ids, position_ids, head_mask,
                               inputs_embeds, use_cache=use_cache, output_attentions=flags.output_attentions,
                               output_hidden_states=flags.output_hidden_states, return_dict=True)
        hidden = out.last_hidden_state
        logits = self.lm_head(hidden[:, -logits_to_keep:] if logits_to_keep else hidden)
        loss = None
        if labels is not None:
            shifted = logits[:, :-1].float()
            loss = nn.functional.cross_entropy(shifted.reshape(-1, shifted.shape[-1]),
                                               labels[:, 1:].reshape(-1).to(logits.device))
        return returned(CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions, cross_attentions=out.cross_attentions), flags.return_dict)


class GPT2ForSequenceClassification(GPT2PreTrainedModel):
    """GPT-2 with a classifier (`score`, no bias) on the last non-padding token (`config.pad_token_id`; without one,
    the last token, and batches of one only, as v4): `SequenceClassifierOutputWithPast` (or its tuple with
    `return_dict=False`).

    Example:
        >>> import torch
        >>> from pretrained.models.gpt2 import GPT2Config, GPT2ForSequenceClassification
        >>> config = GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, num_labels=3, pad_token_id=0)
        >>> out = GPT2ForSequenceClassification(config)(torch.tensor([[5, 6, 0], [7, 8, 9]]), labels=torch.tensor([1, 2]))
        >>> tuple(out.logits.shape), config.problem_type
        ((2, 3), 'single_label_classification')
    """

    def __init__(self, config: GPT2Config) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = GPT2Model(config)
        self.score = nn.Linear(config.n_embd, config.num_labels, bias=False)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        past_key_values: tuple | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutputWithPast | tuple[Any, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.transformer(input_ids, past_key_values, attention_mask, token_type_ids, position_ids, head_mask,
                               inputs_embeds, use_cache=use_cache, output_attentions=flags.output_attentions,
                               output_hidden_states=flags.output_hidden_states, return_dict=True)
        logits = self.score(out.last_hidden_state)
        batch = logits.shape[0]
        pad = self.config.pad_token_id
        if pad is None and batch != 1:
            raise ValueError("Cannot handle batch sizes > 1 if no padding token is defined.")
        if pad is None or input_ids is None:
            last = torch.full((batch,), logits.shape[1] - 1, device=logits.device)
        else:
            positions = torch.arange(input_ids.shape[-1], device=logits.device)
            last = (positions * (input_ids != pad).to(logits.device, torch.int32)).argmax(-1)
        pooled = logits[torch.arange(batch, device=logits.device), last]
        loss = None if labels is None else self._loss(pooled, labels.to(pooled.device))
        return returned(SequenceClassifierOutputWithPast(
            loss=loss, logits=pooled, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions), flags.return_dict)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        config = self.config
        if config.problem_type is None:
            if self.num_labels == 1:
                config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                config.problem_type = "single_label_classification"
            else:
                config.problem_type = "multi_label_classification"
        if config.problem_type == "regression":
            if self.num_labels == 1:
                return nn.functional.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
            return nn.functional.mse_loss(logits, labels.to(logits.dtype))
        if config.problem_type == "single_label_classification":
            return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


__all__ = ["GPT2ForSequenceClassification", "GPT2LMHeadModel", "GPT2Model", "GPT2PreTrainedModel"]
