"""The options of `from_pretrained`, `save_pretrained` and `push_to_hub`: one table each, one meaning in every
backend, and a `TypeError` that names the closest valid option for anything else.

Example:
    >>> from pretrained.modeling_base import parse_load_options
    >>> kwargs = {"revision": "v1", "dtype": "float16", "hidden_size": 8}
    >>> options = parse_load_options(kwargs)
    >>> options.hub, options.dtype, kwargs
    ({'revision': 'v1'}, 'float16', {'hidden_size': 8})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..checkpoint import DEFAULT_MAX_SHARD_SIZE
from ..hub import HUB_OPTIONS, PUSH_OPTIONS
from ..utils.options import check_unknown_options, pop_deprecated_token

# transformers v4 flags that the canonical checkpoint makes unnecessary: accepted and ignored
COMPAT_NOOPS = ("from_pt", "from_tf", "from_flax", "_fast_init", "low_cpu_mem_usage", "_from_auto", "_from_pipeline",
                "resume_download", "proxies", "mirror", "_commit_hash", "trust_remote_code")

# the load options every backend understands, with their defaults
LOAD_OPTIONS: dict[str, Any] = {
    "dtype": None,
    "variant": None,
    "use_safetensors": None,
    "output_loading_info": False,
    "ignore_mismatched_sizes": False,
    "strict": False,
    "verify": False,
    "attn_implementation": None,
}

# the save options every backend understands, with their defaults (push options come on top)
SAVE_OPTIONS: dict[str, Any] = {
    "is_main_process": True,
    "state_dict": None,
    "save_function": None,
    "push_to_hub": False,
    "max_shard_size": DEFAULT_MAX_SHARD_SIZE,
    "safe_serialization": True,
    "variant": None,
    "token": None,
    "save_peft_format": True,
}


@dataclass
class LoadOptions:
    """What the user asked `from_pretrained` for, split off the keyword arguments.

    `backend` holds the options of one backend only (declared by its base class in `_backend_load_options`, e.g.
    torch's `device`, Flax's `param_dtype`), already defaulted.
    """

    hub: dict[str, Any] = field(default_factory=dict)
    dtype: Any = None
    variant: str | None = None
    use_safetensors: bool | None = None
    output_loading_info: bool = False
    ignore_mismatched_sizes: bool = False
    strict: bool = False
    verify: bool = False
    attn_implementation: str | None = None
    backend: dict[str, Any] = field(default_factory=dict)


def parse_load_options(kwargs: dict[str, Any], backend_options: Mapping[str, Any] | None = None) -> LoadOptions:
    """Pop every load option out of `kwargs` (what is left configures the config or the model's `__init__`).

    `torch_dtype` (v4) means `dtype`; `use_auth_token` (v4, deprecated) means `token`.
    """
    options = LoadOptions(hub={name: kwargs.pop(name) for name in HUB_OPTIONS if name in kwargs})
    token = pop_deprecated_token(kwargs, options.hub.get("token"))
    if token is not None:
        options.hub["token"] = token
    for name in COMPAT_NOOPS:
        kwargs.pop(name, None)
    legacy_dtype = kwargs.pop("torch_dtype", None)
    for name, default in LOAD_OPTIONS.items():
        setattr(options, name, kwargs.pop(name, default))
    if options.dtype is None:
        options.dtype = legacy_dtype
    options.backend = {name: kwargs.pop(name, default) for name, default in (backend_options or {}).items()}
    return options


def known_load_options(backend_options: Mapping[str, Any] | None = None) -> list[str]:
    """Every keyword `from_pretrained` accepts as an option (for typo suggestions)."""
    return [*HUB_OPTIONS, *LOAD_OPTIONS, *(backend_options or {}), "config", "state_dict", "torch_dtype",
            "use_auth_token", *COMPAT_NOOPS]


def known_save_options(backend_options: Mapping[str, Any] | None = None) -> list[str]:
    """Every keyword `save_pretrained` accepts (its own options, the backend's, and those it passes to
    `push_to_hub`)."""
    return [*SAVE_OPTIONS, *(backend_options or {}), *PUSH_OPTIONS, "repo_id", "use_auth_token"]


__all__ = ["LoadOptions", "check_unknown_options", "parse_load_options", "pop_deprecated_token"]
