"""Testing helpers for `pretrained`: a loopback Hugging Face Hub (`LocalHub`) and its pytest fixture.

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
    from .hub_server import LocalHub

__all__ = ["LocalHub"]


def __getattr__(name: str) -> Any:
    if name == "LocalHub":
        from .hub_server import LocalHub

        return LocalHub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
