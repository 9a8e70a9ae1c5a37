"""`PreTrainedBase`: the public API of every backend's base class, written once.

`PreTrainedModel` (torch), `TFPreTrainedModel` (Keras 3) and `FlaxPreTrainedModel` (NNX) inherit `from_pretrained`,
`save_pretrained`, `push_to_hub`, `load_canonical_state`, `canonical_state_dict`, `resize_token_embeddings`,
`prune_heads` and `register_for_auto_class` from here, and supply the hooks below (the pattern of huggingface_hub's
`ModelHubMixin`: public methods in the base, `_hooks` in each framework).

Loading (`from_pretrained`):

1. options parsed, unknown keywords refused (`TypeError` naming the closest option); config loaded, kwargs naming
   config attributes override it;
2. the checkpoint resolved and opened (`_reader_options`); a read-ahead stream starts when the backend wants one;
3. **`_build_uninitialised(load)`** builds the model without random init (torch: meta device; Keras: deferred
   variables; NNX: `nnx.eval_shape`);
4. **`_canonical_variables()`** lists its variables with canonical keys; the core plans keys (prefixes, ignore
   patterns, tied groups from **`_tied_variable_groups`**, **`_non_checkpoint_keys`**) and checks shapes;
5. **`_initialise_missing(variables, loaded, load)`** initialises what the checkpoint does not cover;
6. **`_write_tensor(variable, tensor, load)`** receives each checkpoint tensor in file order;
7. **`_finish_load(load)`** ties weights (**`tie_weights`**) and returns the model in eval mode; the core reports
   missing / unexpected / mismatched keys.

Saving: **`_read_canonical(variable, views=..., lazy=...)`** gives each variable's tensor in canonical layout (lazily
for `save_pretrained`: the streaming writer reads one tensor at a time); the core applies
the ignore and tie rules and commits `config.json` + weights atomically. Resizing and pruning: the core computes
sizes and updates the config; **`_resize_embedding`**, **`_resize_output_embedding`**, **`_resize_output_bias`**
and the model's own `_prune_heads` change the layers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, ClassVar

from ..checkpoint import DEFAULT_MAX_SHARD_SIZE, HostTensor, TensorStream, to_numpy
from ..configuration import PretrainedConfig
from ..heads import layer_count, merge_pruned_heads, normalise_layer_numbers
from ..hub import WEIGHT_PATTERNS, PushToHubMixin
from ..layout import CanonicalVariable, LayoutOverride
from ..loading import LoadingReport, resolve_dtype
from ..resizing import new_vocab_size
from ..utils.options import check_unknown_options, pop_deprecated_token
from . import _load, _save
from ._load import LoadContext
from ._model_api import ModelApiMixin
from ._options import LoadOptions, known_save_options, parse_load_options
from ._sharding import ShardRules


class PreTrainedBase(ModelApiMixin, PushToHubMixin):
    """The framework-free half of `PreTrainedModel`, `TFPreTrainedModel` and `FlaxPreTrainedModel`.

    A model class sets `config_class` (or annotates `config: MyConfig`), and `base_model_prefix` when it has heads,
    and inherits the pipeline and the v4 model API ([`ModelApiMixin`][pretrained.modeling_base._model_api]); a
    backend base class implements the hooks named in the module docstring.
    """

    base_model_prefix: ClassVar[str] = ""
    main_input_name: ClassVar[str] = "input_ids"
    _keys_to_ignore_on_load_missing: ClassVar[list[str] | None] = None  # regular expressions (re.search)
    _keys_to_ignore_on_load_unexpected: ClassVar[list[str] | None] = None
    _keys_to_ignore_on_save: ClassVar[list[str] | None] = None
    _tied_weights_keys: ClassVar[list[str] | None] = None
    # v4 `tf_model.h5` / `flax_model.msgpack` weights whose names v4's mechanical rules do not map (see docs/migrating)
    _legacy_weight_overrides: ClassVar[list[LayoutOverride]] = []
    _auto_class: ClassVar[str | None] = None
    _push_replaces: ClassVar[list[str]] = WEIGHT_PATTERNS

    # what a backend base class declares
    _default_auto_class: ClassVar[str] = "AutoModel"
    _backend_load_options: ClassVar[dict[str, Any]] = {}  # from_pretrained options of this backend only
    _backend_save_options: ClassVar[dict[str, Any]] = {}  # save_pretrained options of this backend only, defaults
    _init_keywords: ClassVar[tuple[str, ...]] = ()  # keywords the backend's own base __init__ accepts
    _stream_mode: ClassVar[str] = "into"  # TensorStream mode: "into" (aligned buffers) or "get" (reader.get)
    _read_ahead: ClassVar[bool] = True  # read the checkpoint on a background thread while the model is built
    _sharding_options: ClassVar[tuple[str, ...]] = ()  # backend options that make a load sharded (no read-ahead)

    config: PretrainedConfig

    # ------------------------------------------------------------------------------------------ loading
    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike | None,
        *model_args: Any,
        config: PretrainedConfig | str | os.PathLike | None = None,
        state_dict: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Load a model from a local directory or file, or a Hub repo id, whichever backend saved it; in eval mode.

        `from_pretrained(None, config=config, state_dict=tensors)` loads in-memory canonical tensors instead (a
        mapping of key -> tensor of any framework, or a `MemoryReader`), through the same pipeline.

        Options (keyword): `revision`, `cache_dir`, `local_files_only`, `token` (`use_auth_token`, deprecated),
        `subfolder`, `force_download`; `dtype` (`torch_dtype`; `"auto"`: the checkpoint's floating dtype);
        `variant`; `use_safetensors` (None: safetensors, else `.bin`; True: safetensors only; False: `.bin` only);
        `output_loading_info` (returns `(model, info)`); `ignore_mismatched_sizes`; `strict` (raise
        `IncompleteLoadError` instead of warning); `verify` (check shard sha256s); v4's `from_pt` / `from_tf` /
        `from_flax` / `low_cpu_mem_usage` / `_fast_init` are accepted and need nothing. Each backend adds a few
        (see its base class). Other keywords override config attributes or go to the model's `__init__`; anything
        else is a `TypeError` naming the closest valid option.

        Example:
            >>> import tempfile
            >>> from pretrained.models.resnet import ResnetConfig, ResnetModel, ResnetModelForImageClassification
            >>> d = tempfile.mkdtemp()
            >>> ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1])).save_pretrained(d)
            >>> model, info = ResnetModelForImageClassification.from_pretrained(d, output_loading_info=True)
            >>> info["missing_keys"], model.training
            ([], False)
        """
        options = parse_load_options(kwargs, cls._backend_load_options)
        config_argument = config
        config, model_kwargs = _load.load_config(cls, pretrained_model_name_or_path, config, options, kwargs)
        with _load.open_reader(pretrained_model_name_or_path, state_dict, options,
                               legacy_overrides=cls._legacy_weight_overrides, **cls._reader_options()) as reader:
            source = str(pretrained_model_name_or_path) if state_dict is None else _load.source_name(reader)
            load = LoadContext(config, options, model_args, model_kwargs, source=source, reader=reader)
            load.dtype = resolve_dtype(options.dtype, reader, config_dtype=getattr(config, "dtype", None))
            load.keep_in_fp32 = _load.keep_in_fp32_modules(cls, load.dtype)
            load.config_file = _load.config_file_of(pretrained_model_name_or_path, config_argument, options)
            sharded = any(options.backend.get(name) is not None for name in cls._sharding_options)
            with TensorStream(reader, mode=cls._stream_mode, read_ahead=cls._read_ahead and not sharded) as stream:
                model = _load.build_uninitialised(cls, load)
                plan, mismatched = _load.load_into(model, reader, stream, load)
            result = model._finish_load(load)
            report = _load.report_of(cls, plan, mismatched, reader, source)
        report.finish(model_class=cls.__name__, source=source, strict=options.strict,
                      warn_unexpected=_save.canonical_architecture(cls) in (config.architectures or []))
        if not options.output_loading_info:
            return result
        return (*result, report.as_dict()) if isinstance(result, tuple) else (result, report.as_dict())

    def load_canonical_state(
        self, source: Any, *, strict: bool = False, ignore_mismatched_sizes: bool = False
    ) -> LoadingReport:
        """Copy canonical tensors into this (built) model in place, through the same key planning and streaming as
        `from_pretrained`; return the `LoadingReport` (missing / unexpected / mismatched keys).

        `source`: a mapping of canonical key -> tensor of any framework (e.g. another backend's
        `canonical_state_dict()`), a reader, or a checkpoint path / repo id. Variables keep their dtypes.
        `strict=True` raises `IncompleteLoadError` when anything is missing or unexpected.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
            >>> a, b = BertModel(config), BertModel(config)
            >>> b.load_canonical_state(a.canonical_state_dict(), strict=True).is_complete
            True
        """
        self._ensure_built()
        options = LoadOptions(strict=strict, ignore_mismatched_sizes=ignore_mismatched_sizes)
        with _load.as_reader(source, legacy_overrides=self._legacy_weight_overrides,
                             **self._reader_options()) as reader:
            name = _load.source_name(reader)
            load = LoadContext(self.config, options, source=name, reader=reader, in_place=True)
            with TensorStream(reader, mode=self._stream_mode) as stream:
                plan, mismatched = _load.load_into(self, reader, stream, load)
            self.tie_weights()
            report = _load.report_of(type(self), plan, mismatched, reader, name)
        report.finish(model_class=type(self).__name__, source=name, strict=strict)
        return report

    # ------------------------------------------------------------------------------------------ saving
    def canonical_variables(self) -> list[CanonicalVariable]:
        """The model's checkpointed variables: canonical key, shape and dtype in the backend's layout, the layout
        transform, and the backend's own variable.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> m = BertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> [(v.key, v.canonical_shape) for v in m.canonical_variables()][0]
            ('embeddings.word_embeddings.weight', (10, 8))
        """
        self._ensure_built()
        return self._canonical_variables()

    def canonical_state_dict(
        self, *, state_dict: Mapping[str, Any] | None = None, views: bool = False
    ) -> dict[str, Any]:
        """`{canonical key: HostTensor}` as `save_pretrained` writes it: PyTorch names and layout, tied copies and
        `_keys_to_ignore_on_save` left out, a `num_batches_tracked` beside each BatchNorm. `state_dict` (canonical
        key -> tensor of any framework) is used instead of the model's own variables. With `views=True` the values
        are NumPy arrays in canonical layout that may be strided views (a transposed kernel is not copied): what
        in-memory conversion streams from.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertForMaskedLM
            >>> m = BertForMaskedLM(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> state = m.canonical_state_dict()
            >>> "cls.predictions.decoder.weight" in state, state["bert.embeddings.word_embeddings.weight"].shape
            (False, (10, 8))
        """
        return _save.canonical_state(self, state_dict, views=views)

    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        *,
        is_main_process: bool = True,
        state_dict: Mapping[str, Any] | None = None,
        save_function: Any = None,
        push_to_hub: bool = False,
        max_shard_size: int | str = DEFAULT_MAX_SHARD_SIZE,
        safe_serialization: bool = True,
        variant: str | None = None,
        token: str | bool | None = None,
        save_peft_format: bool = True,
        **push_kwargs: Any,
    ) -> None:
        """Write `config.json` and the canonical checkpoint atomically: `model.safetensors`, or shards of at most
        `max_shard_size` with `model.safetensors.index.json`; `variant="fp16"` names them `model.fp16.safetensors`
        (`model.fp16-00001-of-00002.safetensors`, `model.safetensors.index.fp16.json`). `safe_serialization=False`
        writes the legacy `pytorch_model.bin` instead (in every backend; needs torch). `state_dict` (canonical key ->
        tensor) is saved instead of the model's variables; `is_main_process=False` writes nothing (call it on every
        rank: a model sharded over several processes is gathered one tensor at a time, and only the main process
        keeps and writes it). With `push_to_hub=True` the model is also uploaded (`repo_id=` defaults to the directory
        name; the other keywords are `push_to_hub`'s). A backend adds its own options (`_backend_save_options`:
        TensorFlow's `saved_model=True`). Unknown keywords are a `TypeError` naming the closest valid option.

        Example:
            >>> import tempfile, os
            >>> from pretrained.models.resnet import ResnetConfig, ResnetModel
            >>> d = tempfile.mkdtemp()
            >>> ResnetModel(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1])).save_pretrained(d)
            >>> sorted(os.listdir(d))
            ['config.json', 'model.safetensors']
        """
        token = pop_deprecated_token(push_kwargs, token)
        backend_options = {name: push_kwargs.pop(name, default) for name, default in self._backend_save_options.items()}
        known = known_save_options(self._backend_save_options)
        check_unknown_options([k for k in push_kwargs if k not in known], known,
                              call=f"{type(self).__name__}.save_pretrained")
        del save_peft_format  # v4 option for PEFT adapters: nothing to do here
        if not is_main_process:
            if state_dict is None and self._is_distributed():
                _save.join_gather(self)
            return
        _save.save_model_files(
            save_directory, model=self, tensors=_save.canonical_state(self, state_dict, lazy=True),
            max_shard_size=max_shard_size, variant=variant, safe_serialization=safe_serialization,
            save_function=save_function,
        )
        if backend_options:
            self._save_backend_files(Path(save_directory), backend_options)
        if push_to_hub:
            repo_id = push_kwargs.pop("repo_id", None) or Path(save_directory).name
            self.push_to_hub(repo_id, token=token, max_shard_size=max_shard_size,
                             safe_serialization=safe_serialization, **push_kwargs)

    def _save_for_push(self, save_directory: Path, **kwargs: Any) -> None:
        self.save_pretrained(save_directory, **kwargs)

    # ------------------------------------------------------------------------------------------ structure
    @property
    def base_model(self) -> Any:
        """The body without heads: `getattr(self, base_model_prefix)`, or the model itself."""
        return getattr(self, self.base_model_prefix, self) if self.base_model_prefix else self

    def get_input_embeddings(self) -> Any:
        """The input token embedding (delegated to `base_model`; a model without one raises NotImplementedError).

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

    def set_input_embeddings(self, value: Any) -> None:
        """Replace the input token embedding (delegated to `base_model`)."""
        base = self.base_model
        if base is not self:
            base.set_input_embeddings(value)
            return
        raise NotImplementedError(f"{type(self).__name__} has no input embeddings (set_input_embeddings)")

    def get_output_embeddings(self) -> Any:
        """The output projection onto the vocabulary of a language-model head (None for models without one)."""
        return None

    def set_output_embeddings(self, value: Any) -> None:
        """Replace the output projection (models with a language-model head implement it)."""
        raise NotImplementedError(f"{type(self).__name__} has no output embeddings (set_output_embeddings)")

    def tie_weights(self) -> None:
        """Re-establish tied weights (each backend implements it; the pipeline calls it after every load)."""

    def resize_token_embeddings(
        self, new_num_tokens: int | None = None, pad_to_multiple_of: int | None = None, mean_resizing: bool = True
    ) -> Any:
        """Resize the vocabulary: the input embedding, an untied output embedding and the output bias; update
        `config.vocab_size`, re-tie, and return the input embedding. Old rows are kept; new rows are sampled around
        the old rows' mean and covariance (`mean_resizing=True`, transformers v4.46+) or drawn by the model's
        initialiser. `pad_to_multiple_of` rounds the size up.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertForMaskedLM
            >>> m = BertForMaskedLM(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> m.resize_token_embeddings(13, pad_to_multiple_of=8).num_embeddings, m.config.vocab_size
            (16, 16)
        """
        self._ensure_built()
        embedding = self.get_input_embeddings()
        if new_num_tokens is None and pad_to_multiple_of is None:
            return embedding
        size = new_vocab_size(self._vocab_rows(embedding), new_num_tokens, pad_to_multiple_of=pad_to_multiple_of)
        output = self.get_output_embeddings()
        with self._replacing_layers():
            self.set_input_embeddings(self._resize_embedding(embedding, size, mean_resizing=mean_resizing))
            if output is not None and output is not embedding:
                resized = self._resize_output_embedding(output, size, mean_resizing=mean_resizing,
                                                        input_embedding=embedding)
                if resized is not output:
                    self.set_output_embeddings(resized)
            self._resize_output_bias(size, mean_resizing=mean_resizing)
        self.config.get_text_config().vocab_size = size
        self.tie_weights()
        return self.get_input_embeddings()

    def prune_heads(self, heads_to_prune: Mapping[int, list[int]]) -> None:
        """Prune attention heads `{layer: [heads]}` (original head numbers; already-pruned heads are skipped); merged
        into `config.pruned_heads`, so a saved pruned model is pruned again when loaded.

        Example:
            >>> from pretrained.models.bert import BertConfig, BertModel
            >>> m = BertModel(BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> m.prune_heads({0: [0]}); m.config.pruned_heads
            {0: [0]}
        """
        self._ensure_built()
        base = self.base_model
        if not callable(getattr(base, "_prune_heads", None)):
            raise NotImplementedError(f"{type(self).__name__} does not support head pruning (no `_prune_heads`)")
        heads = {int(layer): sorted(set(h)) for layer, h in heads_to_prune.items()}
        with self._replacing_layers():  # layer numbers from the end (-1) normalised for the model, kept in the config
            base._prune_heads(normalise_layer_numbers(heads, layer_count(self.config)))
        self.config.pruned_heads = merge_pruned_heads(self.config.pruned_heads, heads)

    @classmethod
    def register_for_auto_class(cls, auto_class: str | type | None = None) -> None:
        """Mark this class so `save_pretrained` ships its code and writes `auto_map` for `auto_class` (default: the
        backend's `AutoModel`).

        Example:
            >>> from pretrained.models.resnet import ResnetModel
            >>> class MyResnet(ResnetModel): pass
            >>> MyResnet.register_for_auto_class("AutoModel"); MyResnet._auto_class
            'AutoModel'
        """
        from ..dynamic import register_for_auto_class

        register_for_auto_class(cls, auto_class or cls._default_auto_class)

    # ------------------------------------------------------------------------------------------ backend hooks
    @classmethod
    def _reader_options(cls) -> dict[str, Any]:
        """How this backend opens checkpoints: `open_reader` / `as_reader` keywords (`framework`, `backend`,
        `convert`)."""
        return {}

    @classmethod
    def _build_uninitialised(cls, load: LoadContext) -> Any:
        """Build `cls(load.config, *load.model_args, **load.model_kwargs)` in `load.dtype` without random init."""
        raise NotImplementedError

    def _ensure_built(self) -> None:
        """Create the model's variables if the backend builds them lazily (Keras)."""

    def _replacing_layers(self) -> AbstractContextManager[None]:
        """Context in which `set_input_embeddings` / `_prune_heads` may swap sub-layers by plain assignment (Keras
        locks built layers)."""
        return nullcontext()

    def _canonical_variables(self) -> list[CanonicalVariable]:
        """Every checkpointed variable once, with its canonical key."""
        raise NotImplementedError

    def _tied_variable_groups(self, variables: Mapping[str, CanonicalVariable]) -> list[list[str]]:
        """Keys of `variables` that are one tensor under several names (one is loaded, the rest re-tied)."""
        return []

    def _non_checkpoint_keys(self) -> set[str]:
        """Keys a checkpoint may hold that are never reported unexpected (torch's non-persistent buffers)."""
        return set()

    def _shard_rules(self, variables: Mapping[str, CanonicalVariable], load: LoadContext) -> ShardRules | None:
        """The sharded-load rules of this load (from the backend's mesh options), or None for a plain load."""
        return None

    def _initialise_missing(self, variables: Mapping[str, CanonicalVariable], loaded: set[str],
                            load: LoadContext) -> None:
        """Initialise every variable whose key is not in `loaded` (and any non-checkpoint state); called before the
        checkpoint tensors stream in."""
        raise NotImplementedError

    def _write_tensor(self, variable: CanonicalVariable, tensor: Any, load: LoadContext) -> bool:
        """Put one checkpoint tensor (a `StreamedTensor`, canonical layout) into `variable`, in the variable's layout
        and dtype. Return True when `tensor.raw` was copied out and may be reused, False when it was adopted."""
        raise NotImplementedError

    def _finish_load(self, load: LoadContext) -> Any:
        """After the tensors are in: re-tie, move, switch to eval mode; return what `from_pretrained` returns."""
        raise NotImplementedError

    def _read_canonical(self, variable: CanonicalVariable, *, views: bool, lazy: bool = False) -> Any:
        """The value of `variable` in canonical layout: a `HostTensor`, or a NumPy array, possibly a strided view,
        with `views=True`, or with `lazy=True` (what `save_pretrained` streams) a `LazyTensor`: dtype and shape now,
        the bytes only when the writer reads it (so a save never holds a second copy of the model)."""
        raise NotImplementedError

    def _is_distributed(self) -> bool:
        """True when reading a variable out is a collective over several processes (torch DTensors, jax arrays
        spanning processes): every rank then takes part in a save."""
        return False

    def _host_tensor(self, value: Any, key: str) -> HostTensor:
        """A `HostTensor` of a tensor a user passed in `state_dict=` (any framework)."""
        return HostTensor.from_numpy(to_numpy(value))

    def _tied_weight_patterns(self) -> list[str]:
        """`_tied_weights_keys` as regular expressions (torch adds those its submodules declare, prefixed)."""
        return list(self._tied_weights_keys or [])

    def _save_backend_files(self, save_directory: Path, options: dict[str, Any]) -> None:
        """Write what the backend's own save options (`_backend_save_options`) ask for, beside the checkpoint."""

    def _vocab_rows(self, embedding: Any) -> int:
        """The number of rows of an input embedding layer."""
        raise NotImplementedError

    def _resize_embedding(self, embedding: Any, new_num_tokens: int, *, mean_resizing: bool) -> Any:
        """An embedding layer of `new_num_tokens` rows with the old rows kept (the same object where possible)."""
        raise NotImplementedError

    def _resize_output_embedding(self, output: Any, new_num_tokens: int, *, mean_resizing: bool,
                                 input_embedding: Any) -> Any:
        """The output projection resized to `new_num_tokens` outputs (its weight kept when tied to
        `input_embedding`)."""
        raise NotImplementedError

    def _resize_output_bias(self, new_num_tokens: int, *, mean_resizing: bool) -> None:
        """Resize output biases kept outside the output embedding (BERT's `cls.predictions.bias`)."""
