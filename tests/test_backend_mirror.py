"""`torch/`, `tf/` and `flax/` mirror each other: the same public module names, the same shared helpers in them, and
base classes whose methods (public ones, and the pipeline hooks) come in the same order. Someone who knows one
backend knows all three."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pretrained.modeling_base import PreTrainedBase

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pretrained"
BACKENDS = ("torch", "tf", "flax")
BASE_CLASSES = {"torch": "PreTrainedModel", "tf": "TFPreTrainedModel", "flax": "FlaxPreTrainedModel"}
# functions every backend's module of that name defines (backend extras are fine)
SHARED_FUNCTIONS = {
    "embeddings": {"resize_embedding", "resize_output_embedding"},
    "pruning": {"find_pruneable_heads_and_indices", "prune_linear_layer"},
    "variables": {"canonical_variables"},
}
# each backend's exports that every backend has
SHARED_EXPORTS = {"canonical_variables", "find_pruneable_heads_and_indices", "prune_linear_layer", "resize_embedding",
                  "resize_output_embedding"}


def public_modules(backend: str) -> set[str]:
    return {path.stem for path in (PACKAGE / backend).glob("*.py") if not path.stem.startswith("_")}


def top_level_names(backend: str, module: str) -> set[str]:
    tree = ast.parse((PACKAGE / backend / f"{module}.py").read_text(encoding="utf-8"))
    names = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    names |= {target.id for node in tree.body if isinstance(node, ast.Assign) for target in node.targets
              if isinstance(target, ast.Name)}
    names |= {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
              for alias in node.names}  # re-exported from the core
    return names


def method_order(backend: str) -> list[str]:
    """The methods (and properties) the backend's base class defines itself, in source order."""
    tree = ast.parse((PACKAGE / backend / "modeling.py").read_text(encoding="utf-8"))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == BASE_CLASSES[backend])
    return [n.name for n in cls.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_same_public_modules() -> None:
    modules = {backend: public_modules(backend) for backend in BACKENDS}
    for backend in BACKENDS[1:]:
        assert modules[backend] == modules["torch"], f"{backend}/ and torch/ differ: {modules}"


@pytest.mark.parametrize("module", sorted(SHARED_FUNCTIONS))
def test_shared_helpers_have_one_name(module: str) -> None:
    for backend in BACKENDS:
        missing = SHARED_FUNCTIONS[module] - top_level_names(backend, module)
        assert not missing, f"{backend}/{module}.py lacks {sorted(missing)}"


def test_same_exports() -> None:
    for backend in BACKENDS:
        tree = ast.parse((PACKAGE / backend / "__init__.py").read_text(encoding="utf-8"))
        exported = next(node.value for node in tree.body if isinstance(node, ast.Assign)
                        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets))
        names = {element.value for element in exported.elts if isinstance(element, ast.Constant)}
        assert SHARED_EXPORTS <= names, f"pretrained.{backend} does not export {sorted(SHARED_EXPORTS - names)}"


def test_public_methods_in_the_same_order() -> None:
    orders = {backend: [n for n in method_order(backend) if not n.startswith("_") or n == "__init__"]
              for backend in BACKENDS}
    for index, first in enumerate(BACKENDS):
        for second in BACKENDS[index + 1:]:
            common = [name for name in orders[first] if name in orders[second]]
            assert common == [name for name in orders[second] if name in orders[first]], (
                f"{first} and {second} define their shared public methods in different orders: {orders}")


def test_hooks_in_the_pipeline_order() -> None:
    """Each backend implements the pipeline hooks in the order `PreTrainedBase` declares (and documents) them."""
    hooks = [name for name in vars(PreTrainedBase) if name.startswith("_") and not name.startswith("__")
             and callable(getattr(PreTrainedBase, name)) and name != "_save_for_push"]
    for backend in BACKENDS:
        implemented = [name for name in method_order(backend) if name in hooks]
        assert implemented == [name for name in hooks if name in implemented], (backend, implemented)
        assert {"_build_uninitialised", "_canonical_variables", "_initialise_missing", "_write_tensor",
                "_finish_load", "_read_canonical"} <= set(implemented), backend
