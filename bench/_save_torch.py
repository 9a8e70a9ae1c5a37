"""PyTorch workloads for bench/save.py: each loads a checkpoint (untimed) and returns the save to measure."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from _save_common import Save, with_fsync
from safetensors.torch import save_file

from pretrained.models.bert import BertModel
from pretrained.models.resnet import ResnetModelForImageClassification

BASELINE = "raw_save_file"
CLASSES = {"resnet": ResnetModelForImageClassification, "bert": BertModel}


def _load(checkpoint: str):
    """The model, every weight read once: `from_pretrained` memory-maps the file, and the first read of a mapped
    page would otherwise count in the save's RSS growth (it is the loaded model, not the save)."""
    model_type = json.loads((Path(checkpoint) / "config.json").read_text())["model_type"]
    model = CLASSES[model_type].from_pretrained(checkpoint)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            tensor.sum()
    return model


def raw_save_file(checkpoint: str) -> Save:
    """The floor: `safetensors.torch.save_file` of the model's state dict, no config, no commit."""
    state = _load(checkpoint).state_dict()
    return lambda target: save_file(state, os.path.join(target, "model.safetensors"), {"format": "pt"})


def save_pretrained(checkpoint: str) -> Save:
    model = _load(checkpoint)
    return model.save_pretrained


WORKLOADS = {"raw_save_file": raw_save_file, "save_pretrained": save_pretrained,
             "raw_save_file+fsync": lambda checkpoint: with_fsync(raw_save_file(checkpoint))}
