"""Loading shipped code (trust already established): fetch the code files of one checkpoint snapshot, check their
imports, and import them from the module cache."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import RemoteCodeError
from ..hub import resolve_file, snapshot_commit
from ..utils import logging
from ..utils.options import check_unknown_options, pop_deprecated_token
from ._module_cache import import_from_cache, package_name
from ._parsing import missing_packages, parse_code_file, relative_imports
from ._trust import parse_class_reference

logger = logging.get_logger(__name__)

_COMMIT = re.compile(r"[0-9a-f]{40}")


class RemoteCodeImportError(RemoteCodeError, ImportError):
    """Shipped code imports packages that are not installed (also an `ImportError`, as in transformers v4)."""


def load_remote_class(
    auto_map: dict[str, Any],
    auto_class: str,
    name_or_path: Any,
    *,
    commit: str | None = None,
    code_revision: str | None = None,
    hub_kwargs: dict[str, Any] | None = None,
) -> type:
    """Import the class `auto_map[auto_class]` names (trust already established) and mark it so saving it ships
    its code again. Same-repo code is fetched at `commit` (the revision the config was resolved at)."""
    hub = dict(hub_kwargs or {})
    if commit:
        hub["revision"] = commit
    klass = get_class_from_dynamic_module(
        auto_map[auto_class], name_or_path, code_revision=code_revision, config_key=auto_class, **hub
    )
    if getattr(klass, "_auto_class", None) is None:
        klass._auto_class = auto_class
    return klass


def get_class_from_dynamic_module(
    class_reference: str,
    name_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    code_revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    token: str | bool | None = None,
    subfolder: str = "",
    force_download: bool = False,
    config_key: str = "auto_map",
    **deprecated_kwargs: Any,
) -> type:
    """Import and return the class `class_reference` (`module.Class` or `org/repo--module.Class`) names.

    The code files (the module and, recursively, the same-folder files it imports relatively) come from
    `name_or_path` at `revision` (a Hub snapshot, or a local directory) through `pretrained.hub.resolve_file`; their
    imports are checked; they are copied into the module cache as a package keyed by repo and commit (local
    directory: content hash) and imported from there under a lock. Only call this once the code is trusted.

    Example:
        >>> import pathlib
        >>> checkpoint = pathlib.Path("my-checkpoint")  # or a Hub repo id, with revision= a commit hash
        >>> checkpoint.mkdir()
        >>> _ = checkpoint.joinpath("modeling_my.py").write_text("class MyModel:\\n    pass\\n")
        >>> cls = get_class_from_dynamic_module("modeling_my.MyModel", checkpoint)
        >>> cls.__name__, cls.__module__
        ('MyModel', 'pretrained_modules.local_my_checkpoint__....modeling_my')
    """
    token = pop_deprecated_token(deprecated_kwargs, token)  # v4's use_auth_token=
    check_unknown_options(deprecated_kwargs, ["token", "revision", "code_revision", "cache_dir", "local_files_only",
                                              "subfolder", "force_download", "config_key"],
                          call="get_class_from_dynamic_module")
    reference = parse_class_reference(class_reference, key=config_key)
    hub = {"cache_dir": cache_dir, "local_files_only": local_files_only, "token": token,
           "force_download": force_download, "subfolder": subfolder}
    source: str | os.PathLike = name_or_path
    if reference.repo is not None and reference.repo != str(name_or_path):
        source, hub["subfolder"], revision = reference.repo, "", code_revision
    else:
        revision = code_revision or revision
    if os.path.isfile(source):
        source = os.path.dirname(os.path.abspath(source))
    fetch = _local_fetcher(Path(source, hub["subfolder"])) if os.path.isdir(source) else _hub_fetcher(
        str(source), revision, hub
    )
    files = _collect_code_files(reference.module, fetch)
    missing = missing_packages(list(files.values()))
    if missing:
        raise RemoteCodeImportError(
            f"The code shipped with {source} ({', '.join(p.name for p in files.values())}) requires packages that "
            f"are not installed: {', '.join(missing)}. Run `pip install {' '.join(missing)}`."
        )
    package = package_name(source, files, fetch.commit())
    module = import_from_cache(package, files, reference.module)
    klass = getattr(module, reference.class_name, None)
    if not isinstance(klass, type):
        raise RemoteCodeError(f"{files[reference.module]} defines no class {reference.class_name!r} ({config_key})")
    return klass


class _Fetcher(NamedTuple):
    get: Callable[[str], Path]
    commit: Callable[[], str | None]


def _local_fetcher(directory: Path) -> _Fetcher:
    root = directory.resolve()

    def get(filename: str) -> Path:
        path = directory / filename
        if not path.is_file():
            raise RemoteCodeError(f"{directory}: the shipped code needs {filename}, which is not in this directory")
        if root not in path.resolve().parents:
            raise RemoteCodeError(f"{path} resolves to {path.resolve()}, outside the checkpoint directory: refused")
        return path

    return _Fetcher(get, lambda: None)


def _hub_fetcher(repo_id: str, revision: str | None, hub: dict[str, Any]) -> _Fetcher:
    state: dict[str, str | None] = {"revision": revision, "commit": None}
    if not (revision and _COMMIT.fullmatch(revision)):
        logger.warning(
            "Running code from %s at revision %r, which can change: pin `revision=` to a commit hash so that new "
            "versions of the code cannot run without you reviewing them.", repo_id, revision or "main",
        )

    def get(filename: str) -> Path:
        path = resolve_file(repo_id, filename, revision=state["revision"], **hub)
        commit = snapshot_commit(path)
        if commit and state["commit"] is None:  # every later file comes from the same snapshot
            state["commit"] = state["revision"] = commit
        return path

    return _Fetcher(get, lambda: state["commit"])


def _collect_code_files(module: str, fetch: _Fetcher) -> dict[str, Path]:
    files: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        if name in files:
            continue
        path = fetch.get(f"{name}.py")
        files[name] = path
        same_folder, outside = relative_imports(parse_code_file(path))
        if outside:
            raise RemoteCodeError(
                f"{path}: {outside[0]} reaches outside the checkpoint's code; shipped code may import only files "
                "next to it relatively, and everything else absolutely"
            )
        todo.extend(same_folder)
    return files
