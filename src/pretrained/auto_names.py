"""What the Auto classes know before anything is imported: the library's model types and classes by dotted path, the
Auto class names, the backends' class-name prefixes.

A leaf module (it imports nothing from `pretrained`), so that `pretrained.dynamic` and `pretrained.configuration` can
check Auto class names without importing `pretrained.auto`, which imports them.

Example:
    >>> from pretrained.auto_names import auto_class_names
    >>> "TFAutoModelForMaskedLM" in auto_class_names()
    True
"""

from __future__ import annotations

BACKEND_PREFIXES = {"torch": "", "tf": "TF", "flax": "Flax"}

# model_type -> (module, config class name)
CONFIG_MAPPING_NAMES: dict[str, tuple[str, str]] = {
    "bert": ("pretrained.models.bert", "BertConfig"),
    "gpt2": ("pretrained.models.gpt2", "GPT2Config"),
    "resnet": ("pretrained.models.resnet", "ResnetConfig"),
}

_BERT, _GPT2, _RESNET = "pretrained.models.bert", "pretrained.models.gpt2", "pretrained.models.resnet"

# Auto class name (PyTorch spelling) -> model_type -> (module, PyTorch class names); TF/Flax add their prefix.
# Every task of transformers v4's Auto family exists in every backend (a task may have no library model yet:
# register your own, or ship it with `register_for_auto_class`).
MODEL_MAPPING_NAMES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "AutoModel": {
        "bert": (_BERT, ("BertModel",)),
        "gpt2": (_GPT2, ("GPT2Model",)),
        "resnet": (_RESNET, ("ResnetModel",)),
    },
    "AutoModelForPreTraining": {
        "bert": (_BERT, ("BertForPreTraining",)),
        "gpt2": (_GPT2, ("GPT2LMHeadModel",)),
    },
    "AutoModelForCausalLM": {
        "bert": (_BERT, ("BertLMHeadModel",)),
        "gpt2": (_GPT2, ("GPT2LMHeadModel",)),
    },
    "AutoModelForMaskedLM": {"bert": (_BERT, ("BertForMaskedLM",))},
    "AutoModelForSequenceClassification": {
        "bert": (_BERT, ("BertForSequenceClassification",)),
        "gpt2": (_GPT2, ("GPT2ForSequenceClassification",)),
    },
    "AutoModelForTokenClassification": {"bert": (_BERT, ("BertForTokenClassification",))},
    "AutoModelForQuestionAnswering": {"bert": (_BERT, ("BertForQuestionAnswering",))},
    "AutoModelForMultipleChoice": {"bert": (_BERT, ("BertForMultipleChoice",))},
    "AutoModelForNextSentencePrediction": {"bert": (_BERT, ("BertForNextSentencePrediction",))},
    "AutoModelForImageClassification": {"resnet": (_RESNET, ("ResnetModelForImageClassification",))},
}

# what each Auto class builds (its docstring)
TASK_DESCRIPTIONS: dict[str, str] = {
    "AutoModel": "The base model (no head)",
    "AutoModelForPreTraining": "The model with its pretraining head(s)",
    "AutoModelForCausalLM": "The causal (next-token) language model",
    "AutoModelForMaskedLM": "The masked language model",
    "AutoModelForSequenceClassification": "The sequence-classification model",
    "AutoModelForTokenClassification": "The token-classification model",
    "AutoModelForQuestionAnswering": "The extractive question-answering model",
    "AutoModelForMultipleChoice": "The multiple-choice model",
    "AutoModelForNextSentencePrediction": "The next-sentence-prediction model",
    "AutoModelForImageClassification": "The image-classification model",
}


def backend_auto_names(backend: str) -> tuple[str, ...]:
    """The Auto model class names of one backend (`"torch"`, `"tf"`, `"flax"`), in task order.

    Example:
        >>> backend_auto_names("flax")[:2]
        ('FlaxAutoModel', 'FlaxAutoModelForPreTraining')
    """
    return tuple(BACKEND_PREFIXES[backend] + task for task in MODEL_MAPPING_NAMES)


def auto_class_names() -> list[str]:
    """Every Auto class name `register_for_auto_class` accepts: `AutoConfig` and each task in each backend."""
    names = ["AutoConfig"]
    for prefix in BACKEND_PREFIXES.values():
        names.extend(prefix + task for task in MODEL_MAPPING_NAMES)
    return names


class AutoModelClassMarker:
    """Base of every Auto model class (`pretrained.auto._BaseAutoModelClass`): `issubclass(cls, AutoModelClassMarker)`
    recognises one without importing `pretrained.auto`."""
