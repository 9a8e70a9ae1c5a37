"""Reading code files without running them: their relative imports and the packages they need."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

from ..errors import RemoteCodeError


def parse_code_file(path: Path) -> ast.Module:
    """The syntax tree of a code file, never run; a file that does not parse raises `RemoteCodeError` naming it."""
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
        collector.visit(parse_code_file(path))
        packages |= collector.packages
    return sorted(name for name in packages if not _is_installed(name))


def _is_installed(name: str) -> bool:
    if name in sys.builtin_module_names or name in getattr(sys, "stdlib_module_names", ()) or name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False
