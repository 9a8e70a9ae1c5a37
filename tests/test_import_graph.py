"""The core has no import cycle, counting every import the code can run: module-level and function-level, relative
and absolute (`pretrained.`), `TYPE_CHECKING` ones too (they mirror the lazy public names of `pretrained/__init__`).

"Core" = every module of src/pretrained outside torch/, tf/, flax/ and models/ (cli/ and testing/ included). The
graph is read with `ast`, nothing is imported. Importing `a.b.c` also imports the packages `a.b` and `a` (their
`__init__`), so an edge to a module is also an edge to each enclosing package that the importer is not itself in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "src" / "pretrained"
NOT_CORE = ("torch", "tf", "flax", "models")
FRAMEWORKS = ("torch", "tensorflow", "jax", "flax", "keras")

Graph = dict[str, dict[str, int]]  # module -> {imported core module: line of the first import}


def modules_of(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is named by its `__init__.py`)."""
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (package_dir.name, *path.relative_to(package_dir).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def is_core(module: str) -> bool:
    parts = module.split(".")
    return len(parts) < 2 or parts[1] not in NOT_CORE


def _enclosing_packages(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _known_module(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool,
                      modules: dict[str, Path]) -> list[str]:
    """The modules the statement imports by name: `import a.b` -> a.b; `from a import b` -> a.b when that is a
    module, else a (b is read from it)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            package = (module if is_package else module.rpartition(".")[0]).split(".")
            base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    return [target for target in (_known_module(name, modules) for name in names) if target is not None]


def import_graph(package_dir: Path) -> Graph:
    """The core modules of `package_dir` and the core modules each one imports (anywhere in its code)."""
    modules = modules_of(package_dir)
    graph: Graph = {}
    for module, path in modules.items():
        if not is_core(module):
            continue
        edges: dict[str, int] = {}
        own_packages = set(_enclosing_packages(module))  # already imported when this module runs
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported_modules(node, module, path.name == "__init__.py", modules):
                implied = [p for p in _enclosing_packages(target) if p not in own_packages and p != module]
                for imported in (target, *implied):
                    if imported != module and is_core(imported):
                        edges[imported] = min(edges.get(imported, node.lineno), node.lineno)
        graph[module] = edges
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.get(module, {}):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def describe(graph: Graph, component: list[str]) -> str:
    """`a -> b (line N)` for every edge inside the component (N: the first line of a that imports b)."""
    members = set(component)
    return "\n".join(
        f"  {module} -> {imported} (line {line})"
        for module in component
        for imported, line in sorted(graph[module].items())
        if imported in members
    )


def test_core_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) > 30 and "pretrained.cli._main" in graph and "pretrained.testing.hub._server" in graph
    found = cycles(graph)
    assert not found, "import cycles in the core:\n" + "\n\n".join(describe(graph, c) for c in found)


def test_the_graph_sees_function_level_relative_and_package_imports(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "a.py": "def f():\n    from .b import g\n",  # function-level, relative
        "b.py": "import pretrained.sub.c\n",  # absolute
        "sub/__init__.py": "from . import c\n",
        "sub/c.py": "from pretrained.torch import x\nfrom ..a import f\n",  # backend imports are not core
        "sub/d.py": "",
        "e.py": "from pretrained.sub import d\n",  # importing sub.d runs sub/__init__ first
        "torch/__init__.py": "from ..a import f\n",
    }
    for name, code in files.items():
        (tmp_path / "pretrained" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pretrained" / name).write_text(code)
    graph = import_graph(tmp_path / "pretrained")
    assert graph["pretrained.a"] == {"pretrained.b": 2}
    assert set(graph["pretrained.b"]) == {"pretrained.sub", "pretrained.sub.c"}
    assert set(graph["pretrained.sub"]) == {"pretrained.sub.c"}
    assert set(graph["pretrained.sub.c"]) == {"pretrained.a"}
    assert set(graph["pretrained.e"]) == {"pretrained.sub", "pretrained.sub.d"}
    assert "pretrained.torch" not in graph
    assert cycles(graph) == [["pretrained.a", "pretrained.b", "pretrained.sub", "pretrained.sub.c"]]


def test_importing_every_core_module_imports_no_framework() -> None:
    """The framework-free core, all of it (the tester mixins are the exception: they test one backend each)."""
    names = [m for m in import_graph(PACKAGE_DIR) if not m.endswith(("_mixin", "_shared", "__main__"))]
    code = textwrap.dedent(
        f"""
        import importlib, sys
        for name in {names!r}:
            importlib.import_module(name)
        print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "[]"
