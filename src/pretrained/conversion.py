"""Cross-framework conversion: one API, every direction, through the canonical keys.

transformers v4 had four names for this (`load_pytorch_model_in_tf2_model`, `load_tf2_model_in_pytorch_model`,
`convert_pytorch_state_dict_to_flax`, `load_flax_weights_in_pytorch_model`) and renamed any key containing
"gamma" or "beta". Here every backend speaks the canonical checkpoint (PyTorch `state_dict` names and layout):

- `model.canonical_state_dict()` gives `{canonical key: HostTensor}` (zero-copy views), in every backend;
- `Model.from_pretrained(None, config=config, state_dict=tensors)` builds a model from in-memory canonical tensors
  without random init, and `model.load_canonical_state(tensors)` fills a built one, in every backend, through the
  same key planning and streaming code as a file (a [`MemoryReader`][pretrained.checkpoint.MemoryReader]);
- [`convert`][pretrained.conversion.convert] glues the two: any model into a class (or instance, or backend name)
  of any backend, TF <-> Flax included, without torch at run time.

Names and layouts map by the leaf-rule table of [`pretrained.layout`][pretrained.layout] plus the overrides a model
class declares (`_layout_overrides`); a key no rule maps shows up as missing / unexpected in the loading report,
never silently dropped.

Example:
    >>> from pretrained.conversion import convert
    >>> from pretrained.models.bert import BertConfig, BertModel
    >>> config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
    ...                     intermediate_size=16)
    >>> flax_model = convert(BertModel(config), "flax")
    >>> type(flax_model).__name__
    'FlaxBertModel'
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .auto import BACKEND_PREFIXES, MODEL_MAPPING_NAMES, _import_attr, model_mapping
from .checkpoint import MemoryReader, to_numpy
from .configuration import PretrainedConfig
from .errors import ConfigError
from .loading import LoadingReport
from .modeling_base import canonical_architecture

__all__ = ["MemoryReader", "backend_of", "canonical_arrays", "convert", "model_class_for", "run_model"]

_BACKEND_PACKAGES = {"torch": "pretrained.torch", "tf": "pretrained.tf", "flax": "pretrained.flax"}


def backend_of(model: Any) -> str:
    """`"torch"`, `"tf"` or `"flax"`: the backend of a model instance or class (by its base class).

    Example:
        >>> from pretrained.models.bert import FlaxBertModel
        >>> backend_of(FlaxBertModel)
        'flax'
    """
    klass = model if isinstance(model, type) else type(model)
    for base in klass.__mro__:
        for backend, package in _BACKEND_PACKAGES.items():
            if base.__module__ == package or base.__module__.startswith(package + "."):
                return backend
    raise ConfigError(f"{klass.__name__} is not a pretrained model of any backend (torch, tf, flax)")


def model_class_for(config: PretrainedConfig, backend: str, *, architecture: str | None = None) -> type:
    """The `backend` class for `architecture` (PyTorch spelling; default: `config.architectures[0]`).

    Looks in the classes registered with the Auto classes first, then in the library's models.

    Example:
        >>> from pretrained.models.bert import BertConfig
        >>> model_class_for(BertConfig(architectures=["BertForMaskedLM"]), "tf").__name__
        'TFBertForMaskedLM'
    """
    if backend not in BACKEND_PREFIXES:
        raise ConfigError(f"backend must be one of {sorted(BACKEND_PREFIXES)}, got {backend!r}")
    architecture = architecture or next(iter(config.architectures or []), None)
    if architecture is None:
        raise ConfigError(f"{type(config).__name__} names no architecture (config.architectures is empty): pass a "
                          "model class instead of a backend name")
    architecture = _strip_backend_prefix(architecture)
    for task in MODEL_MAPPING_NAMES:
        mapping = model_mapping(task, backend)
        registered = mapping._registered(type(config))
        if registered is not None and canonical_architecture(registered) == architecture:
            return registered
    for task_names in MODEL_MAPPING_NAMES.values():
        module, names = task_names.get(config.model_type, (None, ()))
        if module is not None and architecture in names:
            return _import_attr(module, BACKEND_PREFIXES[backend] + architecture)
    raise ConfigError(
        f"no {backend} class for architecture {architecture!r} (model_type {config.model_type!r}): pass the class "
        "itself, or register it with the backend's Auto class"
    )


def _strip_backend_prefix(name: str) -> str:
    for prefix in ("TF", "Flax"):
        if name.startswith(prefix) and name[len(prefix):][:1].isupper():
            return name[len(prefix):]
    return name


def _sibling_class(model: Any, backend: str) -> type | None:
    """The `backend` twin of a model's class in the same package (`BertModel` -> `TFBertModel`), if importable."""
    name = BACKEND_PREFIXES[backend] + canonical_architecture(type(model))
    package = type(model).__module__.rpartition(".")[0]
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(package + ".") and isinstance(getattr(module, name, None), type):
            return getattr(module, name)
    return None


def convert(
    model: Any,
    target: Any,
    *,
    strict: bool = False,
    output_loading_info: bool = False,
    **kwargs: Any,
) -> Any:
    """Convert `model` (torch, TF or Flax) to `target`: a model class of any backend (built from a copy of
    `model.config`, without random init), a model instance (filled in place), or a backend name
    (`"torch"`, `"tf"`, `"flax"`: the class named like the model's, from the Auto registry).

    The tensors go `model.canonical_state_dict(views=True)` -> a `MemoryReader` -> the target's loader: the same
    planning, layout transforms and report as loading a file; a kernel transposed to the canonical layout on one
    side and back on the other is not copied in between. `strict=True` raises `IncompleteLoadError` when a key is
    missing or unexpected; `output_loading_info=True` returns `(converted, report)`. Other keyword arguments go to
    the target class's `from_pretrained` (e.g. `dtype`).

    Example:
        >>> import numpy as np
        >>> from pretrained.conversion import convert
        >>> from pretrained.models.resnet import ResnetConfig, ResnetModelForImageClassification
        >>> torch_model = ResnetModelForImageClassification(ResnetConfig(block_type="basic", layers=[1, 1, 1, 1],
        ...                                                              num_classes=3))
        >>> flax_model, report = convert(torch_model, "flax", strict=True, output_loading_info=True)
        >>> report.missing_keys, report.unexpected_keys
        ([], [])
        >>> back = convert(flax_model, type(torch_model))
        >>> bool((back.model.fc.weight == torch_model.model.fc.weight).all())
        True
    """
    tensors = model.canonical_state_dict(views=True)  # no copies: strided views where the layout differs
    reader = MemoryReader(tensors, source=f"<{type(model).__name__} in memory>")
    if isinstance(target, str):
        target = _class_for_backend(model, target)
    if isinstance(target, type):
        config = copy.deepcopy(model.config)
        converted, info = target.from_pretrained(None, config=config, state_dict=reader, strict=strict,
                                                 output_loading_info=True, **kwargs)
        report = LoadingReport(**info)
    else:
        if kwargs:
            raise TypeError(f"convert() into an instance takes no extra options, got {sorted(kwargs)}")
        converted = target
        report = target.load_canonical_state(reader, strict=strict)
    return (converted, report) if output_loading_info else converted


def _class_for_backend(model: Any, backend: str) -> type:
    try:
        return model_class_for(model.config, backend, architecture=canonical_architecture(type(model)))
    except ConfigError:
        sibling = _sibling_class(model, backend)
        if sibling is None:
            raise
        return sibling


def canonical_arrays(model: Any) -> dict[str, np.ndarray]:
    """`{canonical key: NumPy array}` (copies) of a model of any backend, exactly as it would be saved.

    Example:
        >>> from pretrained.models.bert import BertConfig, BertModel
        >>> arrays = canonical_arrays(BertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1,
        ...                                                num_attention_heads=2)))
        >>> arrays["embeddings.word_embeddings.weight"].shape
        (10, 8)
    """
    return {key: np.array(to_numpy(tensor), copy=True) for key, tensor in model.canonical_state_dict().items()}


def run_model(model: Any, inputs: Mapping[str, Any]) -> list[np.ndarray]:
    """Call a model of any backend on NumPy inputs in inference mode; every output array, flattened in order, as
    float32 NumPy (what the cross-framework checks compare). Integer inputs are int64 for torch, int32 elsewhere.

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, BertModel
        >>> model = BertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
        >>> [a.shape for a in run_model(model, {"input_ids": np.array([[1, 2, 3]])})]
        [(1, 3, 8), (1, 8)]
    """
    backend = backend_of(model)
    arrays = {k: np.asarray(v) for k, v in inputs.items()}
    if backend == "torch":
        import torch

        with torch.no_grad():
            output = model.eval()(**{k: torch.from_numpy(v.astype(np.int64) if v.dtype.kind in "iu" else v)
                                     for k, v in arrays.items()})
    else:
        cast = {k: v.astype(np.int32) if v.dtype.kind in "iu" else v for k, v in arrays.items()}
        output = model(**cast, training=False) if backend == "tf" else model(**cast)
    return [np.asarray(to_numpy(a), dtype=np.float32) for a in _flatten(output)]


def _flatten(output: Any) -> Iterator[Any]:
    if isinstance(output, Mapping):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        for item in output:
            yield from _flatten(item)
    elif output is not None:
        yield output
