"""Child side of the kill-at-random-moments test (`_child.py loop DIR --backend B --seed START --log FILE`).

Saves two different small models (A and B: different weights *and* shapes, so a config of one with the weights of
the other cannot pass for a checkpoint) into one directory, alternately and forever, cycling through layouts so
every kind of old directory meets every kind of new save: one file, 3 shards, 3 shards again (the same shard
names as the save before), 4 shards, then legacy `.bin` (torch) or 2 shards. Each save's `config.json` records
its number (`save_index`, counted from START). On stdout: `RESULT {"models": [digests of A, digests of B]}`, then
`PAUSED ready`. In the log file (written with `os.write`, so a frozen or killed child has nothing unwritten):

    BEGIN <k>   (before save k starts)
    DONE <k>    (after it returned)

`--backend core` saves with `pretrained.checkpoint.write_checkpoint` directly (NumPy only: starts in a fraction of
a second, for the many real SIGKILLs); torch / tf / flax use `save_pretrained`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sys
from typing import Any

import numpy as np

LAYOUTS = ["single", "3 shards", "3 shards", "4 shards", "last"]  # 5 layouts x 2 models: every pairing occurs


def array_digest(array: np.ndarray) -> str:
    return hashlib.sha256(f"{array.dtype}{array.shape}".encode() + np.ascontiguousarray(array).tobytes()).hexdigest()


def say(line: str) -> None:
    print(line, flush=True)


def _shard_limit(sizes: dict[str, int], shards: int) -> int:
    return math.ceil(sum(sizes.values()) / shards * 1.02)


def _bert(backend: str, index: int) -> Any:
    from pretrained.models.bert import BertConfig

    config = BertConfig(vocab_size=400, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=(128, 96)[index], max_position_embeddings=64)
    if backend == "torch":
        import torch

        from pretrained.models.bert import BertModel

        torch.manual_seed(index)
        return BertModel(config)
    if backend == "tf":
        from pretrained.models.bert import TFBertModel

        return TFBertModel(config)
    from flax import nnx

    from pretrained.models.bert import FlaxBertModel

    return FlaxBertModel(config, rngs=nnx.Rngs(index))


class _CoreModel:
    """Two 'models' of NumPy arrays saved through `write_checkpoint` (kernels stored transposed, as Keras does)."""

    def __init__(self, index: int) -> None:
        rng = np.random.default_rng(index)
        width = (96, 80)[index]
        self.arrays = {f"layer.{i}.weight": rng.normal(size=(width, 64)).astype(np.float32) for i in range(8)}
        self.arrays["embed.weight"] = rng.normal(size=(300, 64)).astype(np.float32)
        self.kernels = {key: np.ascontiguousarray(value.T) for key, value in self.arrays.items()}

    def digests(self) -> dict[str, str]:
        return {key: array_digest(value) for key, value in self.arrays.items()}

    def save(self, directory: str, index: int, model: int, layout: str) -> None:
        from pretrained.checkpoint import LazyTensor, write_checkpoint

        tensors = {key: LazyTensor("float32", value.shape, read=lambda k=key: self.kernels[k].T)
                   for key, value in self.arrays.items()}
        shards = {"single": 1, "3 shards": 3, "4 shards": 4, "last": 2}[layout]
        limit = _shard_limit({k: v.nbytes for k, v in self.arrays.items()}, shards)
        config = json.dumps({"save_index": index, "model": model}).encode()
        write_checkpoint(directory, tensors, max_shard_size=limit, extra_files={"config.json": config})


def _model_digests(model: Any) -> dict[str, str]:
    from pretrained.checkpoint import to_numpy

    return {key: array_digest(to_numpy(tensor)) for key, tensor in model.canonical_state_dict().items()}


def _save(backend: str, model: Any, directory: str, layout: str) -> None:
    if layout == "last" and backend == "torch":
        model.save_pretrained(directory, safe_serialization=False)
        return
    shards = {"single": 1, "3 shards": 3, "4 shards": 4, "last": 2}[layout]
    sizes = {key: tensor.nbytes for key, tensor in model.canonical_state_dict().items()}
    model.save_pretrained(directory, max_shard_size=_shard_limit(sizes, shards))


def loop(directory: str, start: int, backend: str, log: str) -> None:
    if backend == "core":
        models: list[Any] = [_CoreModel(0), _CoreModel(1)]
        say("RESULT " + json.dumps({"models": [m.digests() for m in models]}))
    else:
        models = [_bert(backend, 0), _bert(backend, 1)]
        say("RESULT " + json.dumps({"models": [_model_digests(m) for m in models]}))
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    say("PAUSED ready")
    for k in itertools.count(start):
        which, layout = k % 2, LAYOUTS[k % len(LAYOUTS)]
        os.write(fd, f"BEGIN {k}\n".encode())
        if backend == "core":
            models[which].save(directory, k, which, layout)
        else:
            models[which].config.save_index = k
            _save(backend, models[which], directory, layout)
        os.write(fd, f"DONE {k}\n".encode())


if __name__ == "__main__":  # pragma: no cover - run through _child.py
    sys.exit("run through _child.py loop")
