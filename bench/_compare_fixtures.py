"""The checkpoints bench/compare.py measures, made once (library-neutral) and cached in bench/.work/compare/.

Both are written as transformers' PyTorch `save_pretrained` writes them (`config.json` + `model.safetensors`,
PyTorch state-dict names and layout, metadata `{"format": "pt"}`), by plain `safetensors` / NumPy code, so
neither library under test made the file it is measured on.

- `resnet50d`: timm's ResNet-50d (random init) under the custom-models guide's `model.` prefix (~100 MB).
- `bert-large`: BERT-large layout (24 layers, hidden 1024, vocab 30522), N(0, 0.02) fp32 weights (~1.34 GB),
  written one tensor at a time so making it costs little memory. `--quick` uses a 2-layer `bert-small`.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

RESNET50D = {"block_type": "bottleneck", "layers": [3, 4, 6, 3], "num_classes": 1000, "input_channels": 3,
             "cardinality": 1, "base_width": 64, "stem_width": 32, "stem_type": "deep", "avg_down": True}
BERT_LARGE = {"vocab_size": 30522, "hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16,
              "intermediate_size": 4096, "max_position_embeddings": 512, "type_vocab_size": 2}
BERT_SMALL = {**BERT_LARGE, "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
              "intermediate_size": 1024}
BERT_DEFAULTS = {"hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
                 "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
                 "position_embedding_type": "absolute", "use_cache": True, "classifier_dropout": None}


def checkpoints(work: Path, quick: bool) -> dict[str, Path]:
    """Create (once) and return {"resnet50d": dir, "bert": dir}."""
    bert_name = "bert-small" if quick else "bert-large"
    wanted = {"resnet50d": work / "resnet50d", "bert": work / bert_name}
    if not (wanted["resnet50d"] / "model.safetensors").is_file():
        make_resnet50d(wanted["resnet50d"])
    if not (wanted["bert"] / "model.safetensors").is_file():
        make_bert(wanted["bert"], BERT_SMALL if quick else BERT_LARGE)
    return wanted


def checkpoint_bytes(directory: Path) -> int:
    """Size of the weights file(s) in `directory`."""
    return sum(p.stat().st_size for p in directory.glob("*.safetensors"))


def make_resnet50d(directory: Path) -> None:
    """timm's resnet50d with the guide's `model.` prefix; `config.json` as the guide's `ResnetConfig` writes it."""
    import timm  # noqa: I001 (ruff's first-party guess for torch/jax/flax follows tests/<name>/ folders)
    import torch

    torch.manual_seed(0)
    model = timm.create_model("resnet50d", pretrained=False)
    tensors = {f"model.{k}": v.detach().numpy() for k, v in model.state_dict().items()}
    config = {"architectures": ["ResnetModelForImageClassification"], "model_type": "resnet", **RESNET50D}
    _write(directory, config, {k: (v.dtype, v.shape) for k, v in tensors.items()}, tensors.__getitem__)


def bert_shapes(cfg: dict) -> dict[str, tuple[int, ...]]:
    """transformers' `BertModel` state-dict keys and shapes (PyTorch layout) for a BERT config dict."""
    h, i = cfg["hidden_size"], cfg["intermediate_size"]
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (cfg["vocab_size"], h),
        "embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": (cfg["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
    }
    for n in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{n}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[p + name + ".weight"], shapes[p + name + ".bias"] = (h, h), (h,)
        shapes[p + "attention.output.LayerNorm.weight"] = shapes[p + "attention.output.LayerNorm.bias"] = (h,)
        shapes[p + "intermediate.dense.weight"], shapes[p + "intermediate.dense.bias"] = (i, h), (i,)
        shapes[p + "output.dense.weight"], shapes[p + "output.dense.bias"] = (h, i), (h,)
        shapes[p + "output.LayerNorm.weight"] = shapes[p + "output.LayerNorm.bias"] = (h,)
    shapes["pooler.dense.weight"], shapes["pooler.dense.bias"] = (h, h), (h,)
    return shapes


def make_bert(directory: Path, cfg: dict) -> None:
    """Random BERT-layout weights (LayerNorm weight 1, other biases 0), made and written one tensor at a time."""
    shapes = bert_shapes(cfg)
    rng = np.random.default_rng(0)

    def tensor(key: str) -> np.ndarray:
        if key.endswith("LayerNorm.weight"):
            return np.ones(shapes[key], np.float32)
        if key.endswith(".bias"):
            return np.zeros(shapes[key], np.float32)
        return rng.standard_normal(shapes[key], dtype=np.float32) * np.float32(0.02)

    config = {"architectures": ["BertModel"], "model_type": "bert", **BERT_DEFAULTS, **cfg,
              "torch_dtype": "float32"}
    _write(directory, config, {k: (np.dtype(np.float32), s) for k, s in shapes.items()}, tensor)


def _write(directory: Path, config: dict, specs: dict[str, tuple[np.dtype, tuple[int, ...]]],
           tensor: Callable[[str], np.ndarray]) -> None:
    """Write `model.safetensors` (tensors made one at a time by `tensor(key)`) and `config.json`, atomically."""
    directory.mkdir(parents=True, exist_ok=True)
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for key in sorted(specs):
        dtype, shape = specs[key]
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        header[key] = {"dtype": _DTYPES[dtype.str[1:]], "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    partial = directory / "model.safetensors.partial"
    with open(partial, "wb") as out:
        out.write(struct.pack("<Q", len(blob)) + blob)
        for key in sorted(specs):
            out.write(np.ascontiguousarray(tensor(key), dtype=specs[key][0]).tobytes())
    partial.replace(directory / "model.safetensors")
    (directory / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


_DTYPES = {"f4": "F32", "f2": "F16", "i8": "I64", "i4": "I32", "u1": "U8", "b1": "BOOL"}
