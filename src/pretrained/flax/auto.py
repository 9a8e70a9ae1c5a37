"""Flax (NNX) Auto classes: pick the model class from a config or checkpoint (saved by any backend).

The registry lives in `pretrained.auto`; these classes only name the backend and the task. The library's models are
imported on first use.

Example:
    >>> from pretrained.flax.auto import FlaxAutoModelForMaskedLM
    >>> model = FlaxAutoModelForMaskedLM.from_pretrained("path/to/bert")  # doctest: +SKIP
"""

from __future__ import annotations

from ..auto import _BaseAutoModelClass

__all__ = [
    "FlaxAutoModel",
    "FlaxAutoModelForImageClassification",
    "FlaxAutoModelForMaskedLM",
    "FlaxAutoModelForSequenceClassification",
]


class FlaxAutoModel(_BaseAutoModelClass):
    """The base model (no head) for a config: `FlaxResnetModel`, `FlaxBertModel`, or a registered class."""

    _backend = "flax"
    _task = "AutoModel"


class FlaxAutoModelForImageClassification(_BaseAutoModelClass):
    """The image-classification model for a config: `FlaxResnetModelForImageClassification`, or a registered class."""

    _backend = "flax"
    _task = "AutoModelForImageClassification"


class FlaxAutoModelForMaskedLM(_BaseAutoModelClass):
    """The masked-language-model for a config: `FlaxBertForMaskedLM`, or a registered class."""

    _backend = "flax"
    _task = "AutoModelForMaskedLM"


class FlaxAutoModelForSequenceClassification(_BaseAutoModelClass):
    """The sequence-classification model for a config: `FlaxBertForSequenceClassification`, or a registered class."""

    _backend = "flax"
    _task = "AutoModelForSequenceClassification"
