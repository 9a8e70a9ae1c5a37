"""PyTorch Auto classes: pick the model class from a config or checkpoint (saved by any backend).

The registry lives in `pretrained.auto`; these classes only name the backend and the task. The library's models are
imported on first use.

Example:
    >>> from pretrained.torch.auto import AutoModelForMaskedLM
    >>> model = AutoModelForMaskedLM.from_pretrained("path/to/bert")  # doctest: +SKIP
"""

from __future__ import annotations

from ..auto import _BaseAutoModelClass

__all__ = [
    "AutoModel",
    "AutoModelForImageClassification",
    "AutoModelForMaskedLM",
    "AutoModelForSequenceClassification",
]


class AutoModel(_BaseAutoModelClass):
    """The base model (no head) for a config: `ResnetModel`, `BertModel`, or a registered class."""

    _backend = "torch"
    _task = "AutoModel"


class AutoModelForImageClassification(_BaseAutoModelClass):
    """The image-classification model for a config: `ResnetModelForImageClassification`, or a registered class."""

    _backend = "torch"
    _task = "AutoModelForImageClassification"


class AutoModelForMaskedLM(_BaseAutoModelClass):
    """The masked-language-model for a config: `BertForMaskedLM`, or a registered class."""

    _backend = "torch"
    _task = "AutoModelForMaskedLM"


class AutoModelForSequenceClassification(_BaseAutoModelClass):
    """The sequence-classification model for a config: `BertForSequenceClassification`, or a registered class."""

    _backend = "torch"
    _task = "AutoModelForSequenceClassification"
