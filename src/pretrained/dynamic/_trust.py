"""`auto_map` references and the trust decision: which shipped code a config names, and whether it may run."""

from __future__ import annotations

import contextlib
import re
from typing import Any, NamedTuple

from ..errors import RemoteCodeError

_SEGMENT = re.compile(r"[A-Za-z0-9_]+")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?")


class ClassReference(NamedTuple):
    """One `auto_map` value: `module.ClassName`, or `org/repo--module.ClassName` for code in another repo."""

    repo: str | None
    module: str
    class_name: str

    @property
    def module_file(self) -> str:
        return f"{self.module}.py"


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
