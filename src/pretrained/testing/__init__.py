"""Testing helpers for `pretrained`: the tester mixins users apply to their own models (`torch_mixin`, `tf_mixin`,
`flax_mixin`, `cross_mixin`), a loopback Hugging Face Hub (`hub/`, `LocalHub`) and its pytest fixture
(`pytest_plugin`).

Importing this package imports no framework (no torch / tensorflow / jax) and not even `huggingface_hub`: `LocalHub`
is resolved on first access.

Example:
    >>> from pretrained.testing import LocalHub
    >>> with LocalHub() as hub:
    ...     hub.endpoint.startswith("http://127.0.0.1:")
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .hub import LocalHub

__all__ = ["LocalHub"]


def __getattr__(name: str) -> Any:
    if name == "LocalHub":
        from .hub import LocalHub

        return LocalHub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
