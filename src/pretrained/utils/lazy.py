"""Lazy public names (PEP 562): a package resolves each name from its module on first touch, once."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

from .backends import extra_for


def lazy_names(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package` that import `names[name]` (a module relative to `package`) only
    when `name` is first read, then cache the value in the package's namespace.

    Example:
        >>> from pretrained.utils.lazy import lazy_names
        >>> __getattr__, __dir__ = lazy_names("pretrained", {"PretrainedConfig": ".configuration"})
        >>> __getattr__("PretrainedConfig").__name__
        'PretrainedConfig'
    """

    def __getattr__(name: str) -> Any:
        module_name = names.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            module = importlib.import_module(module_name, package)
        except ModuleNotFoundError as exc:  # a model module of a backend whose framework is not installed
            extra = extra_for(exc.name)
            if extra is None:
                raise
            from ..errors import MissingBackendError

            raise MissingBackendError(
                f"{package}.{name} needs {exc.name}, which is not installed: pip install 'pretrained[{extra}]'"
            ) from exc
        value = getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *names})

    return __getattr__, __dir__
