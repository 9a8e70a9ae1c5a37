"""GPT-2 for PyTorch, TensorFlow and Flax, sharing `GPT2Config` and one checkpoint (transformers' GPT-2 keys and
its `Conv1D` layout: projection weights stored (in, out)).

Names resolve lazily: importing `GPT2LMHeadModel` imports torch only, `TFGPT2LMHeadModel` TensorFlow only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pretrained.utils.lazy import lazy_names

_LAZY = {
    "GPT2Config": ".configuration_gpt2",
    "GPT2Model": ".modeling_gpt2",
    "GPT2LMHeadModel": ".modeling_gpt2",
    "GPT2ForSequenceClassification": ".modeling_gpt2",
    "GPT2PreTrainedModel": ".modeling_gpt2",
    "TFGPT2Model": ".modeling_tf_gpt2",
    "TFGPT2LMHeadModel": ".modeling_tf_gpt2",
    "TFGPT2ForSequenceClassification": ".modeling_tf_gpt2",
    "TFGPT2PreTrainedModel": ".modeling_tf_gpt2",
    "FlaxGPT2Model": ".modeling_flax_gpt2",
    "FlaxGPT2LMHeadModel": ".modeling_flax_gpt2",
    "FlaxGPT2ForSequenceClassification": ".modeling_flax_gpt2",
    "FlaxGPT2PreTrainedModel": ".modeling_flax_gpt2",
}
__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_names(__name__, _LAZY)


if TYPE_CHECKING:
    from .configuration_gpt2 import GPT2Config
    from .modeling_flax_gpt2 import (
        FlaxGPT2ForSequenceClassification,
        FlaxGPT2LMHeadModel,
        FlaxGPT2Model,
        FlaxGPT2PreTrainedModel,
    )
    from .modeling_gpt2 import GPT2ForSequenceClassification, GPT2LMHeadModel, GPT2Model, GPT2PreTrainedModel
    from .modeling_tf_gpt2 import (
        TFGPT2ForSequenceClassification,
        TFGPT2LMHeadModel,
        TFGPT2Model,
        TFGPT2PreTrainedModel,
    )
