"""TensorFlow (Keras 3) Auto classes: pick the model class from a config or checkpoint (saved by any backend).

The registry lives in `pretrained.auto`; these classes only name the backend and the task. The library's models are
imported on first use.

Example:
    >>> from pretrained.tf.auto import TFAutoModelForMaskedLM
    >>> model = TFAutoModelForMaskedLM.from_pretrained("path/to/bert")  # doctest: +SKIP
"""

from __future__ import annotations

from ..auto import _BaseAutoModelClass

__all__ = [
    "TFAutoModel",
    "TFAutoModelForImageClassification",
    "TFAutoModelForMaskedLM",
    "TFAutoModelForSequenceClassification",
]


class TFAutoModel(_BaseAutoModelClass):
    """The base model (no head) for a config: `TFResnetModel`, `TFBertModel`, or a registered class."""

    _backend = "tf"
    _task = "AutoModel"


class TFAutoModelForImageClassification(_BaseAutoModelClass):
    """The image-classification model for a config: `TFResnetModelForImageClassification`, or a registered class."""

    _backend = "tf"
    _task = "AutoModelForImageClassification"


class TFAutoModelForMaskedLM(_BaseAutoModelClass):
    """The masked-language-model for a config: `TFBertForMaskedLM`, or a registered class."""

    _backend = "tf"
    _task = "AutoModelForMaskedLM"


class TFAutoModelForSequenceClassification(_BaseAutoModelClass):
    """The sequence-classification model for a config: `TFBertForSequenceClassification`, or a registered class."""

    _backend = "tf"
    _task = "AutoModelForSequenceClassification"
