"""PyTorch Auto classes: pick the model class from a config or checkpoint (saved by any backend).

The registry lives in `pretrained.auto`; each class here only names the backend and the task (transformers v4's
Auto family: AutoModel, ...ForCausalLM, ...ForMaskedLM, ...ForSequenceClassification,
...ForTokenClassification, ...ForQuestionAnswering, ...ForMultipleChoice, ...ForPreTraining,
...ForNextSentencePrediction, ...ForImageClassification). The library's models are imported on first use.

Example:
    >>> from pretrained.torch.auto import AutoModelForCausalLM
    >>> model = AutoModelForCausalLM.from_pretrained("path/to/gpt2")  # doctest: +SKIP
    >>> AutoModelForCausalLM.__name__
    'AutoModelForCausalLM'
"""

from __future__ import annotations

from ..auto import make_auto_class

AutoModel = make_auto_class("AutoModel", "torch", __name__)
AutoModelForPreTraining = make_auto_class("AutoModelForPreTraining", "torch", __name__)
AutoModelForCausalLM = make_auto_class("AutoModelForCausalLM", "torch", __name__)
AutoModelForMaskedLM = make_auto_class("AutoModelForMaskedLM", "torch", __name__)
AutoModelForSequenceClassification = make_auto_class("AutoModelForSequenceClassification", "torch", __name__)
AutoModelForTokenClassification = make_auto_class("AutoModelForTokenClassification", "torch", __name__)
AutoModelForQuestionAnswering = make_auto_class("AutoModelForQuestionAnswering", "torch", __name__)
AutoModelForMultipleChoice = make_auto_class("AutoModelForMultipleChoice", "torch", __name__)
AutoModelForNextSentencePrediction = make_auto_class("AutoModelForNextSentencePrediction", "torch", __name__)
AutoModelForImageClassification = make_auto_class("AutoModelForImageClassification", "torch", __name__)

__all__ = [
    "AutoModel",
    "AutoModelForCausalLM",
    "AutoModelForImageClassification",
    "AutoModelForMaskedLM",
    "AutoModelForMultipleChoice",
    "AutoModelForNextSentencePrediction",
    "AutoModelForPreTraining",
    "AutoModelForQuestionAnswering",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
]
