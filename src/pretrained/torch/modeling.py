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
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from ..checkpoint import HostTensor, StreamedTensor, to_numpy
from ..configuration import PretrainedConfig
from ..layout import CanonicalVariable
from ..modeling_base import LoadContext, PreTrainedBase, ShardRules, init_config, keeps_fp32
from ..outputs import on_output_class
from ..utils import logging
from . import distributed as _distributed
from . import embeddings as _embeddings
from . import loading as _loading
from . import variables as _variables
from .generation import GenerationMixin
from .module_utils import ModuleUtilsMixin

logger = logging.get_logger(__name__)


def _register_output_pytree(output_class: type) -> None:
    """Model outputs are torch pytrees (as in v4), so `torch.compile`, `torch.export` and DDP see their tensors."""
    from torch.utils import _pytree

    if output_class in _pytree.SUPPORTED_NODES:
        return
    _pytree.register_pytree_node(
        output_class,
        lambda output: (list(output.values()), list(output.keys())),
        lambda values, keys: output_class._from_items(zip(keys, values)),
        serialized_type_name=f"{output_class.__module__}.{output_class.__qualname__}",
    )


on_output_class(_register_output_pytree)


class PreTrainedModel(nn.Module, ModuleUtilsMixin, GenerationMixin, PreTrainedBase):
    """Base class of PyTorch models: configuration handling, save / load / push, fast init, resizing, pruning.

    Subclasses set `config_class` (and `base_model_prefix` for models with heads), build their layers in
    `__init__(config)` and end it with `self.post_init()`; they implement `_init_weights(module)`. The public
    pipeline (`from_pretrained`, `save_pretrained`, ...) is [`PreTrainedBase`][pretrained.modeling_base.PreTrainedBase]'s;
    this class supplies its hooks. PyTorch's own `from_pretrained` options: `device` (or v4's `device_map` naming
    one device); `device_mesh` + `tp_plan` (DTensor parameters, each rank reading only its slices:
    [`pretrained.torch.distributed`]).
    """

    _no_split_modules: ClassVar[list[str] | None] = None
    supports_gradient_checkpointing: ClassVar[bool] = False
    _supports_assign_param_buffer: ClassVar[bool] = True
    framework: ClassVar[str] = "pt"
    _backend_load_options: ClassVar[dict[str, Any]] = {"device": None, "device_map": None, "device_mesh": None,
                                                       "tp_plan": None}
    _sharding_options: ClassVar[tuple[str, ...]] = ("device_mesh", "tp_plan")
    _tp_plan: ClassVar[dict[str, str] | None] = None  # default plan of tp_plan="auto": {module pattern: style}
    _stream_mode: ClassVar[str] = "get"  # zero-copy views of the memory-mapped file, assigned to the parameters
    _read_ahead: ClassVar[bool] = False

    def __init__(self, config: PretrainedConfig, *inputs: Any, **kwargs: Any) -> None:
        """Store `config` after checking it is an instance of `config_class` (`ConfigError` otherwise)."""
        super().__init__()
        init_config(type(self), config)
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

    # ------------------------------------------------------------------------------------------ pipeline hooks
    @classmethod
    def _reader_options(cls) -> dict[str, Any]:
        return {"framework": "pt", "convert": _loading.as_torch}

    @classmethod
    def _build_uninitialised(cls, load: LoadContext) -> PreTrainedModel:
        """Build with parameters on the meta device (no memory, no random init) unless the class turns assignment
        off; buffers are computed for real."""
        dtype = _loading.to_torch_dtype(load.dtype)
        model, on_meta = _loading.build_model(cls, load.config, load.model_args, load.model_kwargs, dtype=dtype,
                                              meta=_loading.supports_assign(cls))
        for key, entry in _variables.model_entries(model).items():
            if load.keep_in_fp32 and entry.tensor.is_floating_point() and keeps_fp32(key, load.keep_in_fp32):
                entry.set(entry.tensor.to(torch.float32))
        model.tie_weights()
        load.state["assign"] = on_meta
        return model

    @classmethod
    def _build_with_dtype(cls, config: PretrainedConfig, dtype: str | None, kwargs: dict[str, Any]
                          ) -> PreTrainedModel:
        with _loading.default_dtype(_loading.to_torch_dtype(dtype)):
            return cls(config, **kwargs)

    def _submodules(self) -> Any:
        return self.modules()

    def _canonical_variables(self) -> list[CanonicalVariable]:
        return _variables.canonical_variables(self)

    def _tied_variable_groups(self, variables: Mapping[str, CanonicalVariable]) -> list[list[str]]:
        return _variables.tied_groups(_tensor_entries(variables))

    def _non_checkpoint_keys(self) -> set[str]:
        return _variables.non_persistent_buffer_keys(self, self.base_model_prefix)

    def _shard_rules(self, variables: Mapping[str, CanonicalVariable], load: LoadContext) -> ShardRules | None:
        return _distributed.shard_rules(self, list(variables), load)

    def _initialise_missing(self, variables: Mapping[str, CanonicalVariable], loaded: set[str],
                            load: LoadContext) -> None:
        entries = _tensor_entries(variables)
        if load.state.get("fsdp"):
            _distributed.fully_shard_empty(self, load.state["mesh"])
            with torch.no_grad():
                for module in {entry.module for key, entry in entries.items() if key not in loaded}:
                    self._init_weights(module)
            return
        _loading.initialise_missing(self, entries, {key for key in loaded if key in entries})

    def _write_tensor(self, variable: CanonicalVariable, tensor: StreamedTensor, load: LoadContext) -> bool:
        entry = variable.variable
        split = load.shards.get(variable.key)
        if split is not None and load.state.get("fsdp"):
            _distributed.write_local(tensor, split, load.state["mesh"], entry.get())
            load.state.setdefault("written", set()).add(variable.key)
            return False
        if split is not None:
            entry.set(_distributed.local_dtensor(tensor, split, load.state["mesh"], entry.tensor.dtype))
            entry.tensor = entry.get()
            load.state.setdefault("written", set()).add(variable.key)
            return False
        value = _loading.as_torch(tensor.value if tensor.raw is None else tensor.array())
        if isinstance(entry, _variables.ExtraStateEntry):
            entry.set(value.clone())
        elif load.state.get("assign") or entry.tensor.is_meta:  # zero-copy unless a cast is needed
            entry.set(value.to(dtype=entry.tensor.dtype))
            entry.tensor = entry.get()
        else:
            with torch.no_grad():
                entry.get().copy_(value)
        load.state.setdefault("written", set()).add(variable.key)
        return False

    def _finish_load(self, load: LoadContext) -> PreTrainedModel:
        entries = _variables.model_entries(self)
        _loading.retie(entries, load.state.get("tied_groups", []), load.state.get("written", set()))
        self.tie_weights()
        _loading.check_materialised(self)
        _distributed.parallelize(self, load)
        device = _loading.resolve_device(load.options.backend["device"], load.options.backend["device_map"])
        if device is not None:
            self.to(device)
        return self.eval()

    def _read_canonical(self, variable: CanonicalVariable, *, views: bool, lazy: bool = False) -> Any:
        tensor = _distributed.gathered(variable.variable.get())  # a DTensor: every rank, in the writer's order
        if lazy:
            return _variables.lazy_tensor(tensor, variable.key)
        return to_numpy(tensor) if views else _variables.host_tensor(tensor, variable.key)

    def _is_distributed(self) -> bool:
        return _distributed.is_distributed(self)

    def _host_tensor(self, value: Any, key: str) -> HostTensor:
        return _variables.host_tensor(_loading.as_torch(value), key)

    def _tied_weight_patterns(self) -> list[str]:
        patterns = []
        for name, module in self.named_modules():
            for pattern in getattr(module, "_tied_weights_keys", None) or ():
                patterns.append(f"{re.escape(name)}\\.{pattern}" if name else pattern)
        return patterns

    def _vocab_rows(self, embedding: nn.Embedding) -> int:
        return int(embedding.weight.shape[0])

    def _resize_embedding(self, embedding: nn.Embedding, new_num_tokens: int, *, mean_resizing: bool) -> nn.Embedding:
        return _embeddings.resize_embedding(embedding, new_num_tokens, mean_resizing=mean_resizing,
                                            init=self._init_weights)

    def _resize_output_embedding(self, output: nn.Module, new_num_tokens: int, *, mean_resizing: bool,
                                 input_embedding: nn.Module) -> nn.Module:
        return _embeddings.resize_output_embedding(output, new_num_tokens, mean_resizing=mean_resizing,
                                                   init=self._init_weights,
                                                   resize_weight=output.weight is not input_embedding.weight)

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


def _tensor_entries(variables: Mapping[str, CanonicalVariable]) -> dict[str, _variables.Entry]:
    """The parameter and buffer entries of `variables` (modules' extra state left out)."""
    return {key: v.variable for key, v in variables.items() if isinstance(v.variable, _variables.Entry)}


__all__ = ["PreTrainedModel"]
