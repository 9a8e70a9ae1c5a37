"""TensorFlow workloads for bench/save.py: each loads a checkpoint (untimed) and returns the save to measure."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _save_common import Save, with_fsync  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from pretrained.models.bert import TFBertModel  # noqa: E402
from pretrained.models.resnet import TFResnetModelForImageClassification  # noqa: E402
from pretrained.tf import canonical_variables  # noqa: E402

BASELINE = "raw_save_file"
CLASSES = {"resnet": TFResnetModelForImageClassification, "bert": TFBertModel}


def _load(checkpoint: str):
    model_type = json.loads((Path(checkpoint) / "config.json").read_text())["model_type"]
    model = CLASSES[model_type].from_pretrained(checkpoint)
    tf.reduce_sum(tf.ones((2, 2)))  # TensorFlow's runtime warm
    return model


def raw_save_file(checkpoint: str) -> Save:
    """The floor: `safetensors.numpy.save_file` of NumPy views of the variables (Keras layout: no transposes)."""
    arrays = {v.key: np.asarray(v.variable.value) for v in canonical_variables(_load(checkpoint))}
    return lambda target: save_file(arrays, os.path.join(target, "model.safetensors"), {"format": "pt"})


def save_pretrained(checkpoint: str) -> Save:
    return _load(checkpoint).save_pretrained


WORKLOADS = {"raw_save_file": raw_save_file, "save_pretrained": save_pretrained,
             "raw_save_file+fsync": lambda checkpoint: with_fsync(raw_save_file(checkpoint))}
