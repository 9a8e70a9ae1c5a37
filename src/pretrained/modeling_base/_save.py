"""The save half of the pipeline: canonical tensors out of any backend's model, then one atomic commit of
`config.json`, the code files of a registered custom model, and the weights (safetensors, or legacy `.bin`).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..auto_names import BACKEND_PREFIXES
from ..checkpoint import CONFIG_NAME, FLOAT_DTYPES, HostTensor, LazyTensor, to_numpy, write_checkpoint
from ..configuration import PretrainedConfig
from ..errors import ConfigError
from ..layout import num_batches_tracked_key
from ..loading import matches_any


def canonical_architecture(model_class: type) -> str:
    """`TFBertModel` / `FlaxBertModel` -> `BertModel`: every backend records the same architecture name.

    >>> canonical_architecture(type("TFBertModel", (), {})), canonical_architecture(type("Flaxy", (), {}))
    ('BertModel', 'Flaxy')
    """
    # a wrapper class a framework derives at run time (FSDP2's `FSDPBertModel`) records the model's own class
    model_class = next((k for k in model_class.__mro__ if not k.__module__.startswith("torch.")), model_class)
    name = model_class.__name__
    for prefix in filter(None, BACKEND_PREFIXES.values()):
        if name.startswith(prefix) and name[len(prefix):][:1].isupper():
            return name[len(prefix):]
    return name


def canonical_state(model: Any, state_dict: Mapping[str, Any] | None, *, views: bool = False,
                    lazy: bool = False) -> dict[str, Any]:
    """`model.canonical_state_dict(state_dict=..., views=...)`, or with `lazy=True` (what `save_pretrained`
    streams) `LazyTensor`s that read each variable only when the writer reaches it.

    >>> from pretrained.models.bert import BertConfig, BertModel
    >>> m = BertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
    >>> state = canonical_state(m, None, lazy=True)
    >>> type(state["pooler.dense.weight"]).__name__, state["pooler.dense.weight"].shape
    ('LazyTensor', (8, 8))
    """
    if state_dict is None:
        model._ensure_built()
        tensors = {v.key: model._read_canonical(v, views=views, lazy=True) if lazy else
                   model._read_canonical(v, views=views) for v in model._canonical_variables()}
    else:
        tensors = {key: to_numpy(value) if views else model._host_tensor(value, key)
                   for key, value in state_dict.items()}
    return finish_state(tensors, ignore=model._keys_to_ignore_on_save or (), tied=model._tied_weight_patterns(),
                        zero=zero_counter(views=views))


def finish_state(
    tensors: dict[str, Any], *, ignore: Iterable[str], tied: Iterable[str], zero: Callable[[], Any]
) -> dict[str, Any]:
    """The canonical state as saved: keys matching the `_keys_to_ignore_on_save` patterns dropped, one name per
    aliased tensor (the first that the `_tied_weights_keys` patterns do not mark as a tied copy), and a
    `num_batches_tracked` (`zero()`) beside each BatchNorm's `running_mean` that has none (TF and Flax keep no
    such counter; torch's BatchNorm stores one)."""
    ignore, tied = list(ignore), list(tied)
    state = {key: value for key, value in tensors.items() if not matches_any(key, ignore)}
    groups: dict[Any, list[str]] = {}
    for key, value in state.items():
        groups.setdefault(_alias_signature(value) or ("unique", key), []).append(key)
    for keys in groups.values():
        if len(keys) > 1:
            untied = [key for key in keys if not matches_any(key, tied)]
            keep = (untied or keys)[0]
            for key in keys:
                if key != keep:
                    del state[key]
    for key in list(state):
        counter = num_batches_tracked_key(key)
        if counter is not None and counter not in state and not matches_any(counter, ignore):
            state[counter] = zero()
    return state


def zero_counter(*, views: bool) -> Callable[[], Any]:
    """What `finish_state` stores as a `num_batches_tracked`: an int64 zero (a `HostTensor`, or an array with
    `views=True`)."""
    if views:
        return lambda: np.zeros((), np.int64)
    return lambda: HostTensor.from_numpy(np.zeros((), np.int64))


def _alias_signature(value: Any) -> Hashable | None:
    """What two names of one tensor share (memory, dtype, shape, strides); None for empty / unaddressable values."""
    if isinstance(value, (HostTensor, LazyTensor)):
        return value.alias if value.nbytes else None
    if isinstance(value, np.ndarray) and value.nbytes:
        return (value.__array_interface__["data"][0], value.dtype.str, value.shape, value.strides)
    return None


def save_model_files(
    save_directory: str | os.PathLike,
    *,
    model: Any,
    tensors: Mapping[str, HostTensor | LazyTensor],
    max_shard_size: int | str,
    variant: str | None = None,
    safe_serialization: bool = True,
    save_function: Callable[..., Any] | None = None,
) -> list[Path]:
    """Write `config.json` (with `architectures` and `dtype`), the weights (streamed: `LazyTensor`s are read one at
    a time) and, when the model is registered for an Auto class, its code files, all in one atomic commit.
    `safe_serialization=False` writes legacy `pytorch_model.bin` files (torch must be installed) with the same
    names, sharding and index as transformers v4."""
    save_directory = Path(save_directory)
    if save_directory.is_file():
        raise ConfigError(f"{save_directory}: save_pretrained expects a directory, found a file")
    config: PretrainedConfig = model.config
    config.architectures = [canonical_architecture(type(model))]
    float_dtypes = [t.dtype for t in tensors.values() if t.dtype in FLOAT_DTYPES]
    if float_dtypes:
        config.dtype = float_dtypes[0]
    extra_files = {}
    if getattr(type(model), "_auto_class", None) is not None or getattr(config, "_auto_class", None) is not None:
        extra_files = _code_files(model, config)
    extra_files[CONFIG_NAME] = config.to_json_string().encode("utf-8")
    serialize = None
    if not safe_serialization:
        from ..checkpoint._legacy import write_bin_shard

        serialize = functools.partial(write_bin_shard, save_function=save_function)
    return write_checkpoint(
        save_directory,
        tensors,
        max_shard_size=max_shard_size,
        metadata={"format": "pt"},
        variant=variant,
        extra_files={**extra_files, **getattr(model, "_extra_save_files", dict)()},  # e.g. generation_config.json
        serialize=serialize,
    )


def _code_files(model: Any, config: PretrainedConfig) -> dict[str, bytes]:
    """The code files `custom_object_save` ships with a registered model (and the `auto_map` it records in
    `config`), as bytes: they join the commit of the weights."""
    from ..dynamic import custom_object_save

    with tempfile.TemporaryDirectory(prefix="pretrained-code-") as scratch:
        return {path.name: path.read_bytes() for path in custom_object_save(model, scratch, config=config)}


def join_gather(model: Any) -> None:
    """What a non-writing rank does in `save_pretrained` of a model sharded over several processes: read each
    variable out in the writer's order (each read gathers the tensor collectively), keeping nothing."""
    for variable in model._canonical_variables():
        model._read_canonical(variable, views=True)
