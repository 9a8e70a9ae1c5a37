"""TensorFlow (Keras 3) Auto classes: pick the model class from a config or checkpoint (saved by any backend).

The registry lives in `pretrained.auto`; each class here only names the backend and the task (transformers v4's
Auto family: TFAutoModel, ...ForCausalLM, ...ForMaskedLM, ...ForSequenceClassification,
...ForTokenClassification, ...ForQuestionAnswering, ...ForMultipleChoice, ...ForPreTraining,
...ForNextSentencePrediction, ...ForImageClassification). The library's models are imported on first use.

Example:
    >>> from pretrained.tf.auto import TFAutoModelForCausalLM
    >>> model = TFAutoModelForCausalLM.from_pretrained("path/to/gpt2")  # doctest: +SKIP
    >>> TFAutoModelForCausalLM.__name__
    'TFAutoModelForCausalLM'
"""

from __future__ import annotations

from ..auto import make_auto_class

TFAutoModel = make_auto_class("AutoModel", "tf", __name__)
TFAutoModelForPreTraining = make_auto_class("AutoModelForPreTraining", "tf", __name__)
TFAutoModelForCausalLM = make_auto_class("AutoModelForCausalLM", "tf", __name__)
TFAutoModelForMaskedLM = make_auto_class("AutoModelForMaskedLM", "tf", __name__)
TFAutoModelForSequenceClassification = make_auto_class("AutoModelForSequenceClassification", "tf", __name__)
TFAutoModelForTokenClassification = make_auto_class("AutoModelForTokenClassification", "tf", __name__)
TFAutoModelForQuestionAnswering = make_auto_class("AutoModelForQuestionAnswering", "tf", __name__)
TFAutoModelForMultipleChoice = make_auto_class("AutoModelForMultipleChoice", "tf", __name__)
TFAutoModelForNextSentencePrediction = make_auto_class("AutoModelForNextSentencePrediction", "tf", __name__)
TFAutoModelForImageClassification = make_auto_class("AutoModelForImageClassification", "tf", __name__)

__all__ = [
    "TFAutoModel",
    "TFAutoModelForCausalLM",
    "TFAutoModelForImageClassification",
    "TFAutoModelForMaskedLM",
    "TFAutoModelForMultipleChoice",
    "TFAutoModelForNextSentencePrediction",
    "TFAutoModelForPreTraining",
    "TFAutoModelForQuestionAnswering",
    "TFAutoModelForSequenceClassification",
    "TFAutoModelForTokenClassification",
]
