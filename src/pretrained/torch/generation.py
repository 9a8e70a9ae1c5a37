"""`GenerationMixin`: `generate()` for PyTorch models (transformers v4's API and results).

The decoding algorithms, processors and criteria are the framework-free ones of [`pretrained.generation`]; this
module supplies PyTorch's tensor operations ([`TorchOps`][pretrained.torch.generation.TorchOps]) and v4's model
hooks: `prepare_inputs_for_generation`, `_update_model_kwargs_for_generation`, `_reorder_cache`. A model with a
language-model head lists the mixin among its bases and returns `logits` (and `past_key_values` when
`use_cache=True`) from `forward`.

Example:
    >>> import torch
    >>> from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32))
    >>> out = model.generate(torch.tensor([[1, 2, 3]]), max_new_tokens=4, num_beams=2, return_dict_in_generate=True)
    >>> tuple(out.sequences.shape), type(out).__name__
    ((1, 7), 'GenerateBeamDecoderOnlyOutput')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from ..generation.configuration_utils import GenerationConfig
from ..generation.decoding import DecodeSpec
from ..generation.logits_process import (
    ForcedBOSTokenLogitsProcessor,
    ForcedEOSTokenLogitsProcessor,
    LogitsProcessor,
    LogitsProcessorList,
    LogitsWarper,
    MinLengthLogitsProcessor,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    SuppressTokensAtBeginLogitsProcessor,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from ..generation.ops import ArrayOps, register_ops
from ..generation.stopping_criteria import (
    EosTokenCriteria,
    MaxLengthCriteria,
    MaxTimeCriteria,
    StoppingCriteria,
    StoppingCriteriaList,
)
from ..generation.utils import GenerationMixinBase

_DTYPES = {"int": torch.long, "float": torch.float32, "bool": torch.bool}


class TorchOps(ArrayOps):
    """[`ArrayOps`][pretrained.generation.ops.ArrayOps] for PyTorch: eager, on `device`, `cur_len` a Python int."""

    static = False

    def __init__(self, device: torch.device | str | None = None) -> None:
        self.device = device

    def bind(self, tensor: torch.Tensor) -> TorchOps:
        return TorchOps(tensor.device)

    def asarray(self, value: Any, dtype: str) -> torch.Tensor:
        return torch.as_tensor(value, dtype=_DTYPES[dtype], device=self.device)

    def full(self, shape: Sequence[int], value: Any, dtype: str) -> torch.Tensor:
        return torch.full(tuple(shape), value, dtype=_DTYPES[dtype], device=self.device)

    def arange(self, n: int) -> torch.Tensor:
        return torch.arange(n, device=self.device)

    def scalar(self, value: int) -> int:
        return int(value)

    def where(self, cond: Any, x: Any, y: Any) -> torch.Tensor:
        return torch.where(cond, x, y)

    def cast(self, x: Any, dtype: str) -> torch.Tensor:
        return torch.as_tensor(x, device=self.device).to(_DTYPES[dtype])

    def shape(self, x: Any) -> tuple[int, ...]:
        return tuple(x.shape)

    def reshape(self, x: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
        return x.reshape(tuple(shape))

    def concat(self, xs: Sequence[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.cat(list(xs), dim=axis)

    def repeat(self, x: torch.Tensor, repeats: int) -> torch.Tensor:
        return x.repeat_interleave(repeats, dim=0)

    def _reduce(self, fn: Callable[..., Any], x: torch.Tensor, axis: int | None, keepdims: bool) -> torch.Tensor:
        return fn(x) if axis is None else fn(x, dim=axis, keepdim=keepdims)

    def any(self, x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        return self._reduce(torch.any, x, axis, keepdims)

    def all(self, x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        return self._reduce(torch.all, x, axis, keepdims)

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        return self._reduce(torch.sum, x, axis, keepdims)

    def max(self, x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        return self._reduce(torch.amax, x, axis, keepdims)

    def min(self, x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
        return self._reduce(torch.amin, x, axis, keepdims)

    def argmax(self, x: torch.Tensor) -> torch.Tensor:
        return torch.argmax(x, dim=-1)

    def softmax(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.softmax(x, dim=-1)

    def log_softmax(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.log_softmax(x, dim=-1)

    def cumsum(self, x: torch.Tensor) -> torch.Tensor:
        return x.cumsum(dim=-1)

    def topk(self, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        values, indices = torch.topk(x, k)
        return values, indices

    def sort(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        values, indices = torch.sort(x, descending=False)
        return values, indices

    def take_along_axis(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return torch.gather(x, -1, indices)

    def take(self, x: torch.Tensor, indices: Any, axis: int) -> torch.Tensor:
        if isinstance(indices, int) or (torch.is_tensor(indices) and indices.dim() == 0):
            return x.select(axis, int(indices))
        return torch.index_select(x, axis, indices.to(x.device))

    def gather_beams(self, x: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        while indices.dim() < x.dim():
            indices = indices.unsqueeze(-1)
        return torch.take_along_dim(x, indices, dim=1)

    def token_presence(self, ids: torch.Tensor, valid: torch.Tensor, vocab_size: int) -> torch.Tensor:
        counts = torch.zeros((ids.shape[0], vocab_size), dtype=torch.long, device=ids.device)
        return counts.scatter_add_(1, ids.long().clamp(0, vocab_size - 1), valid.long()) > 0

    def while_loop(self, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
        while bool(cond(state)):
            state = body(state)
        return state

    def sample(self, rng: Any, logits: torch.Tensor, num_samples: int) -> tuple[Any, torch.Tensor]:
        return rng, torch.multinomial(nn.functional.softmax(logits, dim=-1), num_samples=num_samples,
                                      generator=rng)

    def callback(self, fn: Callable[[Any], None], value: torch.Tensor) -> None:
        fn(value.cpu())

    def host_int(self, value: Any) -> int:
        return int(value)


register_ops("pretrained.torch.generation", TorchOps())


def past_length(past_key_values: Any) -> int:
    """Tokens already in a cache: `get_seq_length()` of a cache object, else the key length of a tuple cache
    `((key, value), ...)` with keys (batch, heads, length, head_dim)."""
    if hasattr(past_key_values, "get_seq_length"):
        return int(past_key_values.get_seq_length())
    return int(past_key_values[0][0].shape[-2])


class GenerationMixin(GenerationMixinBase):
    """`generate()` for PyTorch language models (mixed into `PreTrainedModel`; a model generates when it lists
    `GenerationMixin` among its bases or defines `prepare_inputs_for_generation`).

    Model hooks, with v4's defaults: `prepare_inputs_for_generation(input_ids, past_key_values=None,
    attention_mask=None, **kwargs)` feeds only the tokens the cache lacks and derives `position_ids` from the
    attention mask; `_update_model_kwargs_for_generation(outputs, model_kwargs)` keeps the new cache and extends the
    mask; `_reorder_cache(past_key_values, beam_idx)` reorders cache rows after a beam step.
    """

    _is_generation_mixin: ClassVar[bool] = True
    _generation_backend: ClassVar[str] = "torch"

    @property
    def _generation_ops(self) -> TorchOps:
        params = next(iter(self.parameters()), None)
        return TorchOps(None if params is None else params.device)

    @torch.no_grad()
    def generate(self, inputs: torch.Tensor | None = None, generation_config: GenerationConfig | None = None,
                 logits_processor: LogitsProcessorList | None = None,
                 stopping_criteria: StoppingCriteriaList | None = None, streamer: Any = None,
                 **kwargs: Any) -> Any:
        """Generate token ids after `inputs` (batch, prompt length; left-padded, with `attention_mask=`).

        Keyword arguments override `generation_config` (default: the model's `generation_config`): `max_new_tokens`,
        `do_sample`, `num_beams`, `temperature`, `top_k`, `top_p`, `min_p`, `repetition_penalty`,
        `no_repeat_ngram_size`, `bad_words_ids`, `min_new_tokens`, `eos_token_id`, `pad_token_id`,
        `num_return_sequences`, `length_penalty`, `early_stopping`, `output_scores`, `return_dict_in_generate`,
        ... (see [`GenerationConfig`][pretrained.generation.GenerationConfig]); the rest go to the model
        (`attention_mask`, ...). Sampling draws from PyTorch's global generator (`torch.manual_seed`), as v4.
        Returns the sequences (prompt + new tokens), or a `GenerateDecoderOnlyOutput` /
        `GenerateBeamDecoderOnlyOutput` with `return_dict_in_generate=True`.

        Example:
            >>> import torch
            >>> from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel
            >>> model = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, n_positions=16))
            >>> ids = torch.tensor([[0, 7, 8], [4, 5, 6]])
            >>> out = model.generate(ids, attention_mask=torch.tensor([[0, 1, 1], [1, 1, 1]]), max_new_tokens=3,
            ...                      pad_token_id=0)
            >>> tuple(out.shape)
            (2, 6)
        """
        return self._generate(inputs, generation_config, logits_processor, stopping_criteria, streamer, **kwargs)

    # ------------------------------------------------------------------------------------------ v4 model hooks
    def prepare_inputs_for_generation(self, input_ids: torch.Tensor, past_key_values: Any = None,
                                      attention_mask: torch.Tensor | None = None, **kwargs: Any) -> dict[str, Any]:
        """The forward inputs of one step: the tokens the cache lacks, `position_ids` from the attention mask
        (padding positions get 1, as v4), the cache, the mask and the other model kwargs that `forward` accepts.

        Example:
            >>> import torch
            >>> from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel
            >>> model = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2))
            >>> inputs = model.prepare_inputs_for_generation(torch.tensor([[0, 5, 6]]),
            ...                                              attention_mask=torch.tensor([[0, 1, 1]]))
            >>> inputs["position_ids"].tolist()
            [[1, 0, 1]]
        """
        parameters = self._forward_parameters()
        if past_key_values is not None:
            input_ids = input_ids[:, past_length(past_key_values):]
        inputs: dict[str, Any] = {"input_ids": input_ids}
        position_ids = kwargs.pop("position_ids", None)
        if position_ids is None and attention_mask is not None and "position_ids" in parameters:
            position_ids = attention_mask.long().cumsum(-1) - 1
            position_ids = position_ids.masked_fill(attention_mask == 0, 1)
        length = input_ids.shape[1]
        if position_ids is not None:
            inputs["position_ids"] = position_ids[:, -length:]
        if "token_type_ids" in kwargs and kwargs["token_type_ids"] is not None:
            inputs["token_type_ids"] = kwargs.pop("token_type_ids")[:, -length:]
        if past_key_values is not None or "past_key_values" in parameters:
            inputs["past_key_values"] = past_key_values
        if attention_mask is not None:
            inputs["attention_mask"] = attention_mask
        accepts_any = "**" in parameters
        inputs.update({k: v for k, v in kwargs.items() if k not in inputs and (accepts_any or k in parameters)})
        return inputs

    def _update_model_kwargs_for_generation(self, outputs: Any, model_kwargs: dict[str, Any],
                                            is_encoder_decoder: bool = False, num_new_tokens: int = 1
                                            ) -> dict[str, Any]:
        """After a forward pass: keep its `past_key_values`, extend `attention_mask` (and `token_type_ids`)."""
        model_kwargs["past_key_values"] = getattr(outputs, "past_key_values", None)
        token_type_ids = model_kwargs.get("token_type_ids")
        if token_type_ids is not None:
            model_kwargs["token_type_ids"] = torch.cat([token_type_ids, token_type_ids[:, -1:]], dim=-1)
        mask = model_kwargs.get("attention_mask")
        if mask is not None:
            model_kwargs["attention_mask"] = torch.cat([mask, mask.new_ones((mask.shape[0], num_new_tokens))], dim=-1)
        return model_kwargs

    def _reorder_cache(self, past_key_values: Any, beam_idx: torch.Tensor) -> Any:
        """Cache rows reordered to follow the beams (`beam_idx`: for each new row, the row it continues)."""
        if hasattr(past_key_values, "reorder_cache"):
            past_key_values.reorder_cache(beam_idx)
            return past_key_values
        return tuple(tuple(t.index_select(0, beam_idx.to(t.device)) for t in layer) for layer in past_key_values)

    # ------------------------------------------------------------------------------------------ pipeline hooks
    def _generation_inputs(self, inputs: Any, model_kwargs: dict[str, Any]) -> tuple[torch.Tensor, dict[str, Any]]:
        if inputs is None:
            inputs = model_kwargs.pop("input_ids", None)
        device = self._generation_ops.device
        input_ids = torch.as_tensor(inputs, device=device)
        if input_ids.dim() != 2 or input_ids.is_floating_point():
            raise ValueError(f"input_ids must be integer token ids of shape (batch, length), got {input_ids.dtype} "
                             f"{tuple(input_ids.shape)}")
        mask = model_kwargs.get("attention_mask")
        if mask is not None:
            mask = torch.as_tensor(mask, device=device)
            if tuple(mask.shape) != tuple(input_ids.shape):
                raise ValueError(f"`attention_mask` passed to `generate` must be 2D with the shape of input_ids "
                                 f"{tuple(input_ids.shape)}, got {tuple(mask.shape)}")
            model_kwargs["attention_mask"] = mask
        return input_ids, model_kwargs

    def _generation_model_kwargs(self, input_ids: torch.Tensor, spec: DecodeSpec, model_kwargs: dict[str, Any]
                                 ) -> dict[str, Any]:
        kwargs = {**model_kwargs, "use_cache": spec.use_cache}
        for flag in ("output_attentions", "output_hidden_states"):
            if getattr(spec, flag):
                kwargs[flag] = True
        return kwargs

    def _generation_forward(self, spec: DecodeSpec, extras: dict[str, Any]) -> Callable[..., Any]:
        options = self._forward_options()

        def forward(ids: torch.Tensor, cur_len: int, kwargs: dict[str, Any], first: bool) -> Any:
            inputs = self.prepare_inputs_for_generation(ids[:, :cur_len], **kwargs)
            outputs = self(**inputs, **options)
            kwargs = self._update_model_kwargs_for_generation(outputs, kwargs)
            for flag, name in (("output_attentions", "attentions"), ("output_hidden_states", "hidden_states")):
                if getattr(spec, flag):
                    extras[name] = (*extras.get(name, ()), getattr(outputs, name, None))
            return outputs.logits[:, -1, :].to(copy=True, dtype=torch.float32), kwargs

        return forward


__all__ = [
    "EosTokenCriteria",
    "ForcedBOSTokenLogitsProcessor",
    "ForcedEOSTokenLogitsProcessor",
    "GenerationMixin",
    "LogitsProcessor",
    "LogitsProcessorList",
    "LogitsWarper",
    "MaxLengthCriteria",
    "MaxTimeCriteria",
    "MinLengthLogitsProcessor",
    "NoBadWordsLogitsProcessor",
    "NoRepeatNGramLogitsProcessor",
    "RepetitionPenaltyLogitsProcessor",
    "StoppingCriteria",
    "StoppingCriteriaList",
    "SuppressTokensAtBeginLogitsProcessor",
    "SuppressTokensLogitsProcessor",
    "TemperatureLogitsWarper",
    "TopKLogitsWarper",
    "TopPLogitsWarper",
    "TorchOps",
    "past_length",
]
