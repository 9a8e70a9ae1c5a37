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

import functools
import inspect
import os
import warnings
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import keras
import numpy as np
import tensorflow as tf

from ..checkpoint import StreamedTensor
from ..configuration import PretrainedConfig
from ..heads import layer_count, normalise_layer_numbers
from ..layout import CanonicalVariable, LayoutOverride
from ..modeling_base import LoadContext, PreTrainedBase, init_config, keeps_fp32
from ..resizing import resized_bias
from ..utils import logging
from . import embeddings as _embeddings
from .generation import TFGenerationMixin
from .loading import deferred_variables, dtype_policy, initialize_variable, is_initialized, tensor_for_variable
from .module_utils import TFModuleUtilsMixin
from .variables import (
    build_declared,
    canonical_variables,
    forget_replaced_layers,
    iter_layers,
    read_canonical,
    replacing_layers,
    unbuilt_layers,
)

logger = logging.get_logger(__name__)


class TFPreTrainedModel(keras.Model, TFModuleUtilsMixin, TFGenerationMixin, PreTrainedBase):
    """Base class of `pretrained`'s TensorFlow models (a `keras.Model` on the TensorFlow backend).

    The public pipeline (`from_pretrained`, `save_pretrained`, ...) is
    [`PreTrainedBase`][pretrained.modeling_base.PreTrainedBase]'s; this class supplies its hooks. Loading builds
    the model with uninitialised Keras variables (no random init, no allocation) and creates each one straight
    from its checkpoint tensor; `dtype` is the Keras dtype policy the layers are built under.
    """

    _layout_overrides: ClassVar[list[LayoutOverride]] = []
    framework: ClassVar[str] = "tf"
    _default_auto_class: ClassVar[str] = "TFAutoModel"
    _init_keywords: ClassVar[tuple[str, ...]] = ("name", "trainable", "autocast")
    # transformers v4's TF `save_pretrained(saved_model=True, version=1, signatures=None)`
    _backend_save_options: ClassVar[dict[str, Any]] = {"saved_model": False, "version": 1, "signatures": None}

    def __init__(self, config: PretrainedConfig, *inputs: Any, **kwargs: Any) -> None:
        """Store `config` (checked against `config_class`); `kwargs` go to `keras.Model` (`name`, `dtype`, ...).

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(num_hidden_layers=1)).config.num_hidden_layers
            1
        """
        init_config(type(self), config)
        super().__init__(**kwargs)
        self.config = config
        self.name_or_path = config.name_or_path
        self._serving_fn: Any = None
        self._heads_to_reprune: dict[int, list[int]] = {}
        self._uses_internal_loss = False

    def post_init(self) -> None:
        """Call at the end of a subclass `__init__` (as in torch and Flax): re-applies `config.pruned_heads` (layer
        numbers normalised: `-1` is the last layer) once the layers are built — right after the symbolic build
        while loading, or before the first call — so a saved pruned model loads with its pruned shapes.

        Example:
            >>> import keras
            >>> from pretrained import PretrainedConfig
            >>> from pretrained.tf import TFPreTrainedModel
            >>> class TFNet(TFPreTrainedModel):
            ...     config_class = PretrainedConfig
            ...     def __init__(self, config, **kwargs):
            ...         super().__init__(config, **kwargs)
            ...         self.proj = keras.layers.Dense(2)
            ...         self.post_init()
            ...     def call(self, input_ids, training=False):
            ...         return self.proj(keras.ops.cast(input_ids, "float32"))
            >>> TFNet(PretrainedConfig()).post_init()
        """
        pruned = self.config.pruned_heads or {}
        self._heads_to_reprune = normalise_layer_numbers(pruned, layer_count(self.config)) if pruned else {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the model; as in transformers v4, the inputs may also come packed in the first argument: a dict (or
        `BatchEncoding`) holding `main_input_name`, or a list / tuple of tensors in `call`'s parameter order. This
        applies when `call`'s first parameter is `main_input_name`, as in every v4 model; any other first argument
        (a Keras-style `call(self, inputs)` taking a dict) arrives as it is.

        Example:
            >>> import numpy as np
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> ids = np.array([[1, 2, 3]], np.int32)
            >>> model({"input_ids": ids, "attention_mask": np.ones_like(ids)}).last_hidden_state.shape
            TensorShape([1, 3, 8])
        """
        if self._heads_to_reprune:
            self._ensure_built()  # builds, then prunes (build_model)
        if args and _is_packed(args[0]):
            signature = inspect.signature(self.call)
            if _packs_inputs(signature, self.main_input_name, args[0]):
                kwargs = unpacked_inputs(signature, self.config, args, kwargs)
                args = ()
        return super().__call__(*args, **kwargs)

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

        heads, self._heads_to_reprune = self._heads_to_reprune, {}
        dummies = dict(self.dummy_inputs)
        if not in_stateless_scope():
            self(**dummies, training=False)
        else:
            if not self.built:
                self.build(None)  # layers with declared input shapes: no trace at all
            if unbuilt_layers(self):  # the rest: trace once in a scratch graph (variables deferred, no compute)
                specs = {k: keras.KerasTensor(np.shape(v), dtype=_dtype_of(v)) for k, v in dummies.items()}
                compute_output_spec(lambda **inputs: self(**inputs, training=False), **specs)
        if heads:  # config.pruned_heads, already recorded there
            with self._replacing_layers():
                self.base_model._prune_heads(heads)
        forget_replaced_layers(self)

    def build_in_name_scope(self) -> None:
        """transformers v4's way to create the variables before loading or inspecting them: `build_model()` (Keras 3
        names variables by layer path, so no name scope is needed).

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> model = TFBertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
            >>> model.build_in_name_scope()
            >>> len(model.weights) > 0
            True
        """
        self.build_model()

    def build(self, input_shape: Any = None) -> None:
        """Keras' hook: build the sub-layers whose input shapes were declared
        ([`declare_input_shape`][pretrained.tf.variables.declare_input_shape]); the rest build on first call."""
        build_declared(self)

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

    def get_lm_head(self) -> keras.layers.Layer | None:
        """The language-model head layer (the one holding the output bias), or None (transformers v4's name).

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)).get_lm_head() is None
            True
        """
        return None

    def get_output_layer_with_bias(self) -> keras.layers.Layer | None:
        """Deprecated in transformers v4: `get_lm_head()`.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)).get_output_layer_with_bias() is None
            True
        """
        warnings.warn("get_output_layer_with_bias is deprecated (as in transformers v4): use get_lm_head",
                      FutureWarning, stacklevel=2)
        return self.get_lm_head()

    def get_prefix_bias_name(self) -> str | None:
        """Deprecated in transformers v4 (Keras 2 name scopes): always None here; use `get_bias()`.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> TFBertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)).get_prefix_bias_name() is None
            True
        """
        warnings.warn("get_prefix_bias_name is deprecated (as in transformers v4): use get_bias", FutureWarning,
                      stacklevel=2)
        return None

    def tie_weights(self) -> None:
        """Re-establish tied weights. Keras models tie by reading the shared variable at call time (the BERT MLM
        decoder multiplies by the word-embedding matrix), so there is nothing to copy by default.

        Example:
            >>> from pretrained.models.bert import BertConfig, TFBertForMaskedLM
            >>> TFBertForMaskedLM(BertConfig(num_hidden_layers=1)).tie_weights()
        """

    # ------------------------------------------------------------------------------------------- pipeline hooks
    @classmethod
    def _reader_options(cls) -> dict[str, Any]:
        # pread: every tensor is copied into a TF variable anyway, so the file's pages need not stay mapped in RSS
        return {"backend": "pread"}

    @classmethod
    def _build_uninitialised(cls, load: LoadContext) -> TFPreTrainedModel:
        """Build every layer with deferred variables (a symbolic call: no compute, no random init)."""
        with dtype_policy(load.dtype), deferred_variables() as created:
            model = cls(load.config, *load.model_args, **load.model_kwargs)
            for path, layer in iter_layers(model):  # before the build: their variables are created in float32
                if load.keep_in_fp32 and keeps_fp32(".".join(path), load.keep_in_fp32):
                    layer.dtype_policy = "float32"
            model.build_model()
        load.state["created"] = created
        return model

    @classmethod
    def _build_with_dtype(cls, config: PretrainedConfig, dtype: str | None, kwargs: dict[str, Any]
                          ) -> TFPreTrainedModel:
        with dtype_policy(dtype):
            model = cls(config, **kwargs)
            model.build_model()
        return model

    def _submodules(self) -> Any:
        return self._flatten_layers(include_self=True, recursive=True)

    def _ensure_built(self) -> None:
        if not self.built:
            self.build_model()

    def _replacing_layers(self) -> AbstractContextManager[None]:
        return replacing_layers(self)

    def _canonical_variables(self) -> list[CanonicalVariable]:
        forget_replaced_layers(self)
        return canonical_variables(self)

    def _initialise_missing(self, variables: Mapping[str, CanonicalVariable], loaded: set[str],
                            load: LoadContext) -> None:
        loaded_ids = {id(variables[key].variable) for key in loaded}
        in_use = {id(variable) for variable in self.variables}  # not those of layers replaced while building
        for variable in load.state.get("created", ()):  # what the checkpoint lacks, and any non-checkpoint state
            if id(variable) not in loaded_ids and id(variable) in in_use:
                initialize_variable(variable)

    def _write_tensor(self, variable: CanonicalVariable, tensor: StreamedTensor, load: LoadContext) -> bool:
        value, copied = tensor_for_variable(tensor, variable.transform, variable.shape)
        initialize_variable(variable.variable, value)
        return copied

    def _finish_load(self, load: LoadContext) -> TFPreTrainedModel:
        self.tie_weights()
        return self

    def _read_canonical(self, variable: CanonicalVariable, *, views: bool, lazy: bool = False) -> Any:
        return read_canonical(variable, views=views, lazy=lazy)

    def _save_backend_files(self, save_directory: Path, options: dict[str, Any]) -> None:
        if options["saved_model"]:
            self.save_saved_model(save_directory / "saved_model" / str(options["version"]),
                                  signatures=options["signatures"])

    def _vocab_rows(self, embedding: keras.layers.Embedding) -> int:
        return int(embedding.input_dim)

    def _resize_embedding(self, embedding: keras.layers.Embedding, new_num_tokens: int, *,
                          mean_resizing: bool) -> keras.layers.Embedding:
        return _embeddings.resize_embedding(embedding, new_num_tokens, mean_resizing=mean_resizing,
                                             initializer_range=self._initializer_range())

    def _resize_output_embedding(self, output: keras.layers.Layer, new_num_tokens: int, *, mean_resizing: bool,
                                 input_embedding: keras.layers.Layer) -> keras.layers.Layer:
        return _embeddings.resize_output_embedding(output, new_num_tokens, mean_resizing=mean_resizing,
                                          initializer_range=self._initializer_range())

    def _resize_output_bias(self, new_num_tokens: int, *, mean_resizing: bool) -> None:
        bias = self.get_bias()
        if bias:
            rng = np.random.default_rng()
            self.set_bias({name: resized_bias(np.asarray(var.numpy()), new_num_tokens, mean_resizing=mean_resizing,
                                              rng=rng) for name, var in bias.items()})

    def _initializer_range(self) -> float:
        return float(getattr(self.config, "initializer_range", 0.02))

    # ------------------------------------------------------------------------------------------- training
    def compile(self, optimizer: Any = "rmsprop", loss: Any = "auto_with_warning", *args: Any, **kwargs: Any) -> None:
        """Keras' `compile`; as in transformers v4, without a `loss` (or with `"auto"` / `"passthrough"`) the model
        trains on the loss it computes itself from `labels`: `fit(x, y)` passes `y` as `labels` when `call` takes
        them, and `fit` on dicts that hold `labels` works too.

        Example:
            >>> import numpy as np
            >>> from pretrained.models.bert import BertConfig, TFBertForSequenceClassification
            >>> model = TFBertForSequenceClassification(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
            ...                                                    num_attention_heads=2, intermediate_size=8))
            >>> model.compile(optimizer="adam")
            >>> history = model.fit({"input_ids": np.ones((4, 3), np.int32)}, np.array([0, 1, 0, 1]), verbose=0)
            >>> sorted(history.history)
            ['loss']
        """
        self._uses_internal_loss = isinstance(loss, str) and loss in ("auto", "auto_with_warning", "passthrough")
        super().compile(optimizer, None if self._uses_internal_loss else loss, *args, **kwargs)

    def train_step(self, data: Any) -> Any:
        """Keras' training step, with `y` passed to the model as `labels` when it computes its own loss."""
        return super().train_step(self._labels_as_inputs(data))

    def test_step(self, data: Any) -> Any:
        """Keras' evaluation step, with `y` passed to the model as `labels` when it computes its own loss."""
        return super().test_step(self._labels_as_inputs(data))

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> Any:
        """The model's own `loss` output (mean, plus any `add_loss` terms) when compiled without a loss; else
        Keras' loss of the first output that is not `loss` (the logits), as in transformers v4."""
        if not self._uses_internal_loss:
            return super().compute_loss(x, y, _prediction(y_pred, y), sample_weight, training)
        loss = y_pred.get("loss") if isinstance(y_pred, Mapping) else None
        if loss is None:
            raise ValueError(f"{type(self).__name__} was compiled without a loss, so it trains on its own `loss` "
                             "output, but it returned none: pass `labels` (or fit(x, y)), or compile(loss=...)")
        total = tf.reduce_mean(tf.cast(loss, tf.float32))
        return total + tf.add_n([tf.cast(extra, tf.float32) for extra in self.losses]) if self.losses else total

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """Keras' metrics, on the first output that is not `loss` (the logits)."""
        return super().compute_metrics(x, y, _prediction(y_pred, y), sample_weight)

    def _labels_as_inputs(self, data: Any) -> Any:
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        takes_labels = "labels" in inspect.signature(self.call).parameters
        if not self._uses_internal_loss or y is None or not takes_labels or not isinstance(x, Mapping):
            return data
        return keras.utils.pack_x_y_sample_weight({**x, "labels": y}, None, sample_weight)

    # ------------------------------------------------------------------------------------------- serving
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

    def save_saved_model(self, directory: str | os.PathLike, *, signatures: Any = None) -> None:
        """Write a TensorFlow SavedModel of the model to `directory`: what `save_pretrained(dir, saved_model=True,
        version=1)` writes to `dir/saved_model/1` beside the canonical checkpoint, as transformers v4 did. Its
        signatures are `serving_default` (`serving` over `input_signature`) and, when that takes int32 inputs,
        `int64_serving` (the same with int64), unless `signatures` is given.

        Example:
            >>> import os, tempfile
            >>> from pretrained.models.bert import BertConfig, TFBertModel
            >>> d = tempfile.mkdtemp()
            >>> TFBertModel(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)).save_pretrained(d, saved_model=True)
            >>> sorted(os.listdir(d)), sorted(os.listdir(os.path.join(d, "saved_model", "1")))[:2]
            (['config.json', 'model.safetensors', 'saved_model'], ['assets', 'fingerprint.pb'])
        """
        self._ensure_built()
        if signatures is None:
            signatures = {"serving_default": self.serving.get_concrete_function()}
            specs = self.input_signature
            if any(spec.dtype == tf.int32 for spec in specs.values()):
                wide = {name: tf.TensorSpec(spec.shape, tf.int64 if spec.dtype == tf.int32 else spec.dtype, name=name)
                        for name, spec in specs.items()}
                signatures["int64_serving"] = tf.function(self._serve).get_concrete_function(wide)
        tf.saved_model.save(self, str(directory), signatures=signatures)

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


# ----------------------------------------------------------------------------------------------- v4 inputs
def unpack_inputs(call: Callable[..., Any]) -> Callable[..., Any]:
    """transformers v4's decorator for a TF layer's `call`: inputs packed in the first argument (a dict or
    `BatchEncoding` of named inputs, or a list / tuple of tensors in parameter order) arrive as keyword arguments,
    unsupported keywords raise `ValueError`, and `output_attentions` / `output_hidden_states` / `use_cache` /
    `return_dict` left at None take the config's value. `TFPreTrainedModel.__call__` unpacks packed inputs of every
    model already; the decorator is for v4 code's own layers (and keeps v4 code importable).

    Example:
        >>> import keras, numpy as np
        >>> from pretrained import PretrainedConfig
        >>> class Layer(keras.layers.Layer):
        ...     config = PretrainedConfig(output_attentions=True)
        ...     @unpack_inputs
        ...     def call(self, input_ids, attention_mask=None, output_attentions=None):
        ...         return input_ids.shape, attention_mask is not None, output_attentions
        >>> Layer()({"input_ids": np.ones((1, 4)), "attention_mask": np.ones((1, 4))})
        (TensorShape([1, 4]), True, True)
    """
    signature = inspect.signature(call)

    @functools.wraps(call)
    def run_call_with_unpacked_inputs(self: Any, *args: Any, **kwargs: Any) -> Any:
        return call(self, **unpacked_inputs(signature, getattr(self, "config", None), args, kwargs, bound=True))

    run_call_with_unpacked_inputs.__signature__ = signature  # Keras inspects `call`'s parameters
    return run_call_with_unpacked_inputs


_CONFIG_FLAGS = ("output_attentions", "output_hidden_states", "use_cache", "return_dict")


def unpacked_inputs(signature: inspect.Signature, config: PretrainedConfig | None, args: tuple[Any, ...],
                    kwargs: dict[str, Any], *, bound: bool = False) -> dict[str, Any]:
    """The keyword arguments of a `call` with `signature` given v4-style packed inputs (see `unpack_inputs`);
    `bound`: `signature` includes `self`.

    Example:
        >>> import inspect, numpy as np
        >>> def call(input_ids, attention_mask=None, training=False): ...
        >>> sorted(unpacked_inputs(inspect.signature(call), None, ([np.ones(2), np.zeros(2)],), {"training": True}))
        ['attention_mask', 'input_ids', 'training']
    """
    parameters = list(signature.parameters.values())[1 if bound else 0:]
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    given = dict(zip(names, args))
    main = given.pop(names[0]) if names and names[0] in given else kwargs.pop(names[0], None) if names else None
    packed: dict[str, Any] = {}
    if isinstance(main, Mapping):
        packed = dict(main)
        if "inputs" in packed and "input_ids" in names:
            warnings.warn("`inputs` is deprecated (as in transformers v4): use `input_ids`", FutureWarning,
                          stacklevel=3)
            packed["input_ids"] = packed.pop("inputs")
    elif _is_packed(main):
        for position, value in enumerate(main):
            name = getattr(value, "name", "").split(":")[0]
            packed[name if name in names else names[position]] = value
    elif names:
        packed[names[0]] = main
    merged = {**packed, **given, **kwargs}
    unsupported = [key for key in merged if key not in names]
    if unsupported and not takes_any:
        raise ValueError(f"The following keyword arguments are not supported by this model: {unsupported}.")
    for name in _CONFIG_FLAGS:
        if name in names and merged.get(name) is None and config is not None and hasattr(config, name):
            merged[name] = getattr(config, name)
    return merged


def _prediction(y_pred: Any, y: Any) -> Any:
    """What Keras' losses and metrics compare with `y`: a model output's first field that is not `loss`, unless `y`
    names the outputs itself (a dict)."""
    if isinstance(y_pred, Mapping) and not isinstance(y, Mapping):
        return next((value for key, value in y_pred.items() if key != "loss"), None)
    return y_pred


def _packs_inputs(signature: inspect.Signature, main_input_name: str, value: Any) -> bool:
    """Whether a model's first argument is v4-style packed inputs: `call` starts with `main_input_name`, and the
    value is a mapping holding it (or v4's deprecated `inputs`) or a list of tensors for several input parameters."""
    names = [p.name for p in signature.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not names or names[0] != main_input_name:
        return False
    if isinstance(value, Mapping):
        return main_input_name in value or (main_input_name == "input_ids" and "inputs" in value)
    inputs = [name for name in names if name not in ("training", "mask")]
    return 1 < len(inputs) and len(value) <= len(inputs)


def _is_packed(value: Any) -> bool:
    """A v4 packed input: a mapping of named inputs, or a list / tuple of tensors or arrays (not nested numbers)."""
    if isinstance(value, Mapping):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(
        item is None or (hasattr(item, "shape") and len(item.shape) > 0) for item in value)


def _dtype_of(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return keras.backend.standardize_dtype(dtype) if dtype is not None else "float32"


__all__ = ["TFPreTrainedModel", "dtype_policy", "is_initialized", "unpack_inputs", "unpacked_inputs"]
