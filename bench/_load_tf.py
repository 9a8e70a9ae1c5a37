"""TensorFlow workloads for bench/load.py: each loads a checkpoint directory and reads every weight once."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from safetensors import safe_open  # noqa: E402

from pretrained.layout import from_canonical  # noqa: E402
from pretrained.models.bert import TFBertModel  # noqa: E402
from pretrained.models.resnet import TFResnetModelForImageClassification  # noqa: E402
from pretrained.tf import canonical_variables  # noqa: E402

TARGET = "from_pretrained"
BASELINE = "raw_safetensors"
SLOW_PATH = "init+assign"
CLASSES = {"resnet": TFResnetModelForImageClassification, "bert": TFBertModel}


def warm_imports(checkpoint: str) -> None:
    """Resolve the model class and initialise TensorFlow's runtime before the measurement starts."""
    _model_class(checkpoint)
    tf.reduce_sum(tf.ones((2, 2)))


def _model_class(checkpoint: str) -> type:
    model_type = json.loads((Path(checkpoint) / "config.json").read_text())["model_type"]
    return CLASSES[model_type]


def _read_all(tensors) -> None:
    total = 0.0
    for tensor in tensors:
        total += float(tf.reduce_sum(tensor))  # touches every byte of every weight
    if total != total:
        raise RuntimeError("NaN in the weights")


def from_pretrained(checkpoint: str) -> None:
    model = _model_class(checkpoint).from_pretrained(checkpoint)
    _read_all(v.variable.value for v in canonical_variables(model))


def raw_safetensors(checkpoint: str) -> None:
    """The floor: every tensor read once from the file (NumPy), no model."""
    with safe_open(str(Path(checkpoint) / "model.safetensors"), framework="np") as handle:
        _read_all(handle.get_tensor(key) for key in handle.keys())


def init_and_assign(checkpoint: str) -> None:
    """What a Keras user does without the loader: build with random init, then assign each weight."""
    cls = _model_class(checkpoint)
    model = cls(cls.config_class.from_pretrained(checkpoint))
    model.build_model()
    with safe_open(str(Path(checkpoint) / "model.safetensors"), framework="np") as handle:
        keys = set(handle.keys())
        for entry in canonical_variables(model):
            if entry.key in keys:
                value = from_canonical(handle.get_tensor(entry.key), entry.transform, shape=entry.shape)
                entry.variable.assign(np.ascontiguousarray(value))
    _read_all(v.variable.value for v in canonical_variables(model))


WORKLOADS = {
    "raw_safetensors": raw_safetensors,
    "from_pretrained": from_pretrained,
    "init+assign": init_and_assign,
}
