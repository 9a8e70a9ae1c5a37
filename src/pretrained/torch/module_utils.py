"""`ModuleUtilsMixin`: the small helpers every PyTorch model gets (device, dtype, attention and head masks, counts).

Example:
    >>> import torch
    >>> from torch import nn
    >>> from pretrained.torch import ModuleUtilsMixin
    >>> class Tiny(nn.Module, ModuleUtilsMixin):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.linear = nn.Linear(4, 2)
    >>> model = Tiny()
    >>> model.num_parameters(), model.dtype
    (10, torch.float32)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..modeling_base import chunk_count, padding_warning
from ..utils import logging

logger = logging.get_logger(__name__)


class ModuleUtilsMixin:
    """Helpers mixed into `PreTrainedModel` (usable on any `nn.Module`)."""

    # ------------------------------------------------------------------------------------------ device and dtype
    @property
    def device(self) -> torch.device:
        """The device of the first parameter (or buffer).

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(2, 2).device
            device(type='cpu')
        """
        for tensor in _tensors(self):
            return tensor.device
        return torch.device("cpu")

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the first floating parameter (or buffer); `torch.get_default_dtype()` when there is none.

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(2, 2).half().dtype
            torch.float16
        """
        first = None
        for tensor in _tensors(self):
            first = first or tensor.dtype
            if tensor.is_floating_point():
                return tensor.dtype
        return first or torch.get_default_dtype()

    # ------------------------------------------------------------------------------------------ attention masks
    def invert_attention_mask(self, encoder_attention_mask: torch.Tensor) -> torch.Tensor:
        """A 2-D `(batch, seq)` or 3-D `(batch, from, to)` 0/1 mask -> an additive 4-D mask: 0 where attended, the
        dtype's minimum where masked.

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> m = type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(2, 2)
            >>> m.invert_attention_mask(torch.tensor([[1, 0]]))[0, 0, 0].tolist() == [0.0, torch.finfo(torch.float32).min]
            True
        """
        if encoder_attention_mask.dim() == 3:
            extended = encoder_attention_mask[:, None, :, :]
        elif encoder_attention_mask.dim() == 2:
            extended = encoder_attention_mask[:, None, None, :]
        else:
            raise ValueError(f"invert_attention_mask expects a 2-D or 3-D mask, got shape {tuple(encoder_attention_mask.shape)}")
        extended = extended.to(dtype=self.dtype)
        return (1.0 - extended) * torch.finfo(self.dtype).min

    @staticmethod
    def create_extended_attention_mask_for_decoder(
        input_shape: tuple[int, ...], attention_mask: torch.Tensor, device: torch.device | None = None
    ) -> torch.Tensor:
        """A causal mask `(batch, 1, seq, seq_with_past)` combined with a padding mask `(batch, seq_with_past)`.

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> ModuleUtilsMixin.create_extended_attention_mask_for_decoder((1, 2), torch.ones(1, 2))[0, 0].tolist()
            [[1.0, 0.0], [1.0, 1.0]]
        """
        device = attention_mask.device if device is None else device
        batch_size, seq_length = input_shape[:2]
        seq_ids = torch.arange(seq_length, device=device)
        causal = seq_ids[None, None, :].repeat(batch_size, seq_length, 1) <= seq_ids[None, :, None]
        causal = causal.to(attention_mask.dtype)
        past = attention_mask.shape[1] - causal.shape[1]
        if past > 0:  # cached keys from earlier steps: all visible
            prefix = torch.ones((batch_size, seq_length, past), device=device, dtype=causal.dtype)
            causal = torch.cat([prefix, causal], dim=-1)
        return causal[:, None, :, :] * attention_mask[:, None, None, :]

    def get_extended_attention_mask(
        self,
        attention_mask: torch.Tensor,
        input_shape: tuple[int, ...],
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ) -> torch.Tensor:
        """A broadcastable additive mask: 0 for attended positions, the dtype's minimum for masked ones.

        3-D masks `(batch, from, to)` become `(batch, 1, from, to)`; 2-D padding masks `(batch, seq)` become
        `(batch, 1, 1, seq)`, or, when `config.is_decoder`, a causal mask times the padding mask.

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> m = type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(2, 2)
            >>> m.get_extended_attention_mask(torch.tensor([[1, 1, 0]]), (1, 3)).shape
            torch.Size([1, 1, 1, 3])
        """
        dtype = dtype or self.dtype
        if attention_mask.dim() == 3:
            extended = attention_mask[:, None, :, :]
        elif attention_mask.dim() == 2:
            config = getattr(self, "config", None)
            if config is not None and getattr(config, "is_decoder", False):
                extended = self.create_extended_attention_mask_for_decoder(input_shape, attention_mask, device)
            else:
                extended = attention_mask[:, None, None, :]
        else:
            raise ValueError(
                f"Wrong shape for input_ids (shape {tuple(input_shape)}) or attention_mask (shape "
                f"{tuple(attention_mask.shape)}): the mask must be 2-D (batch, seq) or 3-D (batch, from, to)"
            )
        extended = extended.to(dtype=dtype)
        return (1.0 - extended) * torch.finfo(dtype).min

    def get_head_mask(
        self, head_mask: torch.Tensor | None, num_hidden_layers: int, is_attention_chunked: bool = False
    ) -> torch.Tensor | list[None]:
        """`None` -> `[None] * num_hidden_layers`; a `(heads,)` or `(layers, heads)` 0/1 mask -> a
        `(layers, batch=1, heads, 1, 1)` mask in the model's dtype (1 keeps a head, 0 masks it).

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> m = type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(2, 2)
            >>> m.get_head_mask(torch.ones(4), 3).shape, m.get_head_mask(None, 2)
            (torch.Size([3, 1, 4, 1, 1]), [None, None])
        """
        if head_mask is None:
            return [None] * num_hidden_layers
        head_mask = self._convert_head_mask_to_5d(head_mask, num_hidden_layers)
        if is_attention_chunked:
            head_mask = head_mask.unsqueeze(-1)
        return head_mask

    def _convert_head_mask_to_5d(self, head_mask: torch.Tensor, num_hidden_layers: int) -> torch.Tensor:
        if head_mask.dim() == 1:
            head_mask = head_mask[None, None, :, None, None].expand(num_hidden_layers, -1, -1, -1, -1)
        elif head_mask.dim() == 2:
            head_mask = head_mask[:, None, :, None, None]
        else:
            raise ValueError(f"head_mask must be 1-D (heads) or 2-D (layers, heads), got {head_mask.dim()}-D")
        if head_mask.shape[0] != num_hidden_layers:
            raise ValueError(f"head_mask covers {head_mask.shape[0]} layers, the model has {num_hidden_layers}")
        return head_mask.to(dtype=self.dtype)

    def warn_if_padding_and_no_attention_mask(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None
                                              ) -> None:
        """Warn once when `input_ids` look padded (the config's `pad_token_id` first or last in a row) and no
        `attention_mask` was given (v4); silent while tracing or compiling.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> model = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> model.warn_if_padding_and_no_attention_mask(torch.tensor([[5, 6, 0]]), None)  # logs a warning
        """
        if attention_mask is not None or torch.jit.is_tracing() or torch.compiler.is_compiling():
            return
        ends = input_ids[:, [-1, 0]].detach().cpu().numpy() if input_ids.dim() == 2 else None
        padding_warning(ends, getattr(self, "config", None))

    # ------------------------------------------------------------------------------------------ counts
    def num_parameters(self, only_trainable: bool = False, exclude_embeddings: bool = False) -> int:
        """The number of parameters (shared ones counted once), optionally only trainable ones or without
        the weights of `nn.Embedding` modules.

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(3, 2).num_parameters()
            8
        """
        excluded: set[int] = set()
        if exclude_embeddings:
            excluded = {id(m.weight) for m in self.modules() if isinstance(m, nn.Embedding)}
        return sum(
            p.numel()
            for p in self.parameters()
            if id(p) not in excluded and (p.requires_grad or not only_trainable)
        )

    def estimate_tokens(self, input_dict: dict[str, Any]) -> int:
        """Tokens in a batch: the element count of `input_dict[self.main_input_name]` (0 when absent).

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> m = type("M", (torch.nn.Linear, ModuleUtilsMixin), {"main_input_name": "input_ids"})(2, 2)
            >>> m.estimate_tokens({"input_ids": torch.zeros(2, 5)})
            10
        """
        name = getattr(self, "main_input_name", "input_ids")
        if name in input_dict:
            return input_dict[name].numel()
        if not getattr(self, "_warned_estimate_tokens", False):
            logger.warning("Could not estimate the number of tokens of the input (no %r in it); using 0", name)
            object.__setattr__(self, "_warned_estimate_tokens", True)
        return 0

    def floating_point_ops(self, input_dict: dict[str, Any], exclude_embeddings: bool = True) -> int:
        """Approximate training FLOPs of one forward + backward pass: `6 * tokens * parameters`.

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> m = type("M", (torch.nn.Linear, ModuleUtilsMixin), {"main_input_name": "x"})(3, 2)
            >>> m.floating_point_ops({"x": torch.zeros(1, 4)})
            192
        """
        return 6 * self.estimate_tokens(input_dict) * self.num_parameters(exclude_embeddings=exclude_embeddings)

    # ------------------------------------------------------------------------------------------ memory hooks
    def add_memory_hooks(self) -> None:
        """Record each module's RSS change during forward in `module.mem_rss_diff` (needs psutil).

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> m = type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(2, 2)
            >>> m.add_memory_hooks(); _ = m(torch.ones(1, 2)); isinstance(m.mem_rss_diff, int)
            True
        """
        import psutil  # noqa: F401 - fail here, not inside a hook

        for module in self.modules():
            module.register_forward_pre_hook(_mem_pre_forward)
            module.register_forward_hook(_mem_post_forward)
        self.reset_memory_hooks_state()

    def reset_memory_hooks_state(self) -> None:
        """Zero the counters `add_memory_hooks` accumulates.

        Example:
            >>> from pretrained.torch import ModuleUtilsMixin
            >>> m = type("M", (torch.nn.Linear, ModuleUtilsMixin), {})(2, 2)
            >>> m.reset_memory_hooks_state(); m.mem_rss_diff
            0
        """
        for module in self.modules():
            module.mem_rss_diff = 0
            module.mem_rss_pre_forward = 0


def apply_chunking_to_forward(forward_fn: Callable[..., torch.Tensor], chunk_size: int, chunk_dim: int,
                              *input_tensors: torch.Tensor) -> torch.Tensor:
    """`forward_fn(*input_tensors)` computed in chunks of `chunk_size` along `chunk_dim` (less memory for the
    feed-forward of long sequences; `chunk_size` 0 runs it whole), as v4's `config.chunk_size_feed_forward`.

    Example:
        >>> x = torch.arange(8.0).reshape(1, 4, 2)
        >>> torch.equal(apply_chunking_to_forward(lambda t: t * 2, 2, 1, x), x * 2)
        True
    """
    chunks = chunk_count(input_tensors[0].shape[chunk_dim], chunk_size)
    if chunks == 1:
        return forward_fn(*input_tensors)
    pieces = zip(*(tensor.chunk(chunks, dim=chunk_dim) for tensor in input_tensors))
    return torch.cat([forward_fn(*piece) for piece in pieces], dim=chunk_dim)


def _tensors(module: Any):
    yield from module.parameters()
    yield from module.buffers()


def _rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _mem_pre_forward(module: nn.Module, *args: Any) -> None:
    module.mem_rss_pre_forward = _rss()


def _mem_post_forward(module: nn.Module, *args: Any) -> None:
    module.mem_rss_diff = getattr(module, "mem_rss_diff", 0) + (_rss() - module.mem_rss_pre_forward)
