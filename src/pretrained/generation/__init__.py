"""Text generation, framework-free: `GenerationConfig`, the logits processors and stopping criteria (written once
for PyTorch, TensorFlow and JAX), the decoding algorithms, streamers and output classes.

The backends' mixins (`pretrained.GenerationMixin`, `pretrained.TFGenerationMixin`, `pretrained.FlaxGenerationMixin`)
give models `generate()` on top of this package. Importing it imports no framework.

Example:
    >>> from pretrained.generation import GenerationConfig, TopKLogitsWarper
    >>> GenerationConfig(do_sample=True, top_k=5).get_generation_mode().value
    'sample'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..utils.lazy import lazy_names

_LAZY = {
    "GENERATION_CONFIG_NAME": ".configuration_utils",
    "GenerationConfig": ".configuration_utils",
    "GenerationMode": ".configuration_utils",
    "BaseStreamer": ".streamers",
    "TokenStreamer": ".streamers",
    "GenerateDecoderOnlyOutput": ".outputs",
    "GenerateBeamDecoderOnlyOutput": ".outputs",
    "GreedySearchDecoderOnlyOutput": ".outputs",
    "SampleDecoderOnlyOutput": ".outputs",
    "BeamSearchDecoderOnlyOutput": ".outputs",
    "BeamSampleDecoderOnlyOutput": ".outputs",
    "StoppingCriteria": ".stopping_criteria",
    "StoppingCriteriaList": ".stopping_criteria",
    "MaxLengthCriteria": ".stopping_criteria",
    "MaxTimeCriteria": ".stopping_criteria",
    "EosTokenCriteria": ".stopping_criteria",
    **{name: ".logits_process" for name in (
        "LogitsProcessor", "LogitsProcessorList", "LogitsWarper", "TemperatureLogitsWarper", "TopKLogitsWarper",
        "TopPLogitsWarper", "MinPLogitsWarper", "RepetitionPenaltyLogitsProcessor", "NoRepeatNGramLogitsProcessor",
        "NoBadWordsLogitsProcessor", "MinLengthLogitsProcessor", "MinNewTokensLengthLogitsProcessor",
        "ForcedBOSTokenLogitsProcessor", "ForcedEOSTokenLogitsProcessor", "SuppressTokensLogitsProcessor",
        "SuppressTokensAtBeginLogitsProcessor", "InfNanRemoveLogitsProcessor", "LogitNormalization")},
}
__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_names(__name__, _LAZY)

if TYPE_CHECKING:
    from .configuration_utils import GENERATION_CONFIG_NAME, GenerationConfig, GenerationMode
    from .logits_process import (
        ForcedBOSTokenLogitsProcessor,
        ForcedEOSTokenLogitsProcessor,
        InfNanRemoveLogitsProcessor,
        LogitNormalization,
        LogitsProcessor,
        LogitsProcessorList,
        LogitsWarper,
        MinLengthLogitsProcessor,
        MinNewTokensLengthLogitsProcessor,
        MinPLogitsWarper,
        NoBadWordsLogitsProcessor,
        NoRepeatNGramLogitsProcessor,
        RepetitionPenaltyLogitsProcessor,
        SuppressTokensAtBeginLogitsProcessor,
        SuppressTokensLogitsProcessor,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )
    from .outputs import (
        BeamSampleDecoderOnlyOutput,
        BeamSearchDecoderOnlyOutput,
        GenerateBeamDecoderOnlyOutput,
        GenerateDecoderOnlyOutput,
        GreedySearchDecoderOnlyOutput,
        SampleDecoderOnlyOutput,
    )
    from .stopping_criteria import (
        EosTokenCriteria,
        MaxLengthCriteria,
        MaxTimeCriteria,
        StoppingCriteria,
        StoppingCriteriaList,
    )
    from .streamers import BaseStreamer, TokenStreamer
