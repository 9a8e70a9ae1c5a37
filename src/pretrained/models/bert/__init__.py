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
    "BertForMultipleChoice": ".modeling_bert_heads",
    "BertLMHeadModel": ".modeling_bert_heads",
    "BertForNextSentencePrediction": ".modeling_bert_heads",
    "BertForPreTraining": ".modeling_bert_heads",
    "BertForQuestionAnswering": ".modeling_bert_heads",
    "BertForTokenClassification": ".modeling_bert_heads",
    "TFBertForMultipleChoice": ".modeling_tf_bert_heads",
    "TFBertLMHeadModel": ".modeling_tf_bert_heads",
    "TFBertForNextSentencePrediction": ".modeling_tf_bert_heads",
    "TFBertForPreTraining": ".modeling_tf_bert_heads",
    "TFBertForQuestionAnswering": ".modeling_tf_bert_heads",
    "TFBertForTokenClassification": ".modeling_tf_bert_heads",
    "FlaxBertForCausalLM": ".modeling_flax_bert_heads",
    "FlaxBertForMultipleChoice": ".modeling_flax_bert_heads",
    "FlaxBertLMHeadModel": ".modeling_flax_bert_heads",
    "FlaxBertForNextSentencePrediction": ".modeling_flax_bert_heads",
    "FlaxBertForPreTraining": ".modeling_flax_bert_heads",
    "FlaxBertForQuestionAnswering": ".modeling_flax_bert_heads",
    "FlaxBertForTokenClassification": ".modeling_flax_bert_heads",
}
__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:
    from .configuration_bert import BertConfig
    from .modeling_bert import BertForMaskedLM, BertForSequenceClassification, BertModel
    from .modeling_bert_heads import (
        BertForMultipleChoice,
        BertForNextSentencePrediction,
        BertForPreTraining,
        BertForQuestionAnswering,
        BertForTokenClassification,
        BertLMHeadModel,
    )
    from .modeling_flax_bert import FlaxBertForMaskedLM, FlaxBertForSequenceClassification, FlaxBertModel
    from .modeling_flax_bert_heads import (
        FlaxBertForCausalLM,
        FlaxBertForMultipleChoice,
        FlaxBertForNextSentencePrediction,
        FlaxBertForPreTraining,
        FlaxBertForQuestionAnswering,
        FlaxBertForTokenClassification,
        FlaxBertLMHeadModel,
    )
    from .modeling_tf_bert import TFBertForMaskedLM, TFBertForSequenceClassification, TFBertModel
    from .modeling_tf_bert_heads import (
        TFBertForMultipleChoice,
        TFBertForNextSentencePrediction,
        TFBertForPreTraining,
        TFBertForQuestionAnswering,
        TFBertForTokenClassification,
        TFBertLMHeadModel,
    )
