"""The module cache: shipped code is copied into `<cache>/pretrained_modules/<package>/` (one package per repo and
commit, or per local directory's content hash) and imported from there under a lock."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import RemoteCodeError

PACKAGE = "pretrained_modules"  # top-level package of the module cache
_IMPORT_LOCK = threading.RLock()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)[:80]


def package_name(source: Any, files: dict[str, Path], commit: str | None) -> str:
    """`<repo>_<hash of repo id>__<commit>` for the Hub; `local_<dir>__<hash of the directory's .py files>`."""
    if os.path.isdir(source):
        directory = Path(files[next(iter(files))]).parent
        digest = hashlib.sha256()
        for path in sorted(directory.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return f"local_{_safe(directory.resolve().name)}__{digest.hexdigest()[:24]}"
    repo = str(source)
    repo_hash = hashlib.sha256(repo.encode()).hexdigest()[:8]
    if commit is None:  # not from a snapshot folder: key by content instead
        digest = hashlib.sha256(b"".join(files[name].read_bytes() for name in sorted(files)))
        commit = f"h{digest.hexdigest()[:39]}"
    return f"{_safe(repo)}_{repo_hash}__{commit}"


def modules_cache_dir() -> Path:
    """Where shipped code is copied: `$PRETRAINED_MODULES_CACHE`, else `$HF_HOME/pretrained_modules`."""
    explicit = os.environ.get("PRETRAINED_MODULES_CACHE")
    if explicit:
        return Path(explicit)
    hf_home = os.environ.get("HF_HOME")
    if not hf_home:
        from huggingface_hub import constants

        hf_home = constants.HF_HOME
    return Path(hf_home, "pretrained_modules")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the thread lock still serialises this process
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write_if_changed(destination: Path, data: bytes) -> None:
    if destination.is_file() and destination.read_bytes() == data:
        return
    temp = destination.with_name(f".tmp-{uuid.uuid4().hex[:12]}-{destination.name}")
    temp.write_bytes(data)
    os.replace(temp, destination)


def _install(package: str, files: dict[str, Path]) -> Path:
    """Copy `files` into `<cache>/pretrained_modules/<package>/` (from the resolved snapshot only) and return the
    cache's root, which goes on `sys.path` so the package is importable by name (also in a fresh process)."""
    root = modules_cache_dir()
    target = root / PACKAGE / package
    target.mkdir(parents=True, exist_ok=True)
    with _file_lock(root / ".lock"):
        _write_if_changed(root / PACKAGE / "__init__.py", b"")
        _write_if_changed(target / "__init__.py", b"")
        for name, path in files.items():
            _write_if_changed(target / f"{name}.py", path.read_bytes())
    return root


def import_from_cache(package: str, files: dict[str, Path], module: str) -> Any:
    """Install `files` as cache package `package` and import its `module` (errors while importing -> `RemoteCodeError`)."""
    with _IMPORT_LOCK:
        root = _install(package, files)
        if str(root) not in sys.path:
            sys.path.append(str(root))
        importlib.invalidate_caches()
        top = importlib.import_module(PACKAGE)
        package_dir = str(root / PACKAGE)
        if package_dir not in list(top.__path__):  # another cache root was used earlier in this process
            top.__path__.insert(0, package_dir)
        name = f"{PACKAGE}.{package}.{module}"
        try:
            return importlib.import_module(name)
        except RemoteCodeError:
            raise
        except Exception as exc:
            raise RemoteCodeError(f"importing the shipped code {files[module]} failed: {exc!r}") from exc
