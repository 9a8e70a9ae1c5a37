"""What `generate(..., return_dict_in_generate=True)` returns: transformers v4's output classes and fields.

A field that was not requested is absent and reads as None (`output.scores` without `output_scores=True`).
`sequences` holds the prompt followed by the generated tokens; `scores` / `logits` hold one (rows, vocab) tensor
per generated token (processed / raw).

Example:
    >>> from pretrained.generation.outputs import GenerateBeamDecoderOnlyOutput
    >>> out = GenerateBeamDecoderOnlyOutput(sequences=[[1, 2, 3]], sequences_scores=[-0.5])
    >>> out.sequences, out.scores, list(out)
    ([[1, 2, 3]], None, ['sequences', 'sequences_scores'])
"""

from __future__ import annotations

from ..outputs import ModelOutput


class GenerateDecoderOnlyOutput(ModelOutput):
    """Greedy search or sampling: `sequences` (batch * num_return_sequences, length); `scores` and `logits`
    (tuples over steps), `attentions` / `hidden_states` (PyTorch: tuples over steps of per-layer tuples),
    `past_key_values` (the cache after the last step)."""


class GenerateBeamDecoderOnlyOutput(ModelOutput):
    """Beam search: `sequences` (batch * num_return_sequences, length), `sequences_scores` (the length-penalised
    sum of log-probabilities, with `output_scores=True`), `scores` / `logits` (tuples over steps, rows = batch *
    num_beams), `beam_indices` (batch * num_return_sequences, generated length; the beam row each token came from,
    -1 after the end), `past_key_values`."""


# transformers v4's older names for the same outputs
GreedySearchDecoderOnlyOutput = GenerateDecoderOnlyOutput
SampleDecoderOnlyOutput = GenerateDecoderOnlyOutput
BeamSearchDecoderOnlyOutput = GenerateBeamDecoderOnlyOutput
BeamSampleDecoderOnlyOutput = GenerateBeamDecoderOnlyOutput

__all__ = [
    "BeamSampleDecoderOnlyOutput",
    "BeamSearchDecoderOnlyOutput",
    "GenerateBeamDecoderOnlyOutput",
    "GenerateDecoderOnlyOutput",
    "GreedySearchDecoderOnlyOutput",
    "SampleDecoderOnlyOutput",
]
