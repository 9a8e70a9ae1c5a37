"""The model-level API transformers v4 users rely on beyond loading and saving, once for every backend:
`config_class` from a `config: MyConfig` annotation, `_from_config`, attention implementations
(`set_attn_implementation`), `can_generate`, `model_tags` / `add_model_tags`, and the padding warning.
[`PreTrainedBase`][pretrained.modeling_base.PreTrainedBase] inherits it.

Example:
    >>> from pretrained.models.bert import BertConfig, BertModel
    >>> model = BertModel._from_config(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2),
    ...                                attn_implementation="eager")
    >>> model.config._attn_implementation, BertModel.can_generate()
    ('eager', False)
"""

from __future__ import annotations

import copy
import sys
import typing
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

import numpy as np

from ..attention import check_attn_implementation, supported_attn_implementations
from ..configuration import PretrainedConfig, dtype_name
from ..utils import logging

logger = logging.get_logger(__name__)

# the library's own classes: a `generate` / `prepare_inputs_for_generation` defined here does not make a model
# generative (v4: PreTrainedModel itself is not)
_LIBRARY_MODULES = ("pretrained.modeling_base", "pretrained.torch.modeling", "pretrained.tf.modeling",
                    "pretrained.flax.modeling")
_GENERATION_METHODS = ("generate", "prepare_inputs_for_generation")


def config_class_from_annotation(cls: type) -> type | None:
    """The class of a `config: MyConfig` annotation on `cls` (its own first, then its bases'), or None.

    >>> from pretrained import PretrainedConfig
    >>> class AnnotatedConfig(PretrainedConfig):
    ...     model_type = "annotated"
    >>> class AnnotatedModel:
    ...     config: AnnotatedConfig
    >>> config_class_from_annotation(AnnotatedModel) is AnnotatedConfig
    True
    """
    for klass in cls.__mro__:
        annotation = klass.__dict__.get("__annotations__", {}).get("config")
        if annotation is None:
            continue
        if isinstance(annotation, str):  # `from __future__ import annotations`
            annotation = _resolve_config_annotation(annotation, klass)
        if isinstance(annotation, type) and issubclass(annotation, PretrainedConfig):
            if annotation is not PretrainedConfig:
                return annotation
    return None



def _resolve_config_annotation(annotation: str, klass: type) -> Any:
    """A string annotation evaluated in the module of `klass`; for a class defined in a function (whose module does
    not hold the config class), the one `PretrainedConfig` subclass of that name, if there is exactly one."""
    namespace = {**vars(sys.modules.get(klass.__module__, typing)), klass.__name__: klass}
    try:
        return eval(annotation, namespace)  # noqa: S307 - the class's own annotation
    except Exception:
        pass
    matches = [c for c in _config_subclasses() if c.__name__ == annotation.strip()]
    return matches[0] if len(matches) == 1 else None


def _config_subclasses() -> list[type]:
    found, pending = [], [PretrainedConfig]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found

def padding_warning(first_and_last: np.ndarray | None, config: Any) -> None:
    """v4's warning when the `input_ids` look padded (the pad token in their first or last column) and no
    `attention_mask` came with them; `first_and_last` is None when the ids are not concrete (tracing).

    >>> from pretrained import PretrainedConfig
    >>> padding_warning(np.array([[5, 0]]), PretrainedConfig(pad_token_id=0))  # logs the warning (once)
    """
    pad = getattr(config, "pad_token_id", None)
    if first_and_last is None or pad is None or not np.any(first_and_last == pad):
        return
    message = ("The input_ids contain the pad token (id %s) in their first or last position and no attention_mask "
               "was given: pass an attention_mask so that padding is not attended to.")
    shared = [name for name in ("bos_token_id", "eos_token_id", "sep_token_id") if getattr(config, name, None) == pad]
    if shared:
        message += f" (The pad token is also the {' / '.join(shared)}: ignore this warning if that is what you see.)"
    logger.warning_once(message, pad)


def chunk_count(length: int, chunk_size: int) -> int:
    """How many chunks `apply_chunking_to_forward` splits a dimension of `length` into (`chunk_size` 0: one, no
    chunking); `ValueError` unless `chunk_size` divides `length`.

    >>> chunk_count(8, 2), chunk_count(8, 0)
    (4, 1)
    """
    if chunk_size <= 0:
        return 1
    if length % chunk_size:
        raise ValueError(f"The dimension to be chunked ({length}) has to be a multiple of the chunk size "
                         f"(chunk_size_feed_forward={chunk_size})")
    return length // chunk_size


class ModelApiMixin:
    """The v4 model API around loading (see the module docstring); `PreTrainedBase` inherits it."""

    config_class: ClassVar[type[PretrainedConfig] | None] = None
    _supports_sdpa: ClassVar[bool] = False
    _keep_in_fp32_modules: ClassVar[list[str] | None] = None  # kept in float32 when loading in float16
    _keep_in_fp32_modules_strict: ClassVar[list[str] | None] = None  # ... in float16 and bfloat16
    model_tags: list[str] | None = None

    config: PretrainedConfig

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """`config_class` defaults to the class of a `config: MyConfig` annotation (v4.52+)."""
        super().__init_subclass__(**kwargs)
        if "config_class" not in cls.__dict__:
            annotated = config_class_from_annotation(cls)
            inherited = cls.config_class
            if annotated is not None and (inherited is None or issubclass(annotated, inherited)):
                cls.config_class = annotated

    @classmethod
    def _from_config(cls, config: PretrainedConfig, *, dtype: Any = None, torch_dtype: Any = None,
                     attn_implementation: str | None = None, **kwargs: Any) -> Any:
        """A new, randomly initialised model of this class for a copy of `config`, its weights in `dtype` (v4's
        `torch_dtype` accepted) and its attention `attn_implementation` (what the Auto classes' `from_config` calls).

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> model = BertModel._from_config(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2),
            ...                                dtype="float16")
            >>> model.dtype
            torch.float16
        """
        config = copy.deepcopy(config)
        if attn_implementation is not None:
            config._attn_implementation = check_attn_implementation(cls, attn_implementation)
        return cls._build_with_dtype(config, dtype_name(dtype if dtype is not None else torch_dtype), kwargs)

    def set_attn_implementation(self, attn_implementation: str) -> None:
        """Switch the model's attention implementation (`"eager"` or `"sdpa"`, when the class supports it); the
        next call uses it. An unsupported value raises `ConfigError` listing the supported ones.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> model = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> model.set_attn_implementation("eager"); model.config._attn_implementation
            'eager'
        """
        self.config._attn_implementation = check_attn_implementation(type(self), attn_implementation)
        for module in self._submodules():
            if isinstance(getattr(module, "attn_implementation", None), str):
                module.attn_implementation = attn_implementation

    @classmethod
    def supported_attn_implementations(cls) -> tuple[str, ...]:
        """The values `attn_implementation=` accepts for this class.

        >>> from pretrained.models.resnet import ResnetModel
        >>> ResnetModel.supported_attn_implementations()
        ('eager',)
        """
        return supported_attn_implementations(cls)

    @classmethod
    def can_generate(cls) -> bool:
        """Whether the class can `generate`: it (or a class it inherits from, other than the library's base classes)
        defines `generate` or `prepare_inputs_for_generation`, as in v4. False for the base classes themselves.

        Example:
            >>> from pretrained.models.bert import BertModel
            >>> BertModel.can_generate(), type("Gen", (BertModel,), {"generate": lambda self: None}).can_generate()
            (False, True)
        """
        for klass in cls.__mro__:
            if klass.__module__.startswith(_LIBRARY_MODULES) or klass.__module__.split(".")[0] in (
                    "builtins", "torch", "keras", "tensorflow", "flax", "jax"):
                continue
            if any(name in klass.__dict__ for name in _GENERATION_METHODS):
                return True
        return False

    def add_model_tags(self, tags: str | Iterable[str]) -> None:
        """Add tags written into the model card's metadata on `push_to_hub` (kept once each, in order).

        Example:
            >>> from pretrained.models.resnet import ResnetConfig, ResnetModel
            >>> model = ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1]))
            >>> model.add_model_tags(["vision", "demo"]); model.add_model_tags("vision"); model.model_tags
            ['vision', 'demo']
        """
        tags = [tags] if isinstance(tags, str) else list(tags)
        self.model_tags = list(dict.fromkeys([*(self.model_tags or []), *tags]))

    # ------------------------------------------------------------------------------------------ backend hooks
    @classmethod
    def _build_with_dtype(cls, config: PretrainedConfig, dtype: str | None, kwargs: dict[str, Any]) -> Any:
        """`cls(config, **kwargs)`, randomly initialised, with floating weights in `dtype` (None: the default)."""
        raise NotImplementedError

    def _submodules(self) -> Iterator[Any]:
        """Every sub-module (layer) of the model, the model included."""
        raise NotImplementedError
