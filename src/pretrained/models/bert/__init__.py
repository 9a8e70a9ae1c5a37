"""A BERT-layout encoder for PyTorch, TensorFlow and Flax, sharing `BertConfig` and one checkpoint.

Names resolve lazily: importing `BertModel` imports torch only, `TFBertModel` TensorFlow only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pretrained.utils.lazy import lazy_names

_LAZY = {
    "BertConfig": ".configuration_bert",
    "BertModel": ".modeling_bert",
    "BertForMaskedLM": ".modeling_bert",
    "BertForSequenceClassification": ".modeling_bert",
    "TFBertModel": ".modeling_tf_bert",
    "TFBertForMaskedLM": ".modeling_tf_bert",
    "TFBertForSequenceClassification": ".modeling_tf_bert",
    "FlaxBertModel": ".modeling_flax_bert",
    "FlaxBertForMaskedLM": ".modeling_flax_bert",
    "FlaxBertForSequenceClassification": ".modeling_flax_bert",
}
__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:
    from .configuration_bert import BertConfig
    from .modeling_bert import BertForMaskedLM, BertForSequenceClassification, BertModel
    from .modeling_flax_bert import FlaxBertForMaskedLM, FlaxBertForSequenceClassification, FlaxBertModel
    from .modeling_tf_bert import TFBertForMaskedLM, TFBertForSequenceClassification, TFBertModel
