"""What the `pretrained` commands share: locating a checkpoint (directory, file or repo id; canonical, or
transformers v4's `.bin`, `tf_model.h5` or `flax_model.msgpack`), reading its config, and opening a reader over its
tensors. Framework-free."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checkpoint import (
    CONFIG_NAME,
    CheckpointFiles,
    checkpoint_from_file,
    find_weights,
    open_checkpoint,
)
from ..errors import CheckpointError, PretrainedError, RemoteCodeError
from ..layout import LayoutOverride

BACKENDS = ("torch", "tf", "flax")


class UsageError(PretrainedError, ValueError):
    """A command-line mistake: exit code 2, one line naming the file or option at fault."""


@dataclass
class Source:
    """A located checkpoint: its weight files (any format `open_checkpoint` reads) and its config."""

    name: str
    kind: str  # "safetensors", "bin", "h5" or "msgpack"
    files: list[Path]
    checkpoint: CheckpointFiles
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

    def open(self, *, overrides: Iterable[LayoutOverride] = ()) -> Any:
        """A reader over the tensors, in canonical keys and layout (`open_checkpoint`; `overrides`: a model class's
        `_legacy_weight_overrides` for v4 h5 / msgpack names)."""
        return open_checkpoint(self.checkpoint, overrides=overrides)

    def code_location(self) -> str:
        """Where the checkpoint's config and shipped code live: the repo id of a Hub source, else the directory."""
        if os.path.isdir(self.name) or not os.path.exists(self.name):
            return self.name
        return str(self.config_path.parent if self.config_path is not None else Path(self.name).parent)

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
    return _source(str(path), checkpoint_from_file(path), config if config.is_file() else None)


def _from_directory(directory: Path) -> Source:
    config = directory / CONFIG_NAME
    return _source(str(directory), find_weights(directory), config if config.is_file() else None)


def _from_hub(repo_id: str, revision: str | None) -> Source:
    from ..hub import resolve_checkpoint, resolve_file

    checkpoint = resolve_checkpoint(repo_id, revision=revision)
    return _source(repo_id, checkpoint, resolve_file(repo_id, CONFIG_NAME, revision=revision, required=False))


def _source(name: str, checkpoint: CheckpointFiles, config_path: Path | None) -> Source:
    return Source(name, checkpoint.kind, list(checkpoint.files), checkpoint, config_path, checkpoint.index_path)


def load_config(source: Source, *, trust_remote_code: bool | None = None) -> Any:
    """The source's `config.json` as a `PretrainedConfig` of its model type (through `AutoConfig`; a config class
    shipped with the checkpoint is imported only with `trust_remote_code=True`)."""
    if source.config_path is None:
        raise UsageError(f"{source.name}: no config.json next to the weights (needed to build a model)")
    from ..auto import AutoConfig

    with cli_remote_code_hint():
        return AutoConfig.from_pretrained(source.code_location(), trust_remote_code=trust_remote_code)


@contextlib.contextmanager
def cli_remote_code_hint() -> Iterator[None]:
    """A refusal to run shipped code names the command-line flag that allows it."""
    try:
        yield
    except RemoteCodeError as exc:
        raise RemoteCodeError(f"{exc} (on the command line: --trust-remote-code)") from None


def add_trust_remote_code(parser: argparse.ArgumentParser) -> None:
    """`--trust-remote-code`, for the commands that build model classes."""
    parser.add_argument("--trust-remote-code", action="store_true", default=None,
                        help="allow the checkpoint's own code (config.json auto_map) to run: read it first")


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
