"""Code shipped with a checkpoint: `register_for_auto_class`, saving code files + `auto_map`, `trust_remote_code`.

Saving: a class registered for an Auto class (`MyConfig.register_for_auto_class()`,
`MyModel.register_for_auto_class("AutoModelForImageClassification")`) has its defining `.py` file, and the
same-folder files that file imports relatively (recursively), copied next to the weights, and `config.json` gets
`auto_map = {"AutoConfig": "configuration_my.MyConfig", ...}`.

Loading: `get_class_from_dynamic_module` resolves the code files from the checkpoint (for a Hub repo: from the
snapshot of the resolved commit), checks their imports, copies them into a private module cache
(`$PRETRAINED_MODULES_CACHE`, default `$HF_HOME/pretrained_modules`) keyed by repo and commit (local directory: by
content hash) and imports them there. Nothing is imported unless `trust_remote_code=True`; refusing never prompts.

Example:
    >>> from pretrained.dynamic import parse_class_reference
    >>> parse_class_reference("me/repo--modeling_my.MyModel")
    ClassReference(repo='me/repo', module='modeling_my', class_name='MyModel')
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import importlib
import importlib.util
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .errors import RemoteCodeError
from .utils import logging

logger = logging.get_logger(__name__)

PACKAGE = "pretrained_modules"  # top-level package of the module cache
_SEGMENT = re.compile(r"[A-Za-z0-9_]+")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_IMPORT_LOCK = threading.RLock()
_SHIPPED: dict[type, list[type]] = {}  # config class -> model classes registered for an Auto class


class RemoteCodeImportError(RemoteCodeError, ImportError):
    """Shipped code imports packages that are not installed (also an `ImportError`, as in transformers v4)."""


class ClassReference(NamedTuple):
    """One `auto_map` value: `module.ClassName`, or `org/repo--module.ClassName` for code in another repo."""

    repo: str | None
    module: str
    class_name: str

    @property
    def module_file(self) -> str:
        return f"{self.module}.py"


# ============================================================================================== registering
def check_auto_class(auto_class: str | type) -> str:
    """The name of `auto_class` (a name or an Auto class), checked against the Auto classes that exist.

    Example:
        >>> check_auto_class("AutoModelForImageClassification")
        'AutoModelForImageClassification'
    """
    from .auto import _BaseAutoModelClass, auto_class_names

    if isinstance(auto_class, type):
        if issubclass(auto_class, _BaseAutoModelClass) or auto_class.__name__ == "AutoConfig":
            return auto_class.__name__
        raise ValueError(f"{auto_class.__name__} is not an Auto class.")
    if auto_class not in auto_class_names():
        raise ValueError(f"{auto_class!r} is not a valid auto class: use one of {', '.join(auto_class_names())}.")
    return auto_class


def register_for_auto_class(cls: type, auto_class: str | type) -> None:
    """What every `register_for_auto_class` classmethod does: validate the name, mark `cls` so `save_pretrained`
    ships its code, and remember it so saving any model of the same config ships it too (all backends at once).

    Example:
        >>> from pretrained import PretrainedConfig
        >>> class MyConfig(PretrainedConfig):
        ...     model_type = "my-doc-config"
        >>> register_for_auto_class(MyConfig, "AutoConfig")
        >>> MyConfig._auto_class
        'AutoConfig'
    """
    cls._auto_class = check_auto_class(auto_class)
    config_class = getattr(cls, "config_class", None)
    if isinstance(config_class, type):
        shipped = _SHIPPED.setdefault(config_class, [])
        if cls not in shipped:
            shipped.append(cls)


# ============================================================================================== saving
def custom_object_save(obj: Any, save_directory: str | os.PathLike, config: Any = None) -> list[Path]:
    """Copy the code of `obj`'s class (and of the config class, and of sibling-backend classes registered for the
    same config) into `save_directory`, and record it in `config.auto_map`. Returns the files written.

    Classes defined in `__main__` cannot be shipped: a warning is logged and nothing is copied.

    Example:
        >>> from my_model.configuration_my import MyConfig  # doctest: +SKIP
        >>> MyConfig.register_for_auto_class()  # doctest: +SKIP
        >>> custom_object_save(MyConfig(), "out", config=MyConfig())  # doctest: +SKIP
        [PosixPath('out/configuration_my.py')]
    """
    save_directory = Path(save_directory)
    entries: dict[str, str] = {}
    written: list[Path] = []
    for auto_class, klass in _classes_to_ship(obj, config):
        source = _defining_file(klass)
        if source is None:
            continue
        for path in _with_relative_imports(source):
            written.append(_copy_code_file(path, save_directory))
        entries[auto_class] = f"{source.stem}.{klass.__name__}"
    if config is not None and entries:
        current = config.auto_map if isinstance(config.auto_map, dict) else {}
        config.auto_map = {**current, **entries}
    return written


def _classes_to_ship(obj: Any, config: Any) -> list[tuple[str, type]]:
    obj_class = obj if isinstance(obj, type) else type(obj)
    candidates = [obj_class]
    if config is not None:
        candidates.append(type(config))
        candidates.extend(_SHIPPED.get(type(config), []))
    found: list[tuple[str, type]] = []
    for klass in dict.fromkeys(candidates):
        auto_class = getattr(klass, "_auto_class", None)
        if auto_class is not None:
            found.append((check_auto_class(auto_class), klass))
    return found


def _defining_file(klass: type) -> Path | None:
    module = sys.modules.get(klass.__module__)
    filename = getattr(module, "__file__", None)
    if klass.__module__ == "__main__" or filename is None:
        logger.warning(
            "%s is defined in %s: its code cannot be saved with the checkpoint. Move it into a module file (e.g. "
            "modeling_my.py) and import it from there.", klass.__name__, klass.__module__,
        )
        return None
    path = Path(filename)
    if path.suffix != ".py" or path.stem == "__init__":
        logger.warning("%s is defined in %s: only classes defined in a module .py file can be saved.", klass, path)
        return None
    return path


def _with_relative_imports(source: Path) -> list[Path]:
    """`source` and the same-folder files it imports relatively, recursively."""
    found: dict[Path, None] = {}
    todo = [source]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found[path] = None
        same_folder, outside = relative_imports(_parse(path))
        for text in outside:
            logger.warning(
                "%s: `%s` reaches outside its folder and cannot be shipped with the checkpoint; import library code "
                "absolutely (e.g. `from pretrained.torch import PreTrainedModel`).", path, text,
            )
        for name in same_folder:
            candidate = path.parent / f"{name}.py"
            if candidate.is_file():
                todo.append(candidate)
            elif (path.parent / name).is_dir():
                logger.warning("%s: subpackage %r cannot be shipped with the checkpoint; use module files", path, name)
    return list(found)


def _copy_code_file(path: Path, save_directory: Path) -> Path:
    destination = save_directory / path.name
    if destination.exists() and os.path.samefile(path, destination):
        return destination
    temp = save_directory / f".tmp-{uuid.uuid4().hex[:12]}-{path.name}"
    shutil.copyfile(path, temp)
    os.replace(temp, destination)
    return destination


# ============================================================================================== parsing code
def _parse(path: Path) -> ast.Module:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        raise RemoteCodeError(f"{path}: cannot parse this code file ({exc})") from exc


def relative_imports(tree: ast.Module) -> tuple[list[str], list[str]]:
    """`(same-folder module names, imports that leave the folder)` of a parsed file.

    Example:
        >>> relative_imports(ast.parse("from .configuration_my import MyConfig\\nfrom . import utils\\nfrom ..x import y"))
        (['configuration_my', 'utils'], ['from ..x import y'])
    """
    same_folder: list[str] = []
    outside: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        names = [node.module] if node.module else [alias.name for alias in node.names]
        if node.level > 1 or any("." in name for name in names):
            outside.append(f"from {'.' * node.level}{node.module or ''} import {', '.join(a.name for a in node.names)}")
            continue
        same_folder.extend(name for name in names if name not in same_folder)
    return same_folder, outside


class _ImportCollector(ast.NodeVisitor):
    """Top-level package names a file imports, skipping optional imports (`try/except ImportError`, TYPE_CHECKING)."""

    def __init__(self) -> None:
        self.packages: set[str] = set()

    def visit_Import(self, node: ast.Import) -> None:
        self.packages.update(alias.name.split(".")[0] for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.packages.add(node.module.split(".")[0])

    def visit_Try(self, node: ast.Try) -> None:
        if not any(_catches_import_error(handler) for handler in node.handlers):
            self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else None
        if name == "TYPE_CHECKING":
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in types}
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def missing_packages(paths: list[Path]) -> list[str]:
    """Top-level packages the code files import that are not installed (optional imports ignored).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp(), "modeling_x.py")
        >>> _ = path.write_text("import os\\nimport not_a_real_pkg_xyz\\ntry:\\n    import other_missing\\nexcept ImportError:\\n    pass\\n")
        >>> missing_packages([path])
        ['not_a_real_pkg_xyz']
    """
    packages: set[str] = set()
    for path in paths:
        collector = _ImportCollector()
        collector.visit(_parse(path))
        packages |= collector.packages
    return sorted(name for name in packages if not _is_installed(name))


def _is_installed(name: str) -> bool:
    if name in sys.builtin_module_names or name in getattr(sys, "stdlib_module_names", ()) or name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# ============================================================================================== references + trust
def parse_class_reference(value: Any, *, key: str = "auto_map") -> ClassReference:
    """Validate one `auto_map` value. Refuses anything but `module.ClassName` / `org/repo--module.ClassName` with
    `[A-Za-z0-9_]+` segments (so no `..`, no absolute or nested paths), naming the config key and value.

    Example:
        >>> parse_class_reference("../../etc/passwd.Model")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        pretrained.errors.RemoteCodeError: config.json auto_map['auto_map'] = '../../etc/passwd.Model' ...
    """
    def refuse(why: str) -> RemoteCodeError:
        return RemoteCodeError(
            f"config.json auto_map[{key!r}] = {value!r} is refused: {why}. Expected 'module_file.ClassName' (a .py "
            "file at the top of the checkpoint) or 'org/repo--module_file.ClassName'."
        )

    if not isinstance(value, str):
        raise refuse(f"it must be a string, not {type(value).__name__}")
    repo, sep, reference = value.rpartition("--")
    if sep and (not _REPO_ID.fullmatch(repo) or ".." in repo):
        raise refuse(f"{repo!r} is not a Hub repo id")
    parts = reference.split(".")
    if len(parts) != 2 or not all(_SEGMENT.fullmatch(part) for part in parts):
        raise refuse("the module path must be one [A-Za-z0-9_]+ file name and a class name")
    if not all(part.isidentifier() for part in parts):
        raise refuse("module and class names must be Python identifiers")
    return ClassReference(repo or None, parts[0], parts[1])


def _shipped_files(auto_map: dict[str, Any]) -> list[str]:
    files = set()
    for key, value in auto_map.items():
        with contextlib.suppress(RemoteCodeError):
            ref = parse_class_reference(value, key=key)
            files.add(f"{ref.repo}/{ref.module_file}" if ref.repo else ref.module_file)
    return sorted(files)


def resolve_trust_remote_code(
    trust_remote_code: bool | None,
    name_or_path: Any,
    *,
    has_local_code: bool,
    auto_map: Any,
    auto_class: str,
) -> bool:
    """True when the code `auto_map[auto_class]` names must be used; raises when it would be needed but not trusted.

    Rules (transformers v4, without its interactive prompt): trusted + shipped code -> shipped code (even when a
    local class is registered); not trusted + a local class -> the local class; not trusted and only shipped code
    -> `RemoteCodeError` naming the files that would run and how to opt in.

    Example:
        >>> resolve_trust_remote_code(None, "me/repo", has_local_code=True, auto_map={"AutoConfig": "a.B"},
        ...                           auto_class="AutoConfig")
        False
    """
    if auto_map is not None and not isinstance(auto_map, dict):
        raise RemoteCodeError(f"{name_or_path}: config.json auto_map must be an object, got {type(auto_map).__name__}")
    if not auto_map or auto_class not in auto_map:
        return False
    reference = parse_class_reference(auto_map[auto_class], key=auto_class)
    if trust_remote_code:
        return True
    if has_local_code:
        return False
    files = ", ".join(_shipped_files(auto_map))
    raise RemoteCodeError(
        f"{name_or_path} ships its own code to load {auto_class} ({reference.module}.{reference.class_name}): "
        f"loading it would run {files} from that checkpoint on your machine. Read that code, then pass "
        "`trust_remote_code=True` to allow it (and pin `revision=` to a commit hash so the code you read is the code "
        "that runs). Nothing from the checkpoint has been imported."
    )


def add_repo_to_auto_map(auto_map: dict[str, Any], repo_id: str) -> dict[str, Any]:
    """Rewrite `module.Class` entries of a config loaded from Hub repo `repo_id` as `repo_id--module.Class`, so the
    config still points at that code when it is saved elsewhere without it.

    Example:
        >>> add_repo_to_auto_map({"AutoConfig": "configuration_my.MyConfig"}, "me/repo")
        {'AutoConfig': 'me/repo--configuration_my.MyConfig'}
    """
    return {k: f"{repo_id}--{v}" if isinstance(v, str) and "--" not in v else v for k, v in auto_map.items()}


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


# ============================================================================================== loading code
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
) -> type:
    """Import and return the class `class_reference` (`module.Class` or `org/repo--module.Class`) names.

    The code files (the module and, recursively, the same-folder files it imports relatively) come from
    `name_or_path` at `revision` (a Hub snapshot, or a local directory) through `pretrained.hub.resolve_file`; their
    imports are checked; they are copied into the module cache as a package keyed by repo and commit (local
    directory: content hash) and imported from there under a lock. Only call this once the code is trusted.

    Example:
        >>> cls = get_class_from_dynamic_module("modeling_my.MyModel", "me/repo", revision="0" * 40)  # doctest: +SKIP
    """
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
    package = _package_name(source, files, fetch)
    module = _import_from_cache(package, files, reference.module)
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
    from .configuration import _commit_of
    from .hub import resolve_file

    state: dict[str, str | None] = {"revision": revision, "commit": None}
    if not (revision and _COMMIT.fullmatch(revision)):
        logger.warning(
            "Running code from %s at revision %r, which can change: pin `revision=` to a commit hash so that new "
            "versions of the code cannot run without you reviewing them.", repo_id, revision or "main",
        )

    def get(filename: str) -> Path:
        path = resolve_file(repo_id, filename, revision=state["revision"], **hub)
        commit = _commit_of(path)
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
        same_folder, outside = relative_imports(_parse(path))
        if outside:
            raise RemoteCodeError(
                f"{path}: {outside[0]} reaches outside the checkpoint's code; shipped code may import only files "
                "next to it relatively, and everything else absolutely"
            )
        todo.extend(same_folder)
    return files


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)[:80]


def _package_name(source: Any, files: dict[str, Path], fetch: _Fetcher) -> str:
    """`<repo>_<hash of repo id>__<commit>` for the Hub; `local_<dir>__<hash of the directory's .py files>`."""
    if os.path.isdir(source):
        directory = Path(files[next(iter(files))]).parent
        digest = hashlib.sha256()
        for path in sorted(directory.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return f"local_{_safe(directory.resolve().name)}__{digest.hexdigest()[:24]}"
    repo = str(source)
    repo_hash = hashlib.sha256(repo.encode()).hexdigest()[:8]
    commit = fetch.commit()
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


def _import_from_cache(package: str, files: dict[str, Path], module: str) -> Any:
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
