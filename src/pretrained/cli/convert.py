"""`pretrained convert`: re-save a checkpoint (transformers v4's `.bin`, `tf_model.h5` or `flax_model.msgpack` ->
canonical safetensors, resharding), or load it into a backend's class and save from there; `--check` compares
outputs of both sides in two backends."""

from __future__ import annotations

import argparse
import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import CONFIG_NAME, DEFAULT_MAX_SHARD_SIZE, HostTensor, to_numpy, write_checkpoint
from ..conversion import run_model
from ..errors import ConfigError
from ..utils import progress
from ._common import BACKENDS, Source, UsageError, add_trust_remote_code, cli_remote_code_hint, load_config, locate

HELP = "re-save a checkpoint as canonical safetensors"
_FRAMEWORK_MODULES = {"torch": "torch", "tf": "tensorflow", "flax": "flax"}


def installed_backends() -> list[str]:
    """The backends whose framework can be imported here (checked without importing it)."""
    return [b for b in BACKENDS if importlib.util.find_spec(_FRAMEWORK_MODULES[b]) is not None]


# ----------------------------------------------------------------------------------------------- re-save
def resave(source: Source, destination: Path, *, max_shard_size: int | str) -> list[Path]:
    """Write the source's tensors as canonical safetensors (+ its config.json, architectures in PyTorch spelling).
    Legacy h5 / msgpack names map by v4's mechanical rules; a model that declares `_legacy_weight_overrides`
    converts through its class (`--to-backend`)."""
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
            for key in keys:  # safetensors: memory-mapped views; .bin: the unpickled tensors; h5 / msgpack: arrays
                tensors[key] = HostTensor.from_numpy(to_numpy(reader.get(key)))
                bar.update(1)
        return write_checkpoint(destination, tensors, max_shard_size=max_shard_size, metadata={"format": "pt"},
                                extra_files=extra)


def _pytorch_spelling(name: str) -> str:
    for prefix in ("TF", "Flax"):
        if name.startswith(prefix) and name[len(prefix):][:1].isupper():
            return name[len(prefix):]
    return name


def resave_with_backend(source: Source, destination: Path, *, backend: str, max_shard_size: int | str,
                        trust_remote_code: bool | None = None) -> Any:
    """Load the source into `backend`'s class for `config.architectures` and `save_pretrained` from it."""
    model = load_model(source, backend, trust_remote_code=trust_remote_code)
    model.save_pretrained(destination, max_shard_size=max_shard_size)
    return model


def load_model(source: Source, backend: str, *, trust_remote_code: bool | None = None) -> Any:
    """The source's weights in `backend`'s class (built from its config, streamed from its reader); a class shipped
    with the checkpoint (`auto_map`) is used with `trust_remote_code=True`."""
    _require(backend)
    config = load_config(source, trust_remote_code=trust_remote_code)
    model_class = model_class_of(config, backend, source, trust_remote_code=trust_remote_code)
    with source.open(overrides=model_class._legacy_weight_overrides) as reader:
        return model_class.from_pretrained(None, config=config, state_dict=reader)


def model_class_of(config: Any, backend: str, source: Source, *, trust_remote_code: bool | None = None) -> type:
    """`backend`'s class for the config's architecture: the code the checkpoint ships for that backend's Auto
    class when trusted, else a registered or library class (shipped code untrusted -> `RemoteCodeError`)."""
    from ..auto_names import BACKEND_PREFIXES
    from ..conversion import model_class_for
    from ..dynamic import load_remote_class, resolve_trust_remote_code

    prefix = BACKEND_PREFIXES[backend]
    auto_map = config.auto_map if isinstance(config.auto_map, dict) else {}
    shipped = [key for key in auto_map if key.startswith(f"{prefix}AutoModel") and key != "AutoConfig"
               and (prefix or not key.startswith(("TF", "Flax")))]
    wanted = _pytorch_spelling(next(iter(config.architectures or []), ""))
    shipped.sort(key=lambda key: _pytorch_spelling(str(auto_map[key]).rsplit(".", 1)[-1]) != wanted)
    try:
        local: type | None = model_class_for(config, backend)
    except ConfigError:
        if not shipped:
            raise
        local = None
    if not shipped:
        return local  # type: ignore[return-value]
    with cli_remote_code_hint():
        if not resolve_trust_remote_code(trust_remote_code, source.name, has_local_code=local is not None,
                                         auto_map=auto_map, auto_class=shipped[0]):
            return local  # type: ignore[return-value]
        return load_remote_class(auto_map, shipped[0], source.code_location())


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
          echo: Callable[[str], None], trust_remote_code: bool | None = None) -> int:
    """Load `source` in `backends[0]` and `destination` in `backends[1]`, run both on one dummy input, report."""
    first = load_model(source, backends[0], trust_remote_code=trust_remote_code)
    second = load_model(destination, backends[1], trust_remote_code=trust_remote_code)
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC", help="directory, weights file or repo id (also v4 .bin / .h5 / .msgpack)")
    parser.add_argument("destination", metavar="DST", help="output directory")
    parser.add_argument("--revision", help="branch, tag or commit of a Hub repo")
    parser.add_argument("--to-backend", choices=BACKENDS, help="load into this backend's class and save from it")
    parser.add_argument("--max-shard-size", help="e.g. 5GB (default), 500MB")
    parser.add_argument("--check", action="store_true",
                        help="compare the outputs of SRC and DST (in two backends) on a dummy input")
    parser.add_argument("--check-backends", metavar="A,B", help="backends of --check (default torch,<to-backend>)")
    parser.add_argument("--atol", type=float, default=1e-4, help="--check tolerance (default 1e-4)")
    add_trust_remote_code(parser)


def run(args: argparse.Namespace, echo: Callable[[str], None]) -> int:
    """Exit code 1 when `--check` finds the outputs further apart than `--atol`, 0 otherwise."""
    source = locate(args.source, revision=args.revision)
    destination = Path(args.destination)
    to_backend = args.to_backend
    if destination.is_file():
        raise UsageError(f"{destination}: the destination must be a directory, found a file")
    if destination.resolve() in {p.parent.resolve() for p in source.files}:
        raise UsageError(f"{destination}: the destination is the source directory; pick another one")
    shard = args.max_shard_size or DEFAULT_MAX_SHARD_SIZE
    if to_backend is None:
        written = resave(source, destination, max_shard_size=shard)
        echo(f"wrote {destination} ({', '.join(p.name for p in written)}) from {source.kind} {source.name}")
    else:
        resave_with_backend(source, destination, backend=to_backend, max_shard_size=shard,
                            trust_remote_code=args.trust_remote_code)
        echo(f"wrote {destination} from {source.name} through the {to_backend} model")
    if not args.check:
        return 0
    return check(source, locate(str(destination)), backends=check_backends(args.check_backends, to_backend),
                 atol=args.atol, echo=echo, trust_remote_code=args.trust_remote_code)
