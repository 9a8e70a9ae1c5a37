"""`TFPreTrainedModel`: the base class of TensorFlow (Keras 3) models that share the canonical checkpoint.

A subclass names every layer with the attribute name of the PyTorch module it mirrors, builds its layers in
`__init__`, and implements `call(...)`. It then saves `config.json` + `model.safetensors` with PyTorch keys and
layout (loadable by the PyTorch and Flax classes), and loads any canonical checkpoint without random init.

Example:
    >>> import keras
    >>> from pretrained import PretrainedConfig
    >>> from pretrained.tf import TFPreTrainedModel
    >>> class TinyConfig(PretrainedConfig):
    ...     model_type = "tiny"
    ...     def __init__(self, hidden=4, **kwargs):
    ...         self.hidden = hidden
    ...         super().__init__(**kwargs)
    >>> class TFTinyModel(TFPreTrainedModel):
    ...     config_class = TinyConfig
    ...     main_input_name = "inputs"
    ...     def __init__(self, config, **kwargs):
    ...         super().__init__(config, **kwargs)
    ...         self.proj = keras.layers.Dense(config.hidden, name="proj")
    ...     @property
    ...     def dummy_inputs(self):
    ...         return {"inputs": keras.ops.ones((1, 3))}
    ...     def call(self, inputs, training=False):
    ...         return self.proj(inputs)
    >>> model = TFTinyModel(TinyConfig())
    >>> model.save_pretrained("/tmp/tf-tiny")
    >>> TFTinyModel.from_pretrained("/tmp/tf-tiny").num_parameters()
    16
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from .. import loading
from ..checkpoint import CheckpointReader, HostTensor
from ..configuration import PretrainedConfig
from ..errors import ConfigError
from ..heads import merge_pruned_heads
from ..hub import WEIGHT_PATTERNS, PushToHubMixin
from ..layout import LayoutOverride, num_batches_tracked_key, to_canonical
from ..utils import logging
from .module_utils import TFModuleUtilsMixin
from .variables import (
    TensorReader,
    _host_numpy,
    build_declared,
    canonical_variables,
    deferred_variables,
    initialize_variable,
    is_initialized,
    to_canonical_array,
    unbuilt_layers,
)

logger = logging.get_logger(__name__)

_PUSH_KWARGS = ("commit_message", "private", "token", "revision", "create_pr", "tags", "commit_description")


class TFPreTrainedModel(keras.Model, TFModuleUtilsMixin, PushToHubMixin):
    """Base class of `pretrained`'s TensorFlow models (a `keras.Model` on the TensorFlow backend)."""

    config_class: ClassVar[type[PretrainedConfig] | None] = None
    base_model_prefix: ClassVar[str] = ""
    main_input_name: ClassVar[str] = "input_ids"
    _keys_to_ignore_on_load_missing: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_load_unexpected: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_save: ClassVar[list[str] | None] = None
    _tied_weights_keys: ClassVar[list[str] | None] = None
    _layout_overrides: ClassVar[list[LayoutOverride]] = []
    _auto_class: ClassVar[str | None] = None
    _push_replaces: ClassVar[list[str]] = WEIGHT_PATTERNS

    def __init__(self, config: PretrainedConfig, *inputs: Any, **kwargs: Any) -> None:
        """Store `config` (checked against `config_class`); `kwargs` go to `keras.Model` (`name`, `dtype`, ...).

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(num_hidden_layers=1)).config.num_hidden_layers
            1
        """
        loading.check_config_class(type(self), config)
        super().__init__(**kwargs)
        self.config = config
        self.name_or_path = config.name_or_path
        self._serving_fn: Any = None

    # ------------------------------------------------------------------------------------------- building
    @property
    def dummy_inputs(self) -> dict[str, Any]:
        """Small inputs, derived from the config, that `build_model()` calls the model on.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig()).dummy_inputs["input_ids"].shape
            (3, 5)
        """
        return {self.main_input_name: np.array([[7, 6, 0, 0, 1], [1, 2, 3, 0, 0], [0, 0, 0, 4, 5]], np.int32)}

    def build_model(self) -> None:
        """Create every variable by calling the model on `dummy_inputs` (symbolically under the loader, so no
        compute and no random init happen there).

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(num_hidden_layers=1))
            >>> model.build_model()
            >>> model.built
            True
        """
        from keras.src.backend import compute_output_spec
        from keras.src.backend.common.stateless_scope import in_stateless_scope

        dummies = dict(self.dummy_inputs)
        if not in_stateless_scope():
            self(**dummies, training=False)
            return
        if not self.built:
            self.build(None)  # layers with declared input shapes: no trace at all
        if unbuilt_layers(self):  # the rest: trace once in a scratch graph (variables deferred, nothing computed)
            specs = {k: keras.KerasTensor(np.shape(v), dtype=_dtype_of(v)) for k, v in dummies.items()}
            compute_output_spec(lambda **inputs: self(**inputs, training=False), **specs)

    def _ensure_built(self) -> None:
        if not self.built:
            self.build_model()

    def build(self, input_shape: Any = None) -> None:
        """Keras' hook: build the sub-layers whose input shapes were declared
        ([`declare_input_shape`][pretrained.tf.variables.declare_input_shape]); the rest build on first call."""
        build_declared(self)

    @property
    def base_model(self) -> keras.layers.Layer:
        """The layer holding the base model (`self.<base_model_prefix>`), or the model itself.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertForMaskedLM
            >>> TFBertForMaskedLM(BertConfig(num_hidden_layers=1)).base_model.name
            'bert'
        """
        return getattr(self, self.base_model_prefix, self) if self.base_model_prefix else self

    # ------------------------------------------------------------------------------------------- embeddings
    def get_input_embeddings(self) -> keras.layers.Layer:
        """The input embedding layer (delegated to the base model).

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(vocab_size=99)).get_input_embeddings().input_dim
            99
        """
        base = self.base_model
        if base is not self:
            return base.get_input_embeddings()
        raise NotImplementedError(f"{type(self).__name__} does not define get_input_embeddings()")

    def set_input_embeddings(self, value: keras.layers.Layer) -> None:
        """Replace the input embedding layer (delegated to the base model).

        Example:
            >>> import keras
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(vocab_size=99))
            >>> model.set_input_embeddings(keras.layers.Embedding(5, 768, name="word_embeddings"))
            >>> model.get_input_embeddings().input_dim
            5
        """
        base = self.base_model
        if base is not self:
            return base.set_input_embeddings(value)
        raise NotImplementedError(f"{type(self).__name__} does not define set_input_embeddings()")

    def get_output_embeddings(self) -> keras.layers.Layer | None:
        """The output embedding layer of an LM head (the input embedding when tied), or None.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig()).get_output_embeddings() is None
            True
        """
        return None

    def set_output_embeddings(self, value: keras.layers.Layer) -> None:
        """Replace the output embedding layer of an untied LM head.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig()).set_output_embeddings(None)  # doctest: +SKIP
        """
        raise NotImplementedError(f"{type(self).__name__} has no output embeddings to set")

    def get_bias(self) -> dict[str, Any] | None:
        """The output bias variables of an LM head, by name (resized with the vocabulary), or None.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig()).get_bias() is None
            True
        """
        return None

    def set_bias(self, value: Mapping[str, np.ndarray]) -> None:
        """Replace the output bias variables named in `value` (arrays of the new size)."""
        raise NotImplementedError(f"{type(self).__name__} has no output bias to set")

    def tie_weights(self) -> None:
        """Re-establish tied weights. Keras models tie by reading the shared variable at call time (the BERT MLM
        decoder multiplies by the word-embedding matrix), so there is nothing to copy by default.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertForMaskedLM
            >>> TFBertForMaskedLM(BertConfig(num_hidden_layers=1)).tie_weights()
        """

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> keras.layers.Layer:
        """Resize the vocabulary (input embeddings, untied output embeddings, output bias, `config.vocab_size`).

        New rows are sampled around the mean of the old ones (`mean_resizing=True`, transformers v4.46+) or drawn
        from the model's initializer. Returns the new input embedding layer.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertForMaskedLM
            >>> model = TFBertForMaskedLM(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1,
            ...                                      num_attention_heads=2, intermediate_size=16))
            >>> model.resize_token_embeddings(33, pad_to_multiple_of=8).input_dim, model.config.vocab_size
            (40, 40)
        """
        from .embeddings import resize_token_embeddings

        return resize_token_embeddings(
            self, new_num_tokens, pad_to_multiple_of=pad_to_multiple_of, mean_resizing=mean_resizing
        )

    def prune_heads(self, heads_to_prune: Mapping[int, list[int]]) -> None:
        """Remove attention heads (`{layer: [heads]}`); recorded in `config.pruned_heads`, so a saved pruned model
        is rebuilt pruned by `from_pretrained`.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(hidden_size=8, num_hidden_layers=2, num_attention_heads=4,
            ...                                intermediate_size=16))
            >>> model.prune_heads({0: [1, 2]})
            >>> model.config.pruned_heads
            {0: [1, 2]}
        """
        self._ensure_built()
        self.config.pruned_heads = merge_pruned_heads(self.config.pruned_heads, heads_to_prune)
        self.base_model._prune_heads(heads_to_prune)

    # ------------------------------------------------------------------------------------------- saving
    def canonical_state_dict(self, *, views: bool = False) -> dict[str, Any]:
        """`{canonical key: HostTensor}` in PyTorch layout: shared variables once, `num_batches_tracked` as an int64
        zero next to each BatchNorm's `running_mean`. With `views=True` the values are NumPy arrays in canonical
        layout that may be strided views (a transposed kernel is not copied): what in-memory conversion streams from.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> state = TFBertModel(BertConfig(num_hidden_layers=1)).canonical_state_dict()
            >>> state["encoder.layer.0.attention.self.query.weight"].shape
            (768, 768)
        """
        self._ensure_built()
        ignore = self._keys_to_ignore_on_save or ()
        tensors: dict[str, HostTensor] = {}
        for entry in canonical_variables(self, overrides=self._layout_overrides):
            if any(re.search(pattern, entry.key) for pattern in ignore):
                continue
            if views:  # the variable's buffer shared through DLPack (copy on write), in canonical layout as a view
                value = _host_numpy(tf.convert_to_tensor(entry.variable.value))
                tensors[entry.key] = to_canonical(value, entry.transform)
            else:  # no NumPy copies: shared buffers where the layouts match, kernels transposed by TensorFlow
                tensors[entry.key] = HostTensor.from_numpy(to_canonical_array(entry.variable.value, entry.transform))
            counter = num_batches_tracked_key(entry.key)
            if counter is not None:
                zero = np.zeros((), np.int64)
                tensors[counter] = zero if views else HostTensor.from_numpy(zero)
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
        """Write `config.json` + the canonical safetensors (sharded with an index above `max_shard_size`), atomically;
        with `push_to_hub=True` also upload them (`repo_id=` defaults to the directory name).

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(num_hidden_layers=1)).save_pretrained("/tmp/tf-bert-1")
            >>> sorted(os.listdir("/tmp/tf-bert-1"))
            ['config.json', 'model.safetensors']
        """
        if not safe_serialization:
            raise ConfigError(
                "TensorFlow models save only safetensors (the canonical checkpoint every backend reads); "
                "call save_pretrained without safe_serialization=False"
            )
        loading.save_model_files(
            save_directory, model=self, tensors=self.canonical_state_dict(), max_shard_size=max_shard_size,
            variant=variant,
        )
        if push_to_hub:
            repo_id = hub_kwargs.pop("repo_id", None) or Path(save_directory).name
            push = {k: v for k, v in hub_kwargs.items() if k in _PUSH_KWARGS}
            self.push_to_hub(repo_id, max_shard_size=max_shard_size, **push)

    def _save_for_push(self, save_directory: Path, **kwargs: Any) -> None:
        self.save_pretrained(
            save_directory,
            max_shard_size=kwargs.get("max_shard_size", "5GB"),
            safe_serialization=kwargs.get("safe_serialization", True),
        )

    # ------------------------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *model_args: Any,
        config: PretrainedConfig | str | os.PathLike | None = None,
        state_dict: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Load a canonical checkpoint (local directory, file, or Hub repo id), whichever backend saved it.

        `from_pretrained(None, config=config, state_dict=tensors)` loads in-memory canonical tensors instead (a
        mapping of key -> tensor of any framework, or a `MemoryReader`), through the same pipeline.

        Options as in PyTorch: `revision`, `cache_dir`, `local_files_only`, `token`, `subfolder`, `force_download`,
        `dtype` (`"auto"` = the checkpoint's), `variant`, `output_loading_info`, `ignore_mismatched_sizes`, `strict`,
        `verify`; other kwargs override config attributes. `from_pt=True` is accepted and ignored. Variables are
        created straight from the checkpoint tensors (streamed one at a time); only what the checkpoint lacks is
        randomly initialised.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(num_hidden_layers=1)).save_pretrained("/tmp/tf-bert-2")
            >>> model, info = TFBertModel.from_pretrained("/tmp/tf-bert-2", output_loading_info=True)
            >>> info["missing_keys"], info["unexpected_keys"]
            ([], [])
        """
        options = loading.split_load_kwargs(kwargs)
        config, model_kwargs = loading.load_config(
            cls.config_class or PretrainedConfig, pretrained_model_name_or_path, config, options, kwargs
        )
        # pread: every tensor is copied into a TF variable anyway, so the file's pages need not stay mapped in RSS
        with loading.open_reader(pretrained_model_name_or_path, state_dict, options, backend="pread") as reader:
            source = loading.source_name(reader) if state_dict is not None else str(pretrained_model_name_or_path)
            dtype = loading.resolve_dtype(options.dtype, reader)
            with dtype_policy(dtype), deferred_variables() as created:
                model = cls(config, *model_args, **model_kwargs)
                model.build_model()
            try:
                plan, mismatched = model._plan_load(reader, options, source)
                model._stream_in(reader, plan)
            finally:
                for variable in created:  # what the checkpoint lacked (and any non-checkpoint state)
                    initialize_variable(variable)
        model.tie_weights()
        report = loading.LoadingReport.from_plan(plan, mismatched)
        report.finish(model_class=cls.__name__, source=source, strict=options.strict)
        return (model, report.as_dict()) if options.output_loading_info else model

    def load_canonical_state(
        self, source: Any, *, strict: bool = False, ignore_mismatched_sizes: bool = False
    ) -> loading.LoadingReport:
        """Copy canonical tensors into this model's variables in place (building it first if needed), through the same
        key planning and streaming as `from_pretrained`; return the `LoadingReport` (missing / unexpected /
        mismatched keys).

        `source`: a mapping of canonical key -> tensor of any framework (e.g. another backend's
        `canonical_state_dict()`), a reader, or a checkpoint path / repo id. Variables keep their dtypes.
        `strict=True` raises `IncompleteLoadError` when anything is missing or unexpected.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
            >>> a, b = TFBertModel(config), TFBertModel(config)
            >>> b.load_canonical_state(a.canonical_state_dict(), strict=True).is_complete
            True
            >>> bool((a.pooler.dense.kernel.numpy() == b.pooler.dense.kernel.numpy()).all())
            True
        """
        self._ensure_built()
        options = loading.LoadOptions(strict=strict, ignore_mismatched_sizes=ignore_mismatched_sizes)
        with loading.as_reader(source, backend="pread") as reader:
            name = loading.source_name(reader)
            plan, mismatched = self._plan_load(reader, options, name)
            self._stream_in(reader, plan)
        self.tie_weights()
        report = loading.LoadingReport.from_plan(plan, mismatched)
        report.finish(model_class=type(self).__name__, source=name, strict=strict)
        return report

    def _plan_load(
        self, reader: CheckpointReader, options: loading.LoadOptions, source: str
    ) -> tuple[loading.KeyPlan, list[tuple[str, tuple[int, ...], tuple[int, ...]]]]:
        shapes = {e.key: e.canonical_shape for e in canonical_variables(self, overrides=self._layout_overrides)}
        plan = loading.plan_keys(
            shapes,
            reader.keys(),
            base_model_prefix=self.base_model_prefix,
            ignore_missing=self._keys_to_ignore_on_load_missing or (),
            ignore_unexpected=self._keys_to_ignore_on_load_unexpected or (),
        )
        mismatched = loading.find_mismatched(plan, shapes, reader)
        loading.drop_mismatched(
            plan, mismatched, ignore_mismatched_sizes=options.ignore_mismatched_sizes, source=source,
            model_class=type(self).__name__,
        )
        return plan, mismatched

    def _stream_in(self, reader: CheckpointReader, plan: loading.KeyPlan) -> None:
        entries = {e.key: e for e in canonical_variables(self, overrides=self._layout_overrides)}
        targets: dict[str, list[str]] = {}
        for model_key, checkpoint_key in plan.to_load.items():
            targets.setdefault(checkpoint_key, []).append(model_key)
        # one copy from the file per tensor, kernels transposed by TensorFlow (see TensorReader)
        layouts = {key: [(entries[m].transform, entries[m].shape) for m in models] for key, models in targets.items()}
        for checkpoint_key, tensors in TensorReader(reader).stream(layouts):
            for model_key, tensor in zip(targets[checkpoint_key], tensors):
                initialize_variable(entries[model_key].variable, tensor)

    # ------------------------------------------------------------------------------------------- misc
    @classmethod
    def register_for_auto_class(cls, auto_class: str | type = "TFAutoModel") -> None:
        """Mark this class so `save_pretrained` ships its code and writes `auto_map` for `auto_class`.

        Example:
            >>> from pretrained.tf import TFPreTrainedModel
            >>> class TFMine(TFPreTrainedModel):
            ...     pass
            >>> TFMine.register_for_auto_class()
            >>> TFMine._auto_class
            'TFAutoModel'
        """
        from ..dynamic import register_for_auto_class

        register_for_auto_class(cls, auto_class)

    @property
    def input_signature(self) -> dict[str, tf.TensorSpec]:
        """`tf.TensorSpec`s of the serving inputs: the dummy inputs' dtypes, batch and sequence axes left open.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig()).input_signature["input_ids"].shape
            TensorShape([None, None])
        """
        specs = {}
        for name, value in self.dummy_inputs.items():
            shape = list(np.shape(value))
            open_axes = self._open_axes(name, len(shape))
            specs[name] = tf.TensorSpec([None if i in open_axes else d for i, d in enumerate(shape)],
                                        _dtype_of(value), name=name)
        return specs

    def _open_axes(self, name: str, ndim: int) -> set[int]:
        return set(range(ndim))

    @property
    def serving(self) -> Any:
        """A `tf.function` over `input_signature` returning a dict of tensors: the `serving_default` signature for
        `tf.saved_model.save(model, path, signatures=model.serving)`.

        Example:
            >>> import tensorflow as tf
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(num_hidden_layers=1))
            >>> tf.saved_model.save(model, "/tmp/tf-bert-sm", signatures=model.serving)  # doctest: +SKIP
        """
        if self._serving_fn is None:
            self._ensure_built()
            self._serving_fn = tf.function(self._serve, input_signature=[self.input_signature])
        return self._serving_fn

    @property
    def _default_save_signature(self) -> Any:  # Keras' SavedModel hook: its default traces `build()`'s shapes
        return self.serving

    def _serve(self, inputs: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        return self.serving_output(self(**inputs, training=False))

    def serving_output(self, output: Any) -> dict[str, tf.Tensor]:
        """The tensors of a model output as a flat dict (what a SavedModel signature returns)."""
        if isinstance(output, Mapping):
            return {k: v for k, v in output.items() if v is not None and tf.is_tensor(v)}
        return {"last_hidden_state": output}

    def export(self, filepath: str | os.PathLike, format: str = "tf_saved_model", verbose: bool | None = None,
               input_signature: Any = None, **kwargs: Any) -> None:
        """Export a SavedModel whose `serve` endpoint takes a dict of `input_signature` tensors.

        Example:
            >>> import tensorflow as tf
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(num_hidden_layers=1)).export("/tmp/tf-bert-export", verbose=False)
            >>> reloaded = tf.saved_model.load("/tmp/tf-bert-export")
            >>> ids = tf.ones((1, 4), tf.int32)
            >>> inputs = {"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)}
            >>> sorted(reloaded.serve(inputs))
            ['last_hidden_state', 'pooler_output']
        """
        if format != "tf_saved_model" or input_signature is not None:
            return super().export(filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)
        self._ensure_built()
        archive = keras.export.ExportArchive()
        archive.track(self)
        archive.add_endpoint("serve", self._serve, input_signature=[self.input_signature])
        archive.write_out(str(filepath), verbose=bool(verbose))

    def get_config(self) -> dict[str, Any]:
        """Keras serialisation: the `PretrainedConfig` as a dict."""
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TFPreTrainedModel:
        """Rebuild from `get_config()`."""
        config = dict(config)
        inner = config.pop("config")
        if isinstance(inner, dict):
            inner = (cls.config_class or PretrainedConfig).from_dict(inner)
        return cls(inner, **config)


@contextlib.contextmanager
def dtype_policy(dtype: str | None) -> Iterator[None]:
    """Layers created inside use the Keras dtype policy `dtype` (`"float16"`, `"bfloat16"`, ...); None: unchanged.

    Example:
        >>> import keras
        >>> from pretrained.tf.modeling import dtype_policy
        >>> with dtype_policy("float16"):
        ...     layer = keras.layers.Dense(2)
        >>> layer.dtype_policy.name
        'float16'
    """
    if dtype is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(str(dtype))
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _dtype_of(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return keras.backend.standardize_dtype(dtype) if dtype is not None else "float32"


__all__ = ["TFPreTrainedModel", "dtype_policy", "is_initialized"]
