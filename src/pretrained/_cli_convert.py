"""`pretrained convert`: re-save a checkpoint (legacy `.bin` / msgpack -> canonical safetensors, resharding), or load
it into a backend's class and save from there; `--check` compares outputs of both sides in two backends."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._cli_common import BACKENDS, Source, UsageError, load_config, locate
from .checkpoint import CONFIG_NAME, DEFAULT_MAX_SHARD_SIZE, HostTensor, to_numpy, write_checkpoint
from .conversion import run_model
from .utils import progress

_FRAMEWORK_MODULES = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def installed_backends() -> list[str]:
    """The backends whose framework can be imported here (checked without importing it)."""
    return [b for b in BACKENDS if importlib.util.find_spec(_FRAMEWORK_MODULES[b]) is not None]


# ----------------------------------------------------------------------------------------------- re-save
def resave(source: Source, destination: Path, *, max_shard_size: int | str) -> list[Path]:
    """Write the source's tensors as canonical safetensors (+ its config.json, architectures in PyTorch spelling)."""
    extra = {}
    config = source.config_dict()
    if config is not None:
        config["architectures"] = [_pytorch_spelling(a) for a in config.get("architectures") or []] or None
        extra[CONFIG_NAME] = (json.dumps(config, indent=2, sort_keys=True) + "\n").encode("utf-8")
    with source.open() as reader:
        keys = reader.keys()
        tensors: dict[str, HostTensor] = {}
        with progress.bar(total=len(keys), desc="Reading tensors", unit="tensor",
                          enabled=reader.total_bytes() > progress.MIN_BYTES_FOR_BAR) as bar:
            for key in keys:  # safetensors: memory-mapped views; .bin: the unpickled tensors; msgpack: arrays
                tensors[key] = HostTensor.from_numpy(to_numpy(reader.get(key)))
                bar.update(1)
        return write_checkpoint(destination, tensors, max_shard_size=max_shard_size, metadata={"format": "pt"},
                                extra_files=extra)


def _pytorch_spelling(name: str) -> str:
    for prefix in ("TF", "Flax"):
        if name.startswith(prefix) and name[len(prefix):][:1].isupper():
            return name[len(prefix):]
    return name


def resave_with_backend(source: Source, destination: Path, *, backend: str, max_shard_size: int | str) -> Any:
    """Load the source into `backend`'s class for `config.architectures` and `save_pretrained` from it."""
    model = load_model(source, backend)
    model.save_pretrained(destination, max_shard_size=max_shard_size)
    return model


def load_model(source: Source, backend: str) -> Any:
    """The source's weights in `backend`'s class (built from its config, streamed from its reader)."""
    from .conversion import model_class_for

    _require(backend)
    config = load_config(source)
    model_class = model_class_for(config, backend)
    with source.open() as reader:
        return model_class.from_pretrained(None, config=config, state_dict=reader)


def _require(backend: str) -> None:
    if backend not in installed_backends():
        raise UsageError(f"backend {backend!r} is not installed: pip install 'pretrained[{backend}]'")


# ----------------------------------------------------------------------------------------------- --check
def dummy_inputs(config: Any, main_input_name: str) -> dict[str, np.ndarray]:
    """A small deterministic input for the model's main input, sized from the config.

    >>> from pretrained.models.bert import BertConfig
    >>> dummy_inputs(BertConfig(vocab_size=30), "input_ids")["input_ids"].shape
    (2, 8)
    """
    rng = np.random.default_rng(0)
    if main_input_name == "input_ids":
        vocab = int(getattr(config, "vocab_size", 100) or 100)
        return {"input_ids": rng.integers(0, vocab, size=(2, 8)).astype(np.int64)}
    if main_input_name == "pixel_values":
        channels = getattr(config, "num_channels", None) or getattr(config, "input_channels", None) or 3
        size = int(getattr(config, "image_size", 64) or 64)
        return {"pixel_values": rng.normal(size=(1, int(channels), size, size)).astype(np.float32)}
    raise UsageError(f"--check: no dummy input for main_input_name {main_input_name!r} (input_ids, pixel_values)")


def max_output_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    """The largest absolute difference between matching outputs (shapes must agree)."""
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        raise UsageError(f"--check: the two models return different outputs ({[x.shape for x in a]} vs "
                         f"{[y.shape for y in b]})")
    return max((float(np.max(np.abs(x - y))) if x.size else 0.0 for x, y in zip(a, b)), default=0.0)


def check(source: Source, destination: Source, *, backends: tuple[str, str], atol: float,
          echo: Callable[[str], None]) -> int:
    """Load `source` in `backends[0]` and `destination` in `backends[1]`, run both on one dummy input, report."""
    first, second = (load_model(source, backends[0]), load_model(destination, backends[1]))
    inputs = dummy_inputs(first.config, type(first).main_input_name)
    delta = max_output_difference(run_model(first, inputs), run_model(second, inputs))
    verdict = "ok" if delta <= atol else f"DIFFERENT (atol {atol:g})"
    echo(f"check: {type(first).__name__} ({backends[0]}, {source.name}) vs {type(second).__name__} "
         f"({backends[1]}, {destination.name}): max abs difference {delta:.3g} - {verdict}")
    return 0 if delta <= atol else 1


def check_backends(requested: str | None, to_backend: str | None) -> tuple[str, str]:
    """The two backends of `--check`: `--check-backends A,B`, else torch (or the first installed) for the source and
    `--to-backend` (or another installed backend) for the destination."""
    installed = installed_backends()
    if requested:
        pair = tuple(b.strip() for b in requested.split(","))
        if len(pair) != 2 or any(b not in BACKENDS for b in pair):
            raise UsageError(f"--check-backends: expected two of {', '.join(BACKENDS)} like 'torch,flax', "
                             f"got {requested!r}")
        return pair  # type: ignore[return-value]
    if not installed:
        raise UsageError("--check needs a backend: pip install 'pretrained[torch]' (or tf, flax)")
    first = "torch" if "torch" in installed else installed[0]
    second = to_backend or next((b for b in ("flax", "tf", "torch") if b in installed and b != first), first)
    return first, second


def run_convert(src: str, dst: str, *, revision: str | None, to_backend: str | None, run_check: bool,
                check_with: str | None, max_shard_size: str | None, atol: float, echo: Callable[[str], None]) -> int:
    source = locate(src, revision=revision)
    destination = Path(dst)
    if destination.is_file():
        raise UsageError(f"{destination}: the destination must be a directory, found a file")
    if destination.resolve() in {p.parent.resolve() for p in source.files}:
        raise UsageError(f"{destination}: the destination is the source directory; pick another one")
    shard = max_shard_size or DEFAULT_MAX_SHARD_SIZE
    if to_backend is None:
        written = resave(source, destination, max_shard_size=shard)
        echo(f"wrote {destination} ({', '.join(p.name for p in written)}) from {source.kind} {source.name}")
    else:
        resave_with_backend(source, destination, backend=to_backend, max_shard_size=shard)
        echo(f"wrote {destination} from {source.name} through the {to_backend} model")
    if not run_check:
        return 0
    return check(source, locate(str(destination)), backends=check_backends(check_with, to_backend), atol=atol,
                 echo=echo)
