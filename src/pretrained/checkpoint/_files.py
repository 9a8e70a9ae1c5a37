"""Locating a checkpoint's weight files (single file or index + shards) and verifying their digests."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, IntegrityError
from ..utils import logging
from ._format import (
    FLAX_WEIGHTS_INDEX_NAME,
    FLAX_WEIGHTS_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
    TF2_WEIGHTS_INDEX_NAME,
    TF2_WEIGHTS_NAME,
    WEIGHTS_INDEX_NAME,
    WEIGHTS_NAME,
    add_variant,
)

logger = logging.get_logger(__name__)

# ----------------------------------------------------------------------------------------------- locating files
@dataclass
class CheckpointFiles:
    """A checkpoint on local disk: its weight files in order, and the index that maps keys to them."""

    files: list[Path]
    kind: str = "safetensors"  # or "bin", "h5" (v4 TensorFlow), "msgpack" (v4 Flax); "memory" for a MemoryReader
    index_path: Path | None = None
    weight_map: dict[str, str] | None = None
    index_metadata: dict[str, Any] = field(default_factory=dict)
    expected_sha256: dict[str, str] = field(default_factory=dict)  # file name -> digest, when known

    @property
    def is_sharded(self) -> bool:
        return self.index_path is not None


def load_index(index_path: str | os.PathLike) -> CheckpointFiles:
    """Read a `*.index.json`, check that every shard it names lies in its directory and exists."""
    index_path = Path(index_path)
    try:
        text = index_path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CheckpointError(f"{index_path}: index file does not exist") from exc
    try:
        index = json.loads(text, object_pairs_hook=_reject_duplicate_keys(index_path))
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{index_path}: not valid JSON ({exc})") from exc
    if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
        raise CheckpointError(f"{index_path}: an index needs a 'weight_map' object mapping keys to shard files")
    weight_map: dict[str, str] = index["weight_map"]
    metadata = index.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{index_path}: 'metadata' must be an object")
    directory = index_path.parent.resolve()
    files: list[Path] = []
    for key, name in weight_map.items():
        if not isinstance(name, str) or not name:
            raise CheckpointError(f"{index_path}: key {key!r} maps to {name!r}, not a file name")
        # checked lexically, not with resolve(): in the Hub cache every snapshot file is a symlink into ../../blobs
        if os.path.isabs(name) or ".." in Path(name).parts or "\\" in name:
            raise CheckpointError(f"{index_path}: key {key!r} names shard {name!r} outside the checkpoint directory")
        shard = directory / name
        if shard not in files:
            files.append(shard)
    for shard in files:
        if not shard.is_file():
            raise CheckpointError(f"{index_path}: shard {shard.name!r} named in the index is missing from {directory}")
    kind = kind_of(index_path.name)
    sha = metadata.get("sha256") or {}
    return CheckpointFiles(
        files=files,
        kind=kind,
        index_path=index_path,
        weight_map=dict(weight_map),
        index_metadata=metadata,
        expected_sha256=dict(sha) if isinstance(sha, dict) else {},
    )


def _reject_duplicate_keys(source: Path):
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise CheckpointError(f"{source}: key {key!r} appears twice (e.g. in two shards)")
            result[key] = value
        return result

    return hook


def weight_candidates(variant: str | None = None, *, use_safetensors: bool | None = None) -> list[str]:
    """File names to look for, in priority order: the canonical safetensors and its index, then transformers v4's
    legacy files, `pytorch_model.bin`, `tf_model.h5` and `flax_model.msgpack`, each followed by its index
    (`use_safetensors=True`: safetensors only; `False`: the legacy files only).

    >>> weight_candidates(use_safetensors=False)[::2]
    ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack']
    """
    safe = [SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME]
    legacy = [WEIGHTS_NAME, WEIGHTS_INDEX_NAME, TF2_WEIGHTS_NAME, TF2_WEIGHTS_INDEX_NAME, FLAX_WEIGHTS_NAME,
              FLAX_WEIGHTS_INDEX_NAME]
    names = safe if use_safetensors is True else legacy if use_safetensors is False else safe + legacy
    return [add_variant(name, variant) for name in names]


def kind_of(name: str) -> str:
    """The format of a weights or index file, by its name: `"safetensors"`, `"h5"`, `"msgpack"`, else `"bin"`.

    >>> kind_of("tf_model.h5.index.json"), kind_of("model-00001-of-00002.safetensors"), kind_of("weights.pt")
    ('h5', 'safetensors', 'bin')
    """
    suffix = Path(_INDEX_RE.sub("", name)).suffix
    return {".safetensors": "safetensors", ".h5": "h5", ".msgpack": "msgpack"}.get(suffix, "bin")


def is_index_name(name: str) -> bool:
    """True for index file names, with or without a variant (`model.safetensors.index.json`,
    `model.safetensors.index.fp16.json`, `pytorch_model.bin.index.json`).

    >>> is_index_name("model.safetensors.index.v2.json"), is_index_name("model.v2.safetensors")
    (True, False)
    """
    return _INDEX_RE.search(name) is not None


_INDEX_RE = re.compile(r"\.index(\.[^.]+)?\.json$")


def checkpoint_from_file(path: str | os.PathLike) -> CheckpointFiles:
    """Describe the checkpoint rooted at one local file: a weights file or an index."""
    path = Path(path)
    if is_index_name(path.name):
        return load_index(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    return CheckpointFiles(files=[path], kind=kind_of(path.name))


def find_weights(
    directory: str | os.PathLike, *, variant: str | None = None, use_safetensors: bool | None = None
) -> CheckpointFiles:
    """Find the weights in a local checkpoint directory: safetensors first, then transformers v4's `.bin`,
    `tf_model.h5` and `flax_model.msgpack` (each single or sharded), in the order of `weight_candidates`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a directory")
    candidates = weight_candidates(variant, use_safetensors=use_safetensors)
    for name in candidates:
        if (directory / name).is_file():
            return checkpoint_from_file(directory / name)
    present = sorted(p.name for p in directory.iterdir())
    raise CheckpointError(
        f"{directory}: no weights found (looked for {', '.join(candidates)}; "
        f"the directory holds {present or 'nothing'}).{missing_weights_hint(present, variant, use_safetensors)}"
    )


def missing_weights_hint(present: list[str], variant: str | None, use_safetensors: bool | None) -> str:
    """Why no weight file matched, given the file names that are there: another format or another variant."""
    other_format = [n for n in weight_candidates(variant, use_safetensors=None) if n in present]
    if other_format and use_safetensors is not None:
        return (f" It holds {other_format[0]}, which use_safetensors={use_safetensors} excludes: pass "
                f"use_safetensors={not use_safetensors} or None.")
    variants = sorted({m.group("variant") for n in present if (m := _VARIANT_RE.match(n)) and m.group("variant")})
    if variant is not None and any(n in present for n in weight_candidates(None, use_safetensors=use_safetensors)):
        return " There are weights without a variant: use variant=None to load them."
    if variant is None and variants:
        return f" It holds weights for the variant(s) {variants}: pass variant=... to load one."
    return ""


_VARIANT_RE = re.compile(
    r"^(model|pytorch_model|tf_model|flax_model)(\.(?P<variant>[^.\-]+))?(-\d{5}-of-\d{5}(\.[0-9a-f]{8})?)?"
    r"\.(safetensors|bin|h5|msgpack)(\.index(\.[^.]+)?\.json)?$"
)


# ----------------------------------------------------------------------------------------------- reading
def sha256_file(path: str | os.PathLike, *, chunk: int = 1 << 24) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_checkpoint(checkpoint: CheckpointFiles) -> None:
    """Recompute each shard's sha256 and compare with the recorded digest; raise `IntegrityError` naming the shard."""
    if not checkpoint.expected_sha256:
        raise IntegrityError(
            f"{checkpoint.files[0]}: verify=True but the checkpoint records no sha256 digests "
            "(save it with pretrained, or load it from the Hub so the cache knows each file's hash)"
        )
    for path in checkpoint.files:
        expected = checkpoint.expected_sha256.get(path.name)
        if expected is None:
            raise IntegrityError(f"{path}: no sha256 recorded for this shard")
        actual = sha256_file(path)
        if actual != expected:
            raise IntegrityError(f"{path}: sha256 mismatch (expected {expected}, found {actual}); the file is corrupt")
