"""Flax (NNX) Auto classes: pick the model class from a config or checkpoint (saved by any backend).

The registry lives in `pretrained.auto`; each class here only names the backend and the task (transformers v4's
Auto family: FlaxAutoModel, ...ForCausalLM, ...ForMaskedLM, ...ForSequenceClassification,
...ForTokenClassification, ...ForQuestionAnswering, ...ForMultipleChoice, ...ForPreTraining,
...ForNextSentencePrediction, ...ForImageClassification). The library's models are imported on first use.

Example:
    >>> from pretrained.flax.auto import FlaxAutoModelForCausalLM
    >>> model = FlaxAutoModelForCausalLM.from_pretrained("path/to/gpt2")  # doctest: +SKIP
    >>> FlaxAutoModelForCausalLM.__name__
    'FlaxAutoModelForCausalLM'
"""

from __future__ import annotations

from ..auto import make_auto_class

FlaxAutoModel = make_auto_class("AutoModel", "flax", __name__)
FlaxAutoModelForPreTraining = make_auto_class("AutoModelForPreTraining", "flax", __name__)
FlaxAutoModelForCausalLM = make_auto_class("AutoModelForCausalLM", "flax", __name__)
FlaxAutoModelForMaskedLM = make_auto_class("AutoModelForMaskedLM", "flax", __name__)
FlaxAutoModelForSequenceClassification = make_auto_class("AutoModelForSequenceClassification", "flax", __name__)
FlaxAutoModelForTokenClassification = make_auto_class("AutoModelForTokenClassification", "flax", __name__)
FlaxAutoModelForQuestionAnswering = make_auto_class("AutoModelForQuestionAnswering", "flax", __name__)
FlaxAutoModelForMultipleChoice = make_auto_class("AutoModelForMultipleChoice", "flax", __name__)
FlaxAutoModelForNextSentencePrediction = make_auto_class("AutoModelForNextSentencePrediction", "flax", __name__)
FlaxAutoModelForImageClassification = make_auto_class("AutoModelForImageClassification", "flax", __name__)

__all__ = [
    "FlaxAutoModel",
    "FlaxAutoModelForCausalLM",
    "FlaxAutoModelForImageClassification",
    "FlaxAutoModelForMaskedLM",
    "FlaxAutoModelForMultipleChoice",
    "FlaxAutoModelForNextSentencePrediction",
    "FlaxAutoModelForPreTraining",
    "FlaxAutoModelForQuestionAnswering",
    "FlaxAutoModelForSequenceClassification",
    "FlaxAutoModelForTokenClassification",
]
