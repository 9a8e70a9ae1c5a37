"""PyTorch workloads for bench/load.py: each loads a checkpoint directory and reads every weight once."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from pretrained.models.bert import BertModel
from pretrained.models.resnet import ResnetModelForImageClassification

TARGET = "from_pretrained"
BASELINE = "raw_safetensors"
SLOW_PATH = "init+load_state_dict"
CLASSES = {"resnet": ResnetModelForImageClassification, "bert": BertModel}


def warm_imports(checkpoint: str) -> None:
    """Resolve the model class (and its imports) before the measurement starts."""
    _model_class(checkpoint)


def _model_class(checkpoint: str) -> type:
    model_type = json.loads((Path(checkpoint) / "config.json").read_text())["model_type"]
    return CLASSES[model_type]


def _read_all(tensors) -> None:
    total = 0.0
    for tensor in tensors:
        total += float(tensor.sum())  # touches every byte of every weight
    if total != total:
        raise RuntimeError("NaN in the weights")


@torch.no_grad()
def from_pretrained(checkpoint: str) -> None:
    model = _model_class(checkpoint).from_pretrained(checkpoint)
    _read_all(model.state_dict().values())


@torch.no_grad()
def raw_safetensors(checkpoint: str) -> None:
    _read_all(load_file(str(Path(checkpoint) / "model.safetensors")).values())


@torch.no_grad()
def init_and_load_state_dict(checkpoint: str) -> None:
    cls = _model_class(checkpoint)
    model = cls(cls.config_class.from_pretrained(checkpoint))
    model.load_state_dict(load_file(str(Path(checkpoint) / "model.safetensors")), strict=False)
    _read_all(model.state_dict().values())


WORKLOADS = {
    "raw_safetensors": raw_safetensors,
    "from_pretrained": from_pretrained,
    "init+load_state_dict": init_and_load_state_dict,
}
