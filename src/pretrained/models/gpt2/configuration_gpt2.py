"""`GPT2Config`: the fields (and defaults) of transformers' GPT-2 config, so its config.json loads as is."""

from __future__ import annotations

from typing import Any

from pretrained.configuration import PretrainedConfig
from pretrained.errors import ConfigError

ACTIVATIONS = ("gelu_new", "gelu", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh")


class GPT2Config(PretrainedConfig):
    """Configuration of a GPT-2 decoder (GPT-2 small defaults: 124 M parameters).

    v4's aliases work: `hidden_size` = `n_embd`, `num_hidden_layers` = `n_layer`, `num_attention_heads` = `n_head`,
    `max_position_embeddings` = `n_positions`.

    Example:
        >>> from pretrained.models.gpt2 import GPT2Config
        >>> config = GPT2Config(n_embd=64, n_layer=2, n_head=4)
        >>> config.hidden_size, config.max_position_embeddings, config.eos_token_id
        (64, 1024, 50256)
    """

    model_type = "gpt2"
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {
        "hidden_size": "n_embd",
        "max_position_embeddings": "n_positions",
        "num_attention_heads": "n_head",
        "num_hidden_layers": "n_layer",
    }

    def __init__(
        self,
        vocab_size: int = 50257,
        n_positions: int = 1024,
        n_embd: int = 768,
        n_layer: int = 12,
        n_head: int = 12,
        n_inner: int | None = None,
        activation_function: str = "gelu_new",
        resid_pdrop: float = 0.1,
        embd_pdrop: float = 0.1,
        attn_pdrop: float = 0.1,
        layer_norm_epsilon: float = 1e-5,
        initializer_range: float = 0.02,
        summary_type: str = "cls_index",
        summary_use_proj: bool = True,
        summary_activation: str | None = None,
        summary_proj_to_labels: bool = True,
        summary_first_dropout: float = 0.1,
        scale_attn_weights: bool = True,
        use_cache: bool = True,
        bos_token_id: int = 50256,
        eos_token_id: int = 50256,
        scale_attn_by_inverse_layer_idx: bool = False,
        reorder_and_upcast_attn: bool = False,
        **kwargs: Any,
    ) -> None:
        if n_embd % n_head != 0:
            raise ConfigError(f"`n_embd` ({n_embd}) must be divisible by `n_head` ({n_head})")
        if activation_function not in ACTIVATIONS:
            raise ConfigError(f"activation_function {activation_function!r} is not supported (choose from "
                              f"{list(ACTIVATIONS)})")
        if kwargs.get("add_cross_attention"):
            raise ConfigError("GPT-2 with cross-attention (`add_cross_attention=True`) is not supported")
        self.vocab_size = vocab_size
        self.n_positions = n_positions
        self.n_embd = n_embd
        self.n_layer = n_layer
        self.n_head = n_head
        self.n_inner = n_inner
        self.activation_function = activation_function
        self.resid_pdrop = resid_pdrop
        self.embd_pdrop = embd_pdrop
        self.attn_pdrop = attn_pdrop
        self.layer_norm_epsilon = layer_norm_epsilon
        self.initializer_range = initializer_range
        self.summary_type = summary_type
        self.summary_use_proj = summary_use_proj
        self.summary_activation = summary_activation
        self.summary_first_dropout = summary_first_dropout
        self.summary_proj_to_labels = summary_proj_to_labels
        self.scale_attn_weights = scale_attn_weights
        self.use_cache = use_cache
        self.scale_attn_by_inverse_layer_idx = scale_attn_by_inverse_layer_idx
        self.reorder_and_upcast_attn = reorder_and_upcast_attn
        super().__init__(bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)

    @property
    def inner_dim(self) -> int:
        """The MLP width: `n_inner`, or 4 x `n_embd`."""
        return self.n_inner if self.n_inner is not None else 4 * self.n_embd
