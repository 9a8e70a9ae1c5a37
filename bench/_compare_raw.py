"""The physical reference for bench/compare.py: plain `safetensors` reads and writes of the same file, no model.

`read_torch` is `safetensors.torch.load_file` (memory-mapped) + one sum per tensor; `read_numpy` is
`safetensors.numpy.load_file` + one NumPy sum per array; `save_numpy` writes the loaded arrays back with
`safetensors.numpy.save_file` (the cost of the bytes alone, for the save rows).
"""

from __future__ import annotations

import os
from typing import Any

from _compare_common import Action, Setup, read_arrays, read_torch, timed, warm_torch, written_bytes


def _file(checkpoint: str) -> str:
    return os.path.join(checkpoint, "model.safetensors")


def read_torch_mmap(checkpoint: str, scratch: str) -> Action:
    from safetensors.torch import load_file

    warm_torch()

    def action() -> dict[str, Any]:
        tensors, load_s = timed(lambda: load_file(_file(checkpoint)))
        count, read_s = timed(lambda: read_torch(tensors.values()))
        return {"load_s": load_s, "read_s": read_s, "n_tensors": count}

    return action


def read_numpy(checkpoint: str, scratch: str) -> Action:
    from safetensors.numpy import load_file

    def action() -> dict[str, Any]:
        arrays, load_s = timed(lambda: load_file(_file(checkpoint)))
        count, read_s = timed(lambda: read_arrays(arrays.values()))
        return {"load_s": load_s, "read_s": read_s, "n_tensors": count}

    return action


def save_numpy(checkpoint: str, scratch: str) -> Action:
    from safetensors.numpy import load_file, save_file

    arrays = load_file(_file(checkpoint))
    target = os.path.join(scratch, "saved")
    os.makedirs(target, exist_ok=True)

    def action() -> dict[str, Any]:
        _, save_s = timed(lambda: save_file(arrays, os.path.join(target, "model.safetensors"), {"format": "pt"}))
        return {"save_s": save_s, "written_bytes": written_bytes(target)}

    return action


WORKLOADS: dict[str, Setup] = {
    "read_torch_mmap": read_torch_mmap,
    "read_numpy": read_numpy,
    "save_numpy": save_numpy,
}
