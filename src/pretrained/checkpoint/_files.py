"""Locating a checkpoint's weight files (single file or index + shards) and verifying their digests."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, IntegrityError
from ..utils import logging
from ._format import (
    FLAX_WEIGHTS_NAME,
    SAFE_WEIGHTS_INDEX_NAME,
    SAFE_WEIGHTS_NAME,
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
    kind: str = "safetensors"  # or "bin"
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
    kind = "bin" if index_path.name.startswith("pytorch_model") else "safetensors"
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
    """File names to look for, in priority order (safetensors, its index, then legacy `.bin` and its index)."""
    safe = [add_variant(SAFE_WEIGHTS_NAME, variant), add_variant(SAFE_WEIGHTS_INDEX_NAME, variant)]
    legacy = [add_variant(WEIGHTS_NAME, variant), add_variant(WEIGHTS_INDEX_NAME, variant)]
    if use_safetensors is True:
        return safe
    if use_safetensors is False:
        return legacy
    return safe + legacy


def checkpoint_from_file(path: str | os.PathLike) -> CheckpointFiles:
    """Describe the checkpoint rooted at one local file: a weights file or an index."""
    path = Path(path)
    if path.name.endswith(".index.json"):
        return load_index(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    kind = "safetensors" if path.suffix == ".safetensors" else "bin"
    return CheckpointFiles(files=[path], kind=kind)


def find_weights(directory: str | os.PathLike, *, variant: str | None = None) -> CheckpointFiles:
    """Find the weights in a local checkpoint directory (safetensors first, legacy `.bin` second)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a directory")
    for name in weight_candidates(variant):
        if (directory / name).is_file():
            return checkpoint_from_file(directory / name)
    present = sorted(p.name for p in directory.iterdir())
    hint = ""
    if TF2_WEIGHTS_NAME in present:
        hint = (
            f" It holds a legacy Keras 2 file {TF2_WEIGHTS_NAME}, which cannot be read portably (its variable names "
            "depend on the Keras 2 layer naming of the transformers v4 class that wrote it). Convert it once with "
            "transformers v4: `AutoModel.from_pretrained(dir, from_tf=True).save_pretrained(out, "
            "safe_serialization=True)` (its PyTorch class writes canonical safetensors), then load `out` here "
            "(`pretrained convert out DST` reshards or checks it)."
        )
    elif FLAX_WEIGHTS_NAME in present:
        hint = (
            f" It holds a legacy {FLAX_WEIGHTS_NAME}: convert it with `pretrained convert {directory} OUT` "
            "(or read it with `pretrained.legacy.read_flax_msgpack`)."
        )
    raise CheckpointError(
        f"{directory}: no weights found (looked for {', '.join(weight_candidates(variant))}; "
        f"the directory holds {present or 'nothing'}).{hint}"
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
