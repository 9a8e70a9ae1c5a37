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

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from .. import hub, loading
from ..checkpoint import CheckpointReader, HostTensor
from ..configuration import PretrainedConfig
from ..errors import ShapeMismatchError
from ..heads import merge_pruned_heads
from ..layout import LayoutOverride, num_batches_tracked_key, to_canonical
from ..outputs import ModelOutput
from ..resizing import new_vocab_size
from ..utils import logging
from ._transfer import Prefetcher, load_into, to_canonical_host
from .embeddings import resize_embedding, resize_linear_outputs
from .loading import (
    forget_values,
    host_counted_rngs,
    initialise_abstract_leaves,
    is_float,
    loaded_pure_dict,
    resolve_dtypes,
)
from .module_utils import FlaxModuleUtilsMixin
from .variables import (
    PERSISTENT_TYPES,
    CanonicalVariable,
    canonical_variables,
    flatten_pure,
    is_abstract,
    normalise_path,
    state_variables,
)

logger = logging.get_logger(__name__)

_READ_BACKEND = "pread"  # read tensors into fresh buffers: no mapped file pages held in RSS while loading


class _Static:
    """Holds a mutable, unhashable object (the config) as a static NNX attribute, hashed by identity."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _flatten_output(output: ModelOutput) -> tuple[list[tuple[Any, Any]], tuple[str, ...]]:
    keys = tuple(output.keys())
    return [(jax.tree_util.DictKey(k), output[k]) for k in keys], keys


def _unflatten_output(keys: tuple[str, ...], values: Any) -> ModelOutput:
    return ModelOutput(zip(keys, values))


try:  # model outputs cross jax.jit / nnx.jit boundaries as pytrees
    jax.tree_util.register_pytree_with_keys(ModelOutput, _flatten_output, _unflatten_output)
except ValueError:  # already registered (module reloaded)
    pass


class FlaxPreTrainedModel(nnx.Module, FlaxModuleUtilsMixin, hub.PushToHubMixin):
    """Base class of Flax NNX models: save / load the canonical checkpoint, resize, prune, cast, push.

    Subclasses set `config_class` and `base_model_prefix`, call `super().__init__(config, rngs=rngs, dtype=dtype,
    param_dtype=param_dtype)` first, build their sub-modules (using `self.rngs`, `self.dtype`, `self.param_dtype`)
    and call `self.post_init()` last (it re-applies `config.pruned_heads`).
    """

    config_class: ClassVar[type[PretrainedConfig] | None] = None
    base_model_prefix: ClassVar[str] = ""
    main_input_name: ClassVar[str] = "input_ids"
    _keys_to_ignore_on_load_missing: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_load_unexpected: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_save: ClassVar[list[str] | None] = None
    _tied_weights_keys: ClassVar[list[str] | None] = None
    _layout_overrides: ClassVar[list[LayoutOverride]] = []
    _auto_class: ClassVar[str | None] = None
    _push_replaces: ClassVar[list[str]] = hub.WEIGHT_PATTERNS

    def __init__(
        self,
        config: PretrainedConfig,
        *,
        rngs: nnx.Rngs | int | None = None,
        dtype: Any = jnp.float32,
        param_dtype: Any = jnp.float32,
    ) -> None:
        """Store the config, the computation `dtype` and the storage `param_dtype`; `self.rngs` is what
        sub-modules are initialised from (`nnx.Rngs(0)` when `rngs` is None, `nnx.Rngs(rngs)` for an int)."""
        loading.check_config_class(type(self), config)
        self.config = config
        self.dtype = jnp.dtype(dtype) if dtype is not None else None
        self.param_dtype = jnp.dtype(param_dtype)
        if rngs is None or isinstance(rngs, int):
            rngs = nnx.Rngs(0 if rngs is None else rngs)
        self._rngs = _Static(rngs)

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
        """Call at the end of a subclass `__init__`: re-applies `config.pruned_heads` so a saved pruned model loads."""
        if self.config.pruned_heads:
            self.prune_heads(self.config.pruned_heads)
        self._rngs = _Static(None)  # initialisation is over: keep no reference to the streams

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

    # ------------------------------------------------------------------ structure
    @property
    def base_model(self) -> nnx.Module:
        """The sub-module named `base_model_prefix` (or the model itself)."""
        return getattr(self, self.base_model_prefix, self) if self.base_model_prefix else self

    def get_input_embeddings(self) -> nnx.Module:
        """The input token embedding (an `nnx.Embed`); delegates to the base model.

        Example:
            >>> from pretrained.models.bert import BertConfig, FlaxBertForMaskedLM
            >>> config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
            ...                     intermediate_size=16)
            >>> FlaxBertForMaskedLM(config).get_input_embeddings().num_embeddings
            10
        """
        base = self.base_model
        if base is not self:
            return base.get_input_embeddings()
        raise NotImplementedError(f"{type(self).__name__} has no input embeddings")

    def set_input_embeddings(self, value: nnx.Module) -> None:
        """Replace the input token embedding; delegates to the base model."""
        base = self.base_model
        if base is not self:
            return base.set_input_embeddings(value)
        raise NotImplementedError(f"{type(self).__name__} has no input embeddings")

    def get_output_embeddings(self) -> nnx.Module | None:
        """The LM head (None for models without one). A tied head may return the input embedding itself."""
        return None

    def set_output_embeddings(self, value: nnx.Module) -> None:
        """Replace the LM head."""
        raise NotImplementedError(f"{type(self).__name__} has no output embeddings")

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

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> nnx.Module:
        """Resize the input embedding (and an untied LM head / its bias) to `new_num_tokens`, update
        `config.vocab_size`, re-tie, and return the input embedding (torch semantics).

        Example:
            >>> from pretrained.models.bert import BertConfig, FlaxBertForMaskedLM
            >>> config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
            ...                     intermediate_size=16)
            >>> model = FlaxBertForMaskedLM(config)
            >>> model.resize_token_embeddings(13, pad_to_multiple_of=8).num_embeddings, model.config.vocab_size
            (16, 16)
        """
        embeddings = self.get_input_embeddings()
        if new_num_tokens is None and pad_to_multiple_of is None:
            return embeddings
        size = new_vocab_size(embeddings.num_embeddings, new_num_tokens, pad_to_multiple_of=pad_to_multiple_of)
        initializer = nnx.initializers.normal(stddev=getattr(self.config, "initializer_range", 0.02))
        resize_embedding(embeddings, size, mean_resizing=mean_resizing, initializer=initializer)
        output = self.get_output_embeddings()
        if output is not None and output is not embeddings and not getattr(self.config, "tie_word_embeddings", False):
            if isinstance(output, nnx.Embed):
                resize_embedding(output, size, mean_resizing=mean_resizing, initializer=initializer)
            else:
                resize_linear_outputs(output, size, mean_resizing=mean_resizing, initializer=initializer)
        self._resize_output_bias(size, mean_resizing=mean_resizing)
        self.config.get_text_config().vocab_size = size
        self.tie_weights()
        return embeddings

    def _resize_output_bias(self, new_num_tokens: int, *, mean_resizing: bool) -> None:
        """Hook for heads that keep their output bias outside the decoder (BERT's `cls.predictions.bias`)."""

    def prune_heads(self, heads_to_prune: Mapping[int, list[int]]) -> None:
        """Prune attention heads (`{layer: [heads]}`), record them in `config.pruned_heads` (re-applied when the
        model is built again, so a saved pruned model loads).

        Example:
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> model = FlaxBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
            ...                                  num_attention_heads=2, intermediate_size=16))
            >>> model.prune_heads({0: [1]})
            >>> model.config.pruned_heads, model.encoder.layer[0].attention.self.query.kernel.shape
            ({0: [1]}, (8, 4))
        """
        self.config.pruned_heads = merge_pruned_heads(self.config.pruned_heads, heads_to_prune)
        self.base_model._prune_heads(heads_to_prune)

    def _prune_heads(self, heads_to_prune: Mapping[int, list[int]]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not support head pruning")

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

    # ------------------------------------------------------------------ saving
    def canonical_variables(self) -> list[CanonicalVariable]:
        """The model's checkpointed variables with their canonical keys (tied duplicates appear once)."""
        return canonical_variables(self, overrides=self._layout_overrides)

    def canonical_state_dict(self, *, views: bool = False) -> dict[str, Any]:
        """`{canonical key: HostTensor}` in PyTorch names and layout, as `save_pretrained` writes it. With
        `views=True` the values are NumPy arrays in canonical layout that may be strided views (a transposed kernel
        is not copied): what in-memory conversion streams from.

        Example:
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> model = FlaxBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
            ...                                  num_attention_heads=2, intermediate_size=16))
            >>> model.canonical_state_dict()["pooler.dense.weight"].shape
            (8, 8)
        """
        skip = list(self._keys_to_ignore_on_save or [])
        tied = set(self._tied_weights_keys or []) if getattr(self.config, "tie_word_embeddings", False) else set()
        tensors: dict[str, HostTensor] = {}
        for var in self.canonical_variables():
            if var.key in tied or any(re.search(p, var.key) for p in skip):
                continue
            value = var.variable.get_value()
            if is_abstract(value):
                raise ValueError(f"{var.key} is abstract: load or initialise the model before saving")
            if views:
                tensors[var.key] = to_canonical(np.asarray(value), var.transform)
            else:
                tensors[var.key] = HostTensor.from_numpy(to_canonical_host(value, var.transform))
            tracked = num_batches_tracked_key(var.key) if isinstance(var.variable, nnx.BatchStat) else None
            if tracked is not None:
                counter = np.zeros((), np.int64)
                tensors[tracked] = counter if views else HostTensor.from_numpy(counter)
        return tensors

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        safe_serialization: bool = True,
        max_shard_size: int | str = "5GB",
        push_to_hub: bool = False,
        variant: str | None = None,
        **hub_kwargs: Any,
    ) -> None:
        """Write `config.json` + the canonical safetensors (sharded above `max_shard_size`) atomically.

        The files are the ones every backend writes and reads. `safe_serialization=False` is accepted, but Flax
        always writes safetensors (there is no Flax `.bin`).

        Example:
            >>> import tempfile
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> model = FlaxBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
            ...                                  num_attention_heads=2, intermediate_size=16))
            >>> model.save_pretrained(tempfile.mkdtemp(), max_shard_size="1KB")
        """
        if not safe_serialization:
            logger.warning("Flax models always save safetensors; safe_serialization=False is ignored")
        loading.save_model_files(
            save_directory, model=self, tensors=self.canonical_state_dict(), max_shard_size=max_shard_size,
            variant=variant,
        )
        if push_to_hub:
            repo_id = hub_kwargs.pop("repo_id", None) or Path(save_directory).name
            self.push_to_hub(repo_id, max_shard_size=max_shard_size, **hub_kwargs)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *model_args: Any,
        config: PretrainedConfig | str | os.PathLike | None = None,
        state_dict: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Load the canonical checkpoint (a directory, a file or a Hub repo id; sharded or not) into a new model.

        `from_pretrained(None, config=config, state_dict=tensors)` loads in-memory canonical tensors instead (a
        mapping of key -> tensor of any framework, or a `MemoryReader`), through the same pipeline.

        Options as in torch: `revision`, `cache_dir`, `local_files_only`, `token`, `subfolder`,
        `force_download`, `output_loading_info`, `ignore_mismatched_sizes`, `strict`, `verify`, `variant`,
        `from_pt` (no-op); config attributes as kwargs override the config. Flax specifics:
        `dtype` is the **computation** dtype (v4 Flax meaning); `param_dtype` the storage dtype (float32 by
        default); `dtype="auto"` / `param_dtype="auto"` use the checkpoint's floating dtype. `seed` (0) seeds the
        initialisers of weights the checkpoint lacks.

        `_do_init=False` (v4's meaning) returns `(model, params)`: `model` stays abstract (every leaf a
        `jax.ShapeDtypeStruct`, nothing allocated, nothing randomly initialised) and `params` is a pure nested dict
        of the loaded arrays (Params and BatchStats; missing weights absent). Use `model.params = params` and
        `model.init_weights()` to make it runnable.

        The model comes back in eval mode.

        Example:
            >>> import tempfile
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> directory = tempfile.mkdtemp()
            >>> FlaxBertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
            ...                          intermediate_size=16)).save_pretrained(directory)
            >>> model, info = FlaxBertModel.from_pretrained(directory, output_loading_info=True)
            >>> info["missing_keys"], info["unexpected_keys"]
            ([], [])
        """
        kwargs = dict(kwargs)
        do_init = bool(kwargs.pop("_do_init", True))
        seed = int(kwargs.pop("seed", 0))
        param_dtype = kwargs.pop("param_dtype", None)
        options = loading.split_load_kwargs(kwargs)
        config, model_kwargs = loading.load_config(
            cls.config_class or PretrainedConfig, pretrained_model_name_or_path, config, options, kwargs
        )
        with loading.open_reader(pretrained_model_name_or_path, state_dict, options, backend=_READ_BACKEND) as reader:
            source = loading.source_name(reader) if state_dict is not None else str(pretrained_model_name_or_path)
            dtype, param_dtype = resolve_dtypes(options.dtype, param_dtype, reader)

            def build(rngs: nnx.Rngs) -> FlaxPreTrainedModel:
                return cls(config, *model_args, rngs=rngs, dtype=dtype, param_dtype=param_dtype, **model_kwargs)

            with Prefetcher.start(reader) or contextlib.nullcontext() as prefetcher:  # reads while the build runs
                abstract = nnx.eval_shape(lambda: build(host_counted_rngs(seed)))
                graphdef, state = nnx.split(abstract)
                variables = {v.key: v for v in state_variables(state, overrides=cls._layout_overrides)}
                plan, mismatched = cls._plan_load(variables, reader, options, source, config)
                cls._stream_into(variables, plan, reader, prefetcher=prefetcher)
        if not do_init:
            params = loaded_pure_dict(state)
            forget_values(state)
            return abstract.eval(), params
        initialise_abstract_leaves(state, build, seed)
        model = nnx.merge(graphdef, state)
        model.tie_weights()
        model.eval()
        report = loading.LoadingReport.from_plan(plan, mismatched)
        report.finish(model_class=cls.__name__, source=source, strict=options.strict)
        if options.output_loading_info:
            return model, report.as_dict()
        return model

    def load_canonical_state(
        self, source: Any, *, strict: bool = False, ignore_mismatched_sizes: bool = False
    ) -> loading.LoadingReport:
        """Copy canonical tensors into this (built) model in place, through the same key planning and streaming as
        `from_pretrained`; return the `LoadingReport` (missing / unexpected / mismatched keys).

        `source`: a mapping of canonical key -> tensor of any framework (e.g. another backend's
        `canonical_state_dict()`), a reader, or a checkpoint path / repo id. Tensors keep this model's dtypes.
        `strict=True` raises `IncompleteLoadError` when anything is missing or unexpected.

        Example:
            >>> from pretrained.models.bert import BertConfig, FlaxBertModel
            >>> config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
            ...                     intermediate_size=16)
            >>> a, b = FlaxBertModel(config), FlaxBertModel(config, rngs=1)
            >>> b.load_canonical_state(a.canonical_state_dict(), strict=True).is_complete
            True
            >>> bool((a.pooler.dense.kernel[...] == b.pooler.dense.kernel[...]).all())
            True
        """
        options = loading.LoadOptions(strict=strict, ignore_mismatched_sizes=ignore_mismatched_sizes)
        with loading.as_reader(source, backend=_READ_BACKEND) as reader:
            name = loading.source_name(reader)
            variables = {v.key: v for v in self.canonical_variables()}
            plan, mismatched = type(self)._plan_load(variables, reader, options, name, self.config)
            self._stream_into(variables, plan, reader)
        self.tie_weights()
        report = loading.LoadingReport.from_plan(plan, mismatched)
        report.finish(model_class=type(self).__name__, source=name, strict=strict)
        return report

    @classmethod
    def _plan_load(
        cls,
        variables: Mapping[str, CanonicalVariable],
        reader: CheckpointReader,
        options: loading.LoadOptions,
        source: str,
        config: PretrainedConfig,
    ) -> tuple[loading.KeyPlan, list[tuple[str, tuple[int, ...], tuple[int, ...]]]]:
        ignore_unexpected = list(cls._keys_to_ignore_on_load_unexpected or [])
        if getattr(config, "tie_word_embeddings", False):  # derived from another weight: stored or not, never used
            ignore_unexpected += [rf"(^|\.){re.escape(k)}$" for k in cls._tied_weights_keys or []]
        plan = loading.plan_keys(
            variables, reader.keys(), base_model_prefix=cls.base_model_prefix,
            ignore_missing=cls._keys_to_ignore_on_load_missing or (), ignore_unexpected=ignore_unexpected,
        )
        shapes = {key: var.canonical_shape for key, var in variables.items()}
        mismatched = loading.find_mismatched(plan, shapes, reader)
        loading.drop_mismatched(
            plan, mismatched, ignore_mismatched_sizes=options.ignore_mismatched_sizes, source=source,
            model_class=cls.__name__,
        )
        return plan, mismatched

    @staticmethod
    def _stream_into(
        variables: Mapping[str, CanonicalVariable], plan: loading.KeyPlan, reader: CheckpointReader,
        prefetcher: Prefetcher | None = None,
    ) -> None:
        """Read the planned tensors into the variables (layout and dtype on the way), in file order; `prefetcher`
        (started on `reader`) supplies bytes it read ahead."""
        load_into(variables, {ckpt: model for model, ckpt in plan.to_load.items()}, reader, prefetcher)

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

    def _save_for_push(self, save_directory: Path, **kwargs: Any) -> None:
        self.save_pretrained(save_directory, **kwargs)

    @classmethod
    def register_for_auto_class(cls, auto_class: str | type = "FlaxAutoModel") -> None:
        """Record the Auto class this custom model registers with (its code is saved with the checkpoint)."""
        from ..dynamic import register_for_auto_class

        register_for_auto_class(cls, auto_class)

    def eval(self, **attributes: Any) -> FlaxPreTrainedModel:
        """Inference mode (dropout off, BatchNorm uses running statistics); returns the model."""
        super().eval(**attributes)
        return self

    def train(self, **attributes: Any) -> FlaxPreTrainedModel:
        """Training mode (dropout on, BatchNorm updates its statistics); returns the model."""
        super().train(**attributes)
        return self
