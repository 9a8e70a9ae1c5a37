"""What the `pretrained` commands share: locating a checkpoint (directory, file or repo id; canonical, legacy `.bin`
or `flax_model.msgpack`), reading its config, and opening a reader over its tensors. Framework-free."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import (
    CONFIG_NAME,
    FLAX_WEIGHTS_INDEX_NAME,
    FLAX_WEIGHTS_NAME,
    TF2_WEIGHTS_NAME,
    CheckpointFiles,
    CheckpointReader,
    MemoryReader,
    checkpoint_from_file,
    find_weights,
)
from .errors import CheckpointError, HubError, PretrainedError

BACKENDS = ("torch", "tf", "flax")


class UsageError(PretrainedError, ValueError):
    """A command-line mistake: exit code 2, one line naming the file or option at fault."""


@dataclass
class Source:
    """A located checkpoint: its weights (canonical / `.bin` files, or a legacy msgpack) and its config."""

    name: str
    kind: str  # "safetensors", "bin" or "msgpack"
    files: list[Path]
    checkpoint: CheckpointFiles | None = None
    config_path: Path | None = None
    index_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def config_dict(self) -> dict[str, Any] | None:
        """The parsed `config.json`, or None when the checkpoint has none."""
        if self.config_path is None:
            return None
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{self.config_path}: not a readable config.json ({exc})") from exc

    def open(self) -> Any:
        """A reader over the tensors (`CheckpointReader`, or a `MemoryReader` for msgpack), in canonical keys."""
        if self.kind == "msgpack":
            from .legacy import read_flax_msgpack

            return MemoryReader(read_flax_msgpack(self.index_path or self.files[0]), source=str(self.files[0]))
        assert self.checkpoint is not None
        return CheckpointReader(self.checkpoint)

    def size_on_disk(self) -> int:
        return sum(p.stat().st_size for p in self.files)


def locate(name: str, *, revision: str | None = None) -> Source:
    """Find the checkpoint at `name`: a local directory, a local weights / index file, or a Hub repo id."""
    if os.path.isfile(name):
        return _from_file(Path(name))
    if os.path.isdir(name):
        return _from_directory(Path(name))
    if name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name:  # not a repo id
        raise UsageError(f"{name}: no such file or directory")
    return _from_hub(name, revision)


def _from_file(path: Path) -> Source:
    config = path.parent / CONFIG_NAME
    config_path = config if config.is_file() else None
    if path.name.endswith(".h5"):
        from .legacy import h5_error

        raise h5_error(path)
    if path.name.endswith(".msgpack") or path.name.endswith(".msgpack.index.json"):
        return _msgpack_source(str(path), path, config_path)
    checkpoint = checkpoint_from_file(path)
    return Source(str(path), checkpoint.kind, list(checkpoint.files), checkpoint, config_path, checkpoint.index_path)


def _from_directory(directory: Path) -> Source:
    config = directory / CONFIG_NAME
    config_path = config if config.is_file() else None
    try:
        checkpoint = find_weights(directory)
    except CheckpointError:
        for legacy in (FLAX_WEIGHTS_INDEX_NAME, FLAX_WEIGHTS_NAME):
            if (directory / legacy).is_file():
                return _msgpack_source(str(directory), directory / legacy, config_path)
        if (directory / TF2_WEIGHTS_NAME).is_file():
            from .legacy import h5_error

            raise h5_error(directory / TF2_WEIGHTS_NAME) from None
        raise
    return Source(str(directory), checkpoint.kind, list(checkpoint.files), checkpoint, config_path,
                  checkpoint.index_path)


def _msgpack_source(name: str, path: Path, config_path: Path | None) -> Source:
    if path.name.endswith(".index.json"):
        weight_map = json.loads(path.read_text(encoding="utf-8")).get("weight_map", {})
        files = sorted({path.parent / str(f) for f in weight_map.values()})
        return Source(name, "msgpack", files, None, config_path, path)
    return Source(name, "msgpack", [path], None, config_path, None)


def _from_hub(repo_id: str, revision: str | None) -> Source:
    from .hub import resolve_checkpoint, resolve_file

    try:
        checkpoint = resolve_checkpoint(repo_id, revision=revision)
    except HubError:
        legacy = resolve_file(repo_id, FLAX_WEIGHTS_NAME, revision=revision, required=False)
        if legacy is None:
            raise
        config = resolve_file(repo_id, CONFIG_NAME, revision=revision, required=False)
        return _msgpack_source(repo_id, legacy, config)
    config = resolve_file(repo_id, CONFIG_NAME, revision=revision, required=False)
    return Source(repo_id, checkpoint.kind, list(checkpoint.files), checkpoint, config, checkpoint.index_path)


def load_config(source: Source) -> Any:
    """The source's `config.json` as a `PretrainedConfig` of its model type (through `AutoConfig`)."""
    if source.config_path is None:
        raise UsageError(f"{source.name}: no config.json next to the weights (needed to build a model)")
    from .auto import AutoConfig

    return AutoConfig.from_pretrained(source.config_path.parent)


def human_size(nbytes: float) -> str:
    """`1536` -> `'1.5 KB'` (decimal units, as the Hub shows them).

    >>> human_size(1536), human_size(3_200_000_000)
    ('1.5 KB', '3.2 GB')
    """
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(nbytes) < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    return f"{nbytes:.1f} TB"  # pragma: no cover


def human_count(count: int) -> str:
    """`124_440_000` -> `'124.4M'`.

    >>> human_count(999), human_count(124_440_000)
    ('999', '124.4M')
    """
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f}{unit}"
    return str(count)
