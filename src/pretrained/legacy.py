"""Legacy transformers v4 weight files, read for migration only.

`pytorch_model.bin` is read with `torch.load(weights_only=True)`, which refuses any pickle that would run code.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import CheckpointError, MissingBackendError


def load_bin_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a `pytorch_model.bin` (or one shard) safely; torch must be installed."""
    path = Path(path)
    try:
        import torch
    except ImportError as exc:
        raise MissingBackendError(
            f"{path}: reading a legacy .bin checkpoint needs PyTorch: pip install 'pretrained[torch]'"
        ) from exc
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as exc:
        if "mmap" in str(exc):  # legacy (non-zip) torch.save format cannot be mmapped
            state = _load_unmapped(torch, path)
        else:
            raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {exc}") from exc
    except Exception as exc:  # pickle.UnpicklingError for anything weights_only refuses
        raise CheckpointError(
            f"{path}: refused to load: the file is not a plain tensor pickle (weights_only=True rejected it: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}). Only load pickles you trust, "
            "and prefer safetensors."
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise CheckpointError(f"{path}: expected a state dict (str -> tensor), found {type(state).__name__}")
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{path}: entries {bad[:5]} are not tensors")
    return state


def _load_unmapped(torch: Any, path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path}: refused to load (weights_only=True rejected it: {exc})") from exc
