"""Flax (NNX) workloads for bench/save.py: each loads a checkpoint (untimed) and returns the save to measure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from _save_common import Save, with_fsync
from safetensors.numpy import save_file

from pretrained.flax import canonical_variables
from pretrained.models.bert import FlaxBertModel
from pretrained.models.resnet import FlaxResnetModelForImageClassification

BASELINE = "raw_save_file"
CLASSES = {"resnet": FlaxResnetModelForImageClassification, "bert": FlaxBertModel}


def _load(checkpoint: str):
    model_type = json.loads((Path(checkpoint) / "config.json").read_text())["model_type"]
    return CLASSES[model_type].from_pretrained(checkpoint)


def raw_save_file(checkpoint: str) -> Save:
    """The floor: `safetensors.numpy.save_file` of NumPy views of the arrays (NNX layout: no transposes)."""
    arrays = {v.key: np.asarray(v.variable.get_value()) for v in canonical_variables(_load(checkpoint))}
    return lambda target: save_file(arrays, os.path.join(target, "model.safetensors"), {"format": "pt"})


def save_pretrained(checkpoint: str) -> Save:
    return _load(checkpoint).save_pretrained


WORKLOADS = {"raw_save_file": raw_save_file, "save_pretrained": save_pretrained,
             "raw_save_file+fsync": lambda checkpoint: with_fsync(raw_save_file(checkpoint))}
