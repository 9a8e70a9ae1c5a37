"""`PreTrainedModel`: the PyTorch base class (transformers v4's API, one canonical checkpoint).

Example:
    >>> import tempfile, torch
    >>> from torch import nn
    >>> from pretrained import PretrainedConfig
    >>> from pretrained.torch import PreTrainedModel
    >>> class TinyConfig(PretrainedConfig):
    ...     model_type = "tiny"
    ...     def __init__(self, hidden=4, **kwargs):
    ...         self.hidden = hidden
    ...         super().__init__(**kwargs)
    >>> class TinyModel(PreTrainedModel):
    ...     config_class = TinyConfig
    ...     def __init__(self, config):
    ...         super().__init__(config)
    ...         self.linear = nn.Linear(config.hidden, config.hidden)
    ...         self.post_init()
    ...     def forward(self, x):
    ...         return self.linear(x)
    >>> model = TinyModel(TinyConfig())
    >>> path = tempfile.mkdtemp()
    >>> model.save_pretrained(path)
    >>> reloaded = TinyModel.from_pretrained(path)
    >>> torch.equal(reloaded.linear.weight, model.linear.weight)
    True
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any, ClassVar

import torch
from torch import nn

from .. import heads, loading, resizing
from ..checkpoint import DEFAULT_MAX_SHARD_SIZE, HostTensor
from ..configuration import PretrainedConfig
from ..hub import WEIGHT_PATTERNS, PushToHubMixin
from ..utils import logging
from . import embeddings as _embeddings
from . import loading as _loading
from .module_utils import ModuleUtilsMixin

logger = logging.get_logger(__name__)


class PreTrainedModel(nn.Module, ModuleUtilsMixin, PushToHubMixin):
    """Base class of PyTorch models: configuration handling, save / load / push, fast init, resizing, pruning.

    Subclasses set `config_class` (and `base_model_prefix` for models with heads), build their layers in
    `__init__(config)` and end it with `self.post_init()`; they implement `_init_weights(module)`.
    """

    config_class: ClassVar[type[PretrainedConfig] | None] = None
    base_model_prefix: ClassVar[str] = ""
    main_input_name: ClassVar[str] = "input_ids"
    _no_split_modules: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_load_missing: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_load_unexpected: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_save: ClassVar[list[str] | None] = None
    _tied_weights_keys: ClassVar[list[str] | None] = None
    supports_gradient_checkpointing: ClassVar[bool] = False
    _supports_assign_param_buffer: ClassVar[bool] = True
    _auto_class: ClassVar[str | None] = None
    _push_replaces: ClassVar[list[str]] = WEIGHT_PATTERNS
    framework: ClassVar[str] = "pt"

    def __init__(self, config: PretrainedConfig, *inputs: Any, **kwargs: Any) -> None:
        """Store `config` after checking it is an instance of `config_class` (`ConfigError` otherwise)."""
        super().__init__()
        loading.check_config_class(type(self), config)
        self.config = config
        self.name_or_path = config.name_or_path

    def post_init(self) -> None:
        """Call at the end of `__init__`: prunes heads from `config.pruned_heads`, initialises the weights (skipped
        while `from_pretrained` builds the model) and ties them; enables gradient checkpointing when the config asks.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> config = BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8,
            ...                     pruned_heads={0: [1]})
            >>> BertModel(config).encoder.layer[0].attention.self.num_attention_heads
            1
        """
        self.init_weights()
        if getattr(self.config, "gradient_checkpointing", False) and self.supports_gradient_checkpointing:
            self.gradient_checkpointing_enable()

    @property
    def base_model(self) -> nn.Module:
        """The body without heads: `getattr(self, base_model_prefix)`, or the model itself."""
        return getattr(self, self.base_model_prefix, self) if self.base_model_prefix else self

    def get_input_embeddings(self) -> nn.Module:
        """The input token embedding (delegates to `base_model`; models without one raise NotImplementedError).

        Example:
            >>> from pretrained.models.bert import BertConfig, BertForMaskedLM
            >>> cfg = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
            >>> BertForMaskedLM(cfg).get_input_embeddings().num_embeddings
            10
        """
        base = self.base_model
        if base is not self:
            return base.get_input_embeddings()
        raise NotImplementedError(f"{type(self).__name__} has no input embeddings (get_input_embeddings)")

    def set_input_embeddings(self, value: nn.Module) -> None:
        """Replace the input token embedding (delegates to `base_model`)."""
        base = self.base_model
        if base is not self:
            base.set_input_embeddings(value)
            return
        raise NotImplementedError(f"{type(self).__name__} has no input embeddings (set_input_embeddings)")

    def get_output_embeddings(self) -> nn.Module | None:
        """The output projection onto the vocabulary (None for models without a language-model head)."""
        return None

    def set_output_embeddings(self, value: nn.Module) -> None:
        """Replace the output projection (models with a language-model head implement it)."""
        raise NotImplementedError(f"{type(self).__name__} has no output embeddings (set_output_embeddings)")

    def tie_weights(self) -> None:
        """Tie the output embedding to the input embedding when `config.tie_word_embeddings` (the same Parameter),
        padding its bias to the vocabulary size; then call every submodule's `_tie_weights()` hook.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertForMaskedLM
            >>> m = BertForMaskedLM(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> m.get_output_embeddings().weight is m.get_input_embeddings().weight
            True
        """
        if getattr(self.config, "tie_word_embeddings", True):
            output = self.get_output_embeddings()
            if output is not None:
                self._tie_or_clone_weights(output, self.get_input_embeddings())
        for module in self.modules():
            if module is not self and callable(getattr(type(module), "_tie_weights", None)):
                module._tie_weights()

    def _tie_or_clone_weights(self, output: nn.Module, input: nn.Module) -> None:
        if getattr(self.config, "torchscript", False):
            output.weight = nn.Parameter(input.weight.clone())
        else:
            output.weight = input.weight
        rows = output.weight.shape[0]
        bias = getattr(output, "bias", None)
        if bias is not None and bias.shape[0] != rows and not bias.is_meta:
            bias.data = nn.functional.pad(bias.data, (0, rows - bias.shape[0]))
        if hasattr(output, "out_features"):
            output.out_features = rows

    def init_weights(self) -> None:
        """Prune heads from `config.pruned_heads`, then (unless loading) `_init_weights` every module and tie.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> m = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> m.init_weights(); float(m.embeddings.LayerNorm.weight.detach().mean())
            1.0
        """
        if self.config.pruned_heads:
            self.prune_heads(self.config.pruned_heads)
        if _loading.init_enabled():
            with torch.no_grad():
                self.apply(self._init_weights)
            self.tie_weights()

    def _init_weights(self, module: nn.Module) -> None:
        """Initialise one module (override in models; the loader calls it only for what a checkpoint lacks)."""

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> nn.Embedding:
        """Resize the input embedding in place (and the output embedding and its bias, tied or not); update
        `config.vocab_size`. Old rows are kept; new rows are sampled around the old rows' mean and covariance
        (`mean_resizing=True`) or set by `_init_weights`. Returns the (same) input embedding module.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertForMaskedLM
            >>> m = BertForMaskedLM(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> m.resize_token_embeddings(13, pad_to_multiple_of=8).num_embeddings, m.config.vocab_size
            (16, 16)
        """
        embedding = self.get_input_embeddings()
        if new_num_tokens is None and pad_to_multiple_of is None:
            return embedding
        size = resizing.new_vocab_size(embedding.weight.shape[0], new_num_tokens, pad_to_multiple_of=pad_to_multiple_of)
        output = self.get_output_embeddings()
        tied = output is not None and output.weight is embedding.weight
        _embeddings.resize_embedding_(embedding, size, mean_resizing=mean_resizing, init=self._init_weights)
        self.set_input_embeddings(embedding)
        if isinstance(output, nn.Embedding) and not tied:
            _embeddings.resize_embedding_(output, size, mean_resizing=mean_resizing, init=self._init_weights)
        elif output is not None:
            _embeddings.resize_linear_head_(output, size, mean_resizing=mean_resizing, init=self._init_weights,
                                            resize_weight=not tied)
        self.config.get_text_config().vocab_size = size
        self.tie_weights()
        return embedding

    def prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        """Prune attention heads `{layer: [heads]}` (original head numbers); merged into `config.pruned_heads`,
        so a saved model is pruned again when loaded. Already-pruned heads are skipped.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> m = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> m.prune_heads({0: [0]}); m.config.pruned_heads
            {0: [0]}
        """
        base = self.base_model
        if not hasattr(base, "_prune_heads"):
            raise NotImplementedError(f"{type(self).__name__} does not support head pruning (no `_prune_heads`)")
        self.config.pruned_heads = heads.merge_pruned_heads(self.config.pruned_heads, heads_to_prune)
        base._prune_heads({int(layer): list(h) for layer, h in heads_to_prune.items()})

    def canonical_state_dict(
        self, *, state_dict: dict[str, torch.Tensor] | None = None, views: bool = False
    ) -> dict[str, HostTensor]:
        """`{canonical key: HostTensor}` for saving: zero-copy views of this model's tensors (or of `state_dict`),
        tied duplicates stored once and `_keys_to_ignore_on_save` left out. (`views` is accepted for parity with
        the TF and Flax classes, which return strided NumPy views with it; torch tensors are canonical already.)

        Example:
            >>> from pretrained.models.bert import BertConfig, BertForMaskedLM
            >>> m = BertForMaskedLM(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> "cls.predictions.decoder.weight" in m.canonical_state_dict()
            False
        """
        state = dict(self.state_dict() if state_dict is None else state_dict)
        for key in self._keys_to_ignore_on_save or ():
            state.pop(key, None)
        state = _loading.dedupe_shared(state, self._all_tied_weights_keys())
        return {key: _loading.host_tensor(tensor, key) for key, tensor in state.items()}

    def _all_tied_weights_keys(self) -> list[str]:
        patterns = []
        for name, module in self.named_modules():
            for pattern in getattr(module, "_tied_weights_keys", None) or ():
                patterns.append(f"{re.escape(name)}\\.{pattern}" if name else pattern)
        return patterns

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        state_dict: dict[str, torch.Tensor] | None = None,
        safe_serialization: bool = True,
        max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
        push_to_hub: bool = False,
        variant: str | None = None,
        **hub_kwargs: Any,
    ) -> None:
        """Write `config.json` and the canonical safetensors checkpoint (sharded above `max_shard_size`, with an
        index) atomically; `safe_serialization=False` writes legacy `pytorch_model.bin` files instead.

        Example:
            >>> import tempfile, os
            >>> from pretrained.models.resnet import ResnetConfig, ResnetModel
            >>> d = tempfile.mkdtemp()
            >>> ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1])).save_pretrained(d)
            >>> sorted(os.listdir(d))
            ['config.json', 'model.safetensors']
        """
        for name in ("is_main_process", "save_function", "save_peft_format"):
            hub_kwargs.pop(name, None)
        if safe_serialization:
            tensors = self.canonical_state_dict(state_dict=state_dict)
            loading.save_model_files(save_directory, model=self, tensors=tensors, max_shard_size=max_shard_size,
                                     variant=variant)
        else:
            state = dict(self.state_dict() if state_dict is None else state_dict)
            for key in self._keys_to_ignore_on_save or ():
                state.pop(key, None)
            state = _loading.dedupe_shared(state, self._all_tied_weights_keys())
            _loading.save_bin_files(save_directory, model=self, tensors=state, max_shard_size=max_shard_size,
                                    variant=variant)
        if push_to_hub:
            repo_id = hub_kwargs.pop("repo_id", None) or os.path.basename(os.path.normpath(save_directory))
            self.push_to_hub(repo_id, max_shard_size=max_shard_size, safe_serialization=safe_serialization,
                             **hub_kwargs)

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike | None,
        *model_args: Any,
        config: PretrainedConfig | str | os.PathLike | None = None,
        state_dict: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Load a model from a local directory / file or a Hub repo id, in eval mode.

        `from_pretrained(None, config=config, state_dict=tensors)` loads in-memory canonical tensors instead (a
        mapping of key -> tensor of any framework, or a `MemoryReader`), through the same pipeline.

        Options (keyword): `revision`, `cache_dir`, `local_files_only`, `token`, `subfolder`, `force_download`,
        `dtype` / `torch_dtype` (`"auto"`: the checkpoint's dtype), `device`, `output_loading_info`,
        `ignore_mismatched_sizes`, `strict`, `verify`, `variant`, `use_safetensors`; other keywords override
        config attributes or go to `__init__`. With `output_loading_info=True` returns `(model, info)`.

        Example:
            >>> import tempfile
            >>> from pretrained.models.resnet import ResnetConfig, ResnetModel, ResnetModelForImageClassification
            >>> d = tempfile.mkdtemp()
            >>> ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1])).save_pretrained(d)
            >>> model, info = ResnetModelForImageClassification.from_pretrained(d, output_loading_info=True)
            >>> info["missing_keys"], model.training
            ([], False)
        """
        return _loading.load_pretrained(cls, pretrained_model_name_or_path, model_args, config=config, state_dict=state_dict,
                               kwargs=kwargs)

    def load_canonical_state(
        self, source: Any, *, strict: bool = False, ignore_mismatched_sizes: bool = False
    ) -> loading.LoadingReport:
        """Copy canonical tensors into this (built) model in place, through the same key planning and streaming as
        `from_pretrained`; return the `LoadingReport` (missing / unexpected / mismatched keys).

        `source`: a mapping of canonical key -> tensor of any framework (e.g. another backend's
        `canonical_state_dict()`), a reader, or a checkpoint path / repo id. Tensors keep this model's dtypes.
        `strict=True` raises `IncompleteLoadError` when anything is missing or unexpected.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
            >>> a, b = BertModel(config), BertModel(config)
            >>> b.load_canonical_state(a.canonical_state_dict(), strict=True).is_complete
            True
            >>> bool((a.pooler.dense.weight == b.pooler.dense.weight).all())
            True
        """
        return _loading.load_canonical_state(self, source, strict=strict,
                                             ignore_mismatched_sizes=ignore_mismatched_sizes)

    def _save_for_push(self, save_directory: os.PathLike, **kwargs: Any) -> None:
        self.save_pretrained(save_directory, **kwargs)

    @classmethod
    def register_for_auto_class(cls, auto_class: str | type = "AutoModel") -> None:
        """Mark this class so `save_pretrained` ships its code and writes `auto_map` for `auto_class`.

        Example:
            >>> from pretrained.models.resnet import ResnetModel
            >>> class MyResnet(ResnetModel): pass
            >>> MyResnet.register_for_auto_class("AutoModel"); MyResnet._auto_class
            'AutoModel'
        """
        from ..dynamic import register_for_auto_class

        register_for_auto_class(cls, auto_class)

    # ------------------------------------------------------------------------------------------ utilities
    def get_memory_footprint(self, return_buffers: bool = True) -> int:
        """Bytes held by the parameters (and buffers); shared tensors counted once.

        Example:
            >>> from pretrained.models.resnet import ResnetConfig, ResnetModel
            >>> m = ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1]))
            >>> m.get_memory_footprint(return_buffers=False) == 4 * m.num_parameters()
            True
        """
        tensors = list(self.parameters()) + (list(self.buffers()) if return_buffers else [])
        return sum(t.nelement() * t.element_size() for t in tensors)

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict[str, Any] | None = None) -> None:
        """Recompute activations in backward (`torch.utils.checkpoint`, `use_reentrant=True` unless given) in
        every module with a `gradient_checkpointing` flag (or timm's `set_grad_checkpointing`).

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> m = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> m.gradient_checkpointing_enable(); m.is_gradient_checkpointing
            True
        """
        if not self.supports_gradient_checkpointing:
            raise ValueError(f"{type(self).__name__} does not support gradient checkpointing.")
        kwargs = {"use_reentrant": True} if gradient_checkpointing_kwargs is None else gradient_checkpointing_kwargs
        function = functools.partial(torch.utils.checkpoint.checkpoint, **kwargs)
        if not self._set_gradient_checkpointing(True, function):
            raise ValueError(f"{type(self).__name__} has no module with a `gradient_checkpointing` attribute")

    def gradient_checkpointing_disable(self) -> None:
        """Turn gradient checkpointing off again."""
        if self.supports_gradient_checkpointing:
            self._set_gradient_checkpointing(False, None)

    @property
    def is_gradient_checkpointing(self) -> bool:
        """Whether any module checkpoints its activations."""
        return any(getattr(m, "gradient_checkpointing", False) is True or getattr(m, "grad_checkpointing", False) is True
                   for m in self.modules())

    def _set_gradient_checkpointing(self, enable: bool, function: Any) -> bool:
        found = False
        for module in self.modules():
            if module is not self and hasattr(module, "gradient_checkpointing"):
                module._gradient_checkpointing_func = function
                module.gradient_checkpointing = enable
                found = True
            elif hasattr(module, "set_grad_checkpointing") and hasattr(module, "grad_checkpointing"):  # timm
                module.set_grad_checkpointing(enable)
                found = True
        return found
