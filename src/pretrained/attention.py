"""Attention implementations, the framework-free half: which ones exist, which a model class supports, which one a
model gets by default, and when a call falls back to the eager one. The kernels are each backend's
`attention.py` (`pretrained.torch.attention`, `pretrained.tf.attention`, `pretrained.flax.attention`).

- `"eager"`: the attention written out (scores, softmax, dropout, head mask); returns the probabilities.
- `"sdpa"`: the framework's fused scaled-dot-product attention: `torch.nn.functional.scaled_dot_product_attention`,
  `keras.ops.dot_product_attention`, `jax.nn.dot_product_attention`. A model class opts in with
  `_supports_sdpa = True`; it is then the default, as in transformers v4 (PyTorch).

A call that needs what a fused kernel cannot give (the attention probabilities, a head mask, or dropout where the
kernel has none) runs the eager implementation instead, with a one-time warning (v4 did the same for
`output_attentions` and `head_mask`).

Example:
    >>> from pretrained.attention import supported_attn_implementations
    >>> class MyModel:
    ...     _supports_sdpa = True
    >>> supported_attn_implementations(MyModel)
    ('eager', 'sdpa')
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigError
from .utils import logging

logger = logging.get_logger(__name__)

EAGER = "eager"
SDPA = "sdpa"
ATTN_IMPLEMENTATIONS = (EAGER, SDPA)


def supported_attn_implementations(model_class: type) -> tuple[str, ...]:
    """The attention implementations `model_class` accepts: `"eager"`, and `"sdpa"` when `_supports_sdpa`."""
    return (EAGER, SDPA) if getattr(model_class, "_supports_sdpa", False) else (EAGER,)


def check_attn_implementation(model_class: type, implementation: Any) -> str:
    """`implementation` when `model_class` supports it, else `ConfigError` naming the class, the option and the
    supported values.

    >>> class Plain:
    ...     pass
    >>> check_attn_implementation(Plain, "sdpa")
    Traceback (most recent call last):
    ...
    pretrained.errors.ConfigError: Plain does not support attn_implementation='sdpa': supported attn_implementation values are ['eager'] (a model supports 'sdpa' when its class sets _supports_sdpa = True)
    """
    supported = supported_attn_implementations(model_class)
    if implementation not in supported:
        hint = "" if SDPA in supported else " (a model supports 'sdpa' when its class sets _supports_sdpa = True)"
        raise ConfigError(
            f"{model_class.__name__} does not support attn_implementation={implementation!r}: supported "
            f"attn_implementation values are {list(supported)}{hint}"
        )
    return implementation


def autoset_attn_implementation(model_class: type, config: Any) -> None:
    """Give `config` the attention implementation the model is built with: the one it names (checked), else the
    class's default (`"sdpa"` when supported, else `"eager"`).

    >>> from pretrained import PretrainedConfig
    >>> class Fused:
    ...     _supports_sdpa = True
    >>> config = PretrainedConfig(); autoset_attn_implementation(Fused, config); config._attn_implementation
    'sdpa'
    """
    requested = getattr(config, "_attn_implementation_internal", None)
    if requested is None:
        config._attn_implementation = supported_attn_implementations(model_class)[-1]
    else:
        check_attn_implementation(model_class, requested)


def effective_implementation(implementation: str, *, output_attentions: bool = False, head_mask: bool = False,
                             dropout: bool = False, caller: str = "attention") -> str:
    """The implementation one call runs: `implementation`, or `"eager"` (warned once per reason) when the call
    asks for attention probabilities, applies a head mask, or needs dropout the fused kernel lacks.

    >>> effective_implementation("sdpa"), effective_implementation("eager", output_attentions=True)
    ('sdpa', 'eager')
    """
    if implementation == EAGER:
        return EAGER
    reasons = [name for name, needed in (("output_attentions=True", output_attentions), ("a head_mask", head_mask),
                                         ("attention dropout in training", dropout)) if needed]
    if not reasons:
        return implementation
    logger.warning_once(
        "%s: attn_implementation=%r cannot give %s; running the eager attention for these calls (load with "
        "attn_implementation='eager' to make that the default).", caller, implementation, " or ".join(reasons))
    return EAGER


def attention_head_size(hidden_size: int, num_attention_heads: int) -> int:
    """`hidden_size // num_attention_heads`, or `ConfigError` when the heads do not divide the hidden size (checked
    when the model is built, as v4 does, not when the config is).

    >>> attention_head_size(32, 4)
    8
    >>> attention_head_size(37, 4)
    Traceback (most recent call last):
    ...
    pretrained.errors.ConfigError: The hidden size (37) is not a multiple of the number of attention heads (4)
    """
    for name, value in (("hidden_size", hidden_size), ("num_attention_heads", num_attention_heads)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if hidden_size % num_attention_heads != 0:
        raise ConfigError(
            f"The hidden size ({hidden_size}) is not a multiple of the number of attention heads ({num_attention_heads})"
        )
    return hidden_size // num_attention_heads
