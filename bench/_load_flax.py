"""Flax (NNX) workloads for bench/load.py: each loads a checkpoint directory and reads every weight once.

The baseline is the same raw read as the torch module's (`safetensors.torch.load_file`, mmap), so "× raw read"
compares the Flax `from_pretrained` with the raw torch-mmap load time.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
from flax import nnx

from pretrained.models.bert import FlaxBertModel
from pretrained.models.resnet import FlaxResnetModelForImageClassification

TARGET = "from_pretrained"
BASELINE = "raw_safetensors"
SLOW_PATH = "init+load_state_dict"
CLASSES = {"resnet": FlaxResnetModelForImageClassification, "bert": FlaxBertModel}


def warm_imports(checkpoint: str) -> None:
    """Resolve the model class (and its imports) before the measurement starts."""
    _model_class(checkpoint)
    import safetensors.torch  # noqa: F401  (the baseline's import, outside the measurement)


def _model_class(checkpoint: str) -> type:
    model_type = json.loads((Path(checkpoint) / "config.json").read_text())["model_type"]
    return CLASSES[model_type]


def _read_all(arrays) -> None:
    total = 0.0
    for array in arrays:
        total += float(np.asarray(array, dtype=np.float64 if array.dtype == np.float64 else None).sum())
    if total != total:
        raise RuntimeError("NaN in the weights")


def _leaves(model: nnx.Module) -> list:
    return [v.get_value() for _, v in nnx.to_flat_state(nnx.state(model, (nnx.Param, nnx.BatchStat)))]


def from_pretrained(checkpoint: str) -> None:
    model = _model_class(checkpoint).from_pretrained(checkpoint)
    _read_all(_leaves(model))


def raw_safetensors(checkpoint: str) -> None:
    from safetensors.torch import load_file

    total = 0.0
    for tensor in load_file(str(Path(checkpoint) / "model.safetensors")).values():
        total += float(tensor.sum())
    if total != total:
        raise RuntimeError("NaN in the weights")


def init_and_load_state_dict(checkpoint: str) -> None:
    """v4-style: build with random init, then overwrite every leaf from the checkpoint."""
    from safetensors.numpy import load_file

    from pretrained.flax.variables import canonical_variables
    from pretrained.layout import from_canonical

    cls = _model_class(checkpoint)
    model = cls(cls.config_class.from_pretrained(checkpoint))
    weights = load_file(str(Path(checkpoint) / "model.safetensors"))
    for var in canonical_variables(model):
        if var.key in weights:
            var.variable.set_value(jax.numpy.asarray(from_canonical(weights[var.key], var.transform)))
    _read_all(_leaves(model))


WORKLOADS = {
    "raw_safetensors": raw_safetensors,
    "from_pretrained": from_pretrained,
    "init+load_state_dict": init_and_load_state_dict,
}
