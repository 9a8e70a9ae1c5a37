"""`FlaxPreTrainedModel`: the Flax NNX base class, with the same methods (in the same order) as the torch and TF ones.

A model is an `nnx.Module` holding its sub-modules under the PyTorch attribute names, so its state maps to the
canonical checkpoint mechanically ([`pretrained.flax.variables`][pretrained.flax.variables]). Loading builds an
abstract model with `nnx.eval_shape` (no random init, no allocation), fills it tensor by tensor from safetensors,
initialises only what the checkpoint lacks, and merges.

Example:
    >>> import tempfile
    >>> from flax import nnx
    >>> from pretrained import PretrainedConfig
    >>> from pretrained.flax import FlaxPreTrainedModel
    >>> class TinyConfig(PretrainedConfig):
    ...     model_type = "tiny-doc"
    ...     def __init__(self, hidden=4, **kwargs):
    ...         self.hidden = hidden
    ...         super().__init__(**kwargs)
    >>> class FlaxTiny(FlaxPreTrainedModel):
    ...     config_class = TinyConfig
    ...     def __init__(self, config, *, rngs=None, **kwargs):
    ...         super().__init__(config, rngs=rngs, **kwargs)
    ...         self.dense = nnx.Linear(config.hidden, 2, rngs=self.rngs)
    ...     def __call__(self, x):
    ...         return self.dense(x)
    >>> directory = tempfile.mkdtemp()
    >>> FlaxTiny(TinyConfig()).save_pretrained(directory)
    >>> FlaxTiny.from_pretrained(directory).dense.kernel.shape
    (4, 2)
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from ..checkpoint import HostTensor, StreamedTensor
from ..configuration import PretrainedConfig
from ..errors import ShapeMismatchError
from ..layout import CanonicalVariable, LayoutOverride, to_canonical
from ..loading import resolve_dtype
from ..modeling_base import LoadContext, PreTrainedBase, ShardRules, init_config, keeps_fp32
from ..outputs import on_output_class
from ..utils import logging
from ..utils.seed import default_seed
from . import distributed as _distributed
from ._transfer import lazy_canonical, to_backend, to_canonical_host
from .embeddings import resize_embedding, resize_output_embedding
from .generation import FlaxGenerationMixin
from .loading import (
    forget_values,
    host_counted_rngs,
    initialise_abstract_leaves,
    is_float,
    loaded_pure_dict,
    resolve_dtypes,
)
from .module_utils import FlaxModuleUtilsMixin
from .variables import PERSISTENT_TYPES, canonical_variables, flatten_pure, is_abstract, normalise_path

logger = logging.get_logger(__name__)

_READ_BACKEND = "pread"  # read tensors into fresh buffers: no mapped file pages held in RSS while loading


class _Static:
    """Holds a mutable, unhashable object (the config) as a static NNX attribute, hashed by identity."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _register_output_pytree(output_class: type) -> None:
    """Model outputs are JAX pytrees (v4's Flax outputs were `flax.struct` dataclasses), so they cross `jax.jit` /
    `nnx.jit` / `jax.grad` boundaries."""

    def flatten(output: Any) -> tuple[list[tuple[Any, Any]], tuple[str, ...]]:
        keys = tuple(output.keys())
        return [(jax.tree_util.DictKey(k), output[k]) for k in keys], keys

    try:
        jax.tree_util.register_pytree_with_keys(
            output_class, flatten, lambda keys, values: output_class._from_items(zip(keys, values)))
    except ValueError:  # already registered (module reloaded)
        pass


on_output_class(_register_output_pytree)


_BUILDING: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("pretrained_flax_building",
                                                                                   default=None)


def layer_defaults() -> dict[str, Any]:
    """`rngs`, `dtype` and `param_dtype` of the `FlaxPreTrainedModel` whose `__init__` is running, for the NNX
    layers it creates at any depth: `nnx.Linear(8, 8, **layer_defaults())`. Sub-modules need no `rngs` / `dtype`
    arguments of their own (pass only `rngs=layer_defaults()["rngs"]` to layers without a dtype, e.g.
    `nnx.Dropout`). Outside a model's `__init__` it raises `RuntimeError`.

    Example:
        >>> from flax import nnx
        >>> from pretrained import PretrainedConfig
        >>> from pretrained.flax import FlaxPreTrainedModel, layer_defaults
        >>> class Block(nnx.Module):
        ...     def __init__(self, width):
        ...         self.fc = nnx.Linear(width, width, **layer_defaults())
        >>> class FlaxNet(FlaxPreTrainedModel):
        ...     config_class = PretrainedConfig
        ...     def __init__(self, config, **kwargs):
        ...         super().__init__(config, **kwargs)
        ...         self.block = Block(4)
        ...         self.post_init()
        >>> FlaxNet(PretrainedConfig(), param_dtype="bfloat16").block.fc.kernel.dtype
        dtype(bfloat16)
    """
    building = _BUILDING.get()
    if building is None or "rngs" not in building:
        raise RuntimeError("layer_defaults() is only available while a FlaxPreTrainedModel's __init__ runs "
                           "(create the layers in the model's __init__, or pass rngs= / dtype= yourself)")
    return {name: value for name, value in building.items() if name != "owner"}


def _scoped_init(init: Callable[..., None]) -> Callable[..., None]:
    """`init` restoring the layer defaults of any model being built around it when it returns."""

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        outer = _BUILDING.get()
        if outer is not None and outer["owner"] is self:  # a parent class's __init__ of the same model
            init(self, *args, **kwargs)
            return
        _BUILDING.set({"owner": self})  # FlaxPreTrainedModel.__init__ adds the defaults
        try:
            init(self, *args, **kwargs)
        finally:
            _BUILDING.set(outer)

    return wrapper


class FlaxPreTrainedModel(nnx.Module, FlaxModuleUtilsMixin, FlaxGenerationMixin, PreTrainedBase):
    """Base class of Flax NNX models: save / load the canonical checkpoint, resize, prune, cast, push.

    Subclasses set `config_class` and `base_model_prefix`, call `super().__init__(config, rngs=rngs, dtype=dtype,
    param_dtype=param_dtype)` first, build their sub-modules (using `self.rngs`, `self.dtype`, `self.param_dtype`)
    and call `self.post_init()` last (it re-applies `config.pruned_heads`). The public pipeline (`from_pretrained`,
    `save_pretrained`, ...) is [`PreTrainedBase`][pretrained.modeling_base.PreTrainedBase]'s; this class supplies its
    hooks. Loading builds an abstract model with `nnx.eval_shape` (no allocation, no random init), fills it tensor
    by tensor, and initialises only what the checkpoint lacks.

    Flax's own `from_pretrained` options: `param_dtype` (the storage dtype; default: `dtype`, else float32 — `dtype`
    is the computation dtype, as in Flax modules), `seed` (0: seeds the initialisers of weights the checkpoint
    lacks), `_do_init=False` (v4: returns `(abstract model, params)`; `model.params = params` then
    `model.init_weights()` make it runnable), `mesh` + `partition_rules` (arrays sharded over a
    `jax.sharding.Mesh`, each process reading only its devices' slices: [`pretrained.flax.distributed`]).
    """

    _layout_overrides: ClassVar[list[LayoutOverride]] = []
    framework: ClassVar[str] = "flax"
    _default_auto_class: ClassVar[str] = "FlaxAutoModel"
    _backend_load_options: ClassVar[dict[str, Any]] = {"param_dtype": None, "seed": 0, "_do_init": True,
                                                       "mesh": None, "partition_rules": None}
    _sharding_options: ClassVar[tuple[str, ...]] = ("mesh", "partition_rules")
    _partition_rules: ClassVar[list[tuple[str, Any]] | None] = None  # default rules of a `mesh=` load

    def __init__(
        self,
        config: PretrainedConfig,
        *,
        rngs: nnx.Rngs | int | None = None,
        dtype: Any = jnp.float32,
        param_dtype: Any = jnp.float32,
    ) -> None:
        """Store the config, the computation `dtype` and the storage `param_dtype`; `self.rngs` is what
        sub-modules are initialised from (`nnx.Rngs(rngs)` for an int; when `rngs` is None, the seed of the last
        `pretrained.set_seed`, 0 before any)."""
        init_config(type(self), config)
        self.config = config
        self.dtype = jnp.dtype(dtype) if dtype is not None else None
        self.param_dtype = jnp.dtype(param_dtype)
        if rngs is None or isinstance(rngs, int):
            rngs = nnx.Rngs(default_seed() if rngs is None else rngs)
        self._rngs = _Static(rngs)
        _BUILDING.set({"rngs": rngs, "dtype": self.dtype, "param_dtype": self.param_dtype, "owner": self})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__ or cls.__init__ is FlaxPreTrainedModel.__init__:
            cls.__init__ = _scoped_init(cls.__init__)  # layer_defaults() holds while __init__ runs, not after

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "params":  # NNX's __setattr__ would refuse a dict of arrays before reaching the property
            type(self).params.fset(self, value)
            return
        super().__setattr__(name, value)

    @property
    def config(self) -> PretrainedConfig:
        return self._config_holder.value

    @config.setter
    def config(self, value: PretrainedConfig) -> None:
        self._config_holder = _Static(value)

    @property
    def rngs(self) -> nnx.Rngs:
        """The `nnx.Rngs` sub-modules are initialised from (only meaningful inside `__init__`)."""
        return self._rngs.value

    def post_init(self) -> None:
        """Call at the end of a subclass `__init__`: re-applies `config.pruned_heads` so a saved pruned model loads,
        and puts the model in eval mode (deterministic: transformers v4's Flax models ran with `train=False` unless
        asked; call `model.train()` to train)."""
        if self.config.pruned_heads:
            self.prune_heads(self.config.pruned_heads)
        self._rngs = _Static(None)  # initialisation is over: keep no reference to the streams
        self.eval()

    # ------------------------------------------------------------------ params view
    @property
    def params(self) -> dict[str, Any]:
        """A pure nested dict of the `nnx.Param` values (v4 Linen's `model.params`); list indices are ints.

        Example:
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> model = FlaxBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
            ...                                  num_attention_heads=2, intermediate_size=16))
            >>> model.params["embeddings"]["word_embeddings"]["embedding"].shape
            (10, 8)
        """
        state = nnx.state(self, nnx.Param)
        if any(is_abstract(v.get_value()) for _, v in nnx.to_flat_state(state)):
            raise ValueError(
                "this model is abstract (built with _do_init=False): set `model.params = params` and call "
                "`model.init_weights()` first"
            )
        return nnx.to_pure_dict(state)

    @params.setter
    def params(self, params: Mapping[Any, Any]) -> None:
        """Replace the leaves named in `params` (Params or BatchStats, any subset); shapes must match."""
        current = {normalise_path(p): v for p, v in nnx.to_flat_state(nnx.state(self, PERSISTENT_TYPES))}
        updates = {normalise_path(p): v for p, v in flatten_pure(params).items()}
        unknown = sorted(".".join(p) for p in updates if p not in current)
        if unknown:
            raise ValueError(f"{type(self).__name__}.params: unknown leaves {unknown[:10]}")
        for path, value in updates.items():
            variable = current[path]
            if tuple(np.shape(value)) != tuple(variable.get_value().shape):
                raise ShapeMismatchError(
                    f"{'.'.join(path)}: got shape {tuple(np.shape(value))}, the model has "
                    f"{tuple(variable.get_value().shape)}"
                )
            variable.set_value(jnp.asarray(value))

    def tie_weights(self) -> None:
        """Tie the output embedding to the input embedding when `config.tie_word_embeddings` (NNX shares the
        `nnx.Param` object, so both names see one array). Models whose head reads the input embedding directly
        (e.g. through `nnx.Embed.attend`) are tied by construction and need nothing here."""
        output = self.get_output_embeddings()
        if output is None or not getattr(self.config, "tie_word_embeddings", False):
            return
        inputs = self.get_input_embeddings()
        if output is not inputs and isinstance(output, nnx.Embed):
            output.embedding = inputs.embedding

    # ------------------------------------------------------------------ dtype casts (v4 semantics)
    def _cast_floating_to(self, params: Any, dtype: Any, mask: Any = None) -> Any:
        def cast(value: Any, keep: bool = True) -> Any:
            if keep and is_float(getattr(value, "dtype", np.float64)):
                return jnp.asarray(value).astype(dtype)
            return value

        if mask is None:
            return jax.tree.map(cast, params)
        return jax.tree.map(cast, params, mask)

    def to_bf16(self, params: Any, mask: Any = None) -> Any:
        """Return a new tree with floating leaves cast to bfloat16 (where `mask` is True).

        Example:
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> model = FlaxBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
            ...                                  num_attention_heads=2, intermediate_size=16))
            >>> model.to_bf16(model.params)["pooler"]["dense"]["kernel"].dtype
            dtype(bfloat16)
        """
        return self._cast_floating_to(params, jnp.bfloat16, mask)

    def to_fp16(self, params: Any, mask: Any = None) -> Any:
        """Return a new tree with floating leaves cast to float16 (where `mask` is True)."""
        return self._cast_floating_to(params, jnp.float16, mask)

    def to_fp32(self, params: Any, mask: Any = None) -> Any:
        """Return a new tree with floating leaves cast to float32 (where `mask` is True)."""
        return self._cast_floating_to(params, jnp.float32, mask)

    # ------------------------------------------------------------------ pipeline hooks
    @classmethod
    def _reader_options(cls) -> dict[str, Any]:
        return {"backend": "pread"}  # tensors are read into fresh buffers: no mapped file pages held in RSS

    @classmethod
    def _build_uninitialised(cls, load: LoadContext) -> FlaxPreTrainedModel:
        """An abstract model (`nnx.eval_shape`: every leaf a `jax.ShapeDtypeStruct`)."""
        param_dtype = load.options.backend.get("param_dtype")
        if isinstance(param_dtype, str) and param_dtype == "auto":
            param_dtype = resolve_dtype("auto", load.reader, config_dtype=getattr(load.config, "dtype", None))
        dtype, param_dtype = resolve_dtypes(load.dtype, param_dtype)
        seed = int(load.options.backend.get("seed", 0))

        def build(rngs: nnx.Rngs) -> FlaxPreTrainedModel:
            return cls(load.config, *load.model_args, rngs=rngs, dtype=dtype, param_dtype=param_dtype,
                       **load.model_kwargs)

        load.state["build"] = build
        model = nnx.eval_shape(lambda: build(host_counted_rngs(seed)))
        if load.keep_in_fp32:
            for variable in canonical_variables(model):
                value = variable.variable.get_value()
                if is_float(value.dtype) and keeps_fp32(variable.key, load.keep_in_fp32):
                    variable.variable.set_value(jax.ShapeDtypeStruct(value.shape, jnp.float32))
        return model

    @classmethod
    def _build_with_dtype(cls, config: PretrainedConfig, dtype: str | None, kwargs: dict[str, Any]
                          ) -> FlaxPreTrainedModel:
        if dtype is None:
            return cls(config, **kwargs)
        computation, storage = resolve_dtypes(dtype, None)
        return cls(config, dtype=computation, param_dtype=storage, **kwargs)

    def _submodules(self) -> Any:
        return (module for _, module in nnx.iter_graph(self) if isinstance(module, nnx.Module))

    def _canonical_variables(self) -> list[CanonicalVariable]:
        return canonical_variables(self)

    def _shard_rules(self, variables: Mapping[str, CanonicalVariable], load: LoadContext) -> ShardRules | None:
        return _distributed.shard_rules(self._partition_rules, load)

    def _initialise_missing(self, variables: Mapping[str, CanonicalVariable], loaded: set[str],
                            load: LoadContext) -> None:
        if not load.options.backend.get("_do_init", True):
            return  # the model stays abstract where the checkpoint lacks values
        skip = {id(variables[key].variable) for key in loaded}
        initialise_abstract_leaves(nnx.state(self), load.state["build"], int(load.options.backend.get("seed", 0)),
                                   skip=skip)

    def _write_tensor(self, variable: CanonicalVariable, tensor: StreamedTensor, load: LoadContext) -> bool:
        mesh = load.options.backend.get("mesh")
        if mesh is not None:
            return _distributed.write_sharded(variable, tensor, load.shards.get(variable.key), mesh)
        source = tensor.array()
        array = to_backend(source, variable.transform, variable.shape, jnp.dtype(variable.dtype), empty=tensor.empty)
        if array is source and tensor.raw is None:  # another model's memory: never adopted
            array = np.array(source, copy=True)
        variable.variable.set_value(jax.device_put(array))
        return array is not source

    def _finish_load(self, load: LoadContext) -> Any:
        if not load.options.backend.get("_do_init", True):
            state = nnx.state(self)
            params = loaded_pure_dict(state)
            forget_values(state)
            return self.eval(), params
        if load.options.backend.get("mesh") is not None:
            _distributed.replicate_rest(self, load.options.backend["mesh"])
        self.tie_weights()
        return self.eval()

    def _read_canonical(self, variable: CanonicalVariable, *, views: bool, lazy: bool = False) -> Any:
        value = variable.variable.get_value()
        if is_abstract(value):
            raise ValueError(f"{variable.key} is abstract: load or initialise the model before saving")
        if lazy and not _distributed.spans_processes(value):
            return lazy_canonical(variable, np.dtype(value.dtype).name)
        value = _distributed.gathered(value)  # every process gathers, in the same order as the writer
        if views:
            return to_canonical(np.asarray(value), variable.transform)
        return HostTensor.from_numpy(to_canonical_host(value, variable.transform))

    def _is_distributed(self) -> bool:
        return _distributed.is_distributed(self)

    def _vocab_rows(self, embedding: nnx.Embed) -> int:
        return int(embedding.num_embeddings)

    def _resize_embedding(self, embedding: nnx.Embed, new_num_tokens: int, *, mean_resizing: bool) -> nnx.Embed:
        return resize_embedding(embedding, new_num_tokens, mean_resizing=mean_resizing,
                                initializer=self._initializer())

    def _resize_output_embedding(self, output: nnx.Module, new_num_tokens: int, *, mean_resizing: bool,
                                 input_embedding: nnx.Module) -> nnx.Module:
        if getattr(self.config, "tie_word_embeddings", False):
            return output  # shares the input embedding's Param: tie_weights re-ties it
        return resize_output_embedding(output, new_num_tokens, mean_resizing=mean_resizing,
                                       initializer=self._initializer())

    def _initializer(self) -> Any:
        return nnx.initializers.normal(stddev=getattr(self.config, "initializer_range", 0.02))

    # ------------------------------------------------------------------ abstract models
    def init_weights(self, *, seed: int = 0) -> FlaxPreTrainedModel:
        """Initialise (with the modules' own initialisers) every leaf that is still abstract; returns the model.

        Example:
            >>> import tempfile
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> directory = tempfile.mkdtemp()
            >>> FlaxBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
            ...                          intermediate_size=16)).save_pretrained(directory)
            >>> model, params = FlaxBertModel.from_pretrained(directory, _do_init=False)
            >>> model.params = params
            >>> model.init_weights().params["pooler"]["dense"]["bias"].shape
            (8,)
        """
        config, dtype, param_dtype = self.config, self.dtype, self.param_dtype

        def build(rngs: nnx.Rngs) -> FlaxPreTrainedModel:
            return type(self)(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)

        initialise_abstract_leaves(nnx.state(self), build, seed)
        self.tie_weights()
        return self

    def eval(self, **attributes: Any) -> FlaxPreTrainedModel:
        """Inference mode (dropout off, BatchNorm uses running statistics); returns the model."""
        super().eval(**attributes)
        return self

    def train(self, **attributes: Any) -> FlaxPreTrainedModel:
        """Training mode (dropout on, BatchNorm updates its statistics); returns the model."""
        super().train(**attributes)
        return self
