"""Logits processors, written once for PyTorch, TensorFlow and JAX (transformers v4's names and arithmetic).

Each built-in processor implements `apply(xp, input_ids, scores, cur_len)` against
[`ArrayOps`][pretrained.generation.ops.ArrayOps]. `input_ids` may be a fixed-size buffer whose first `cur_len`
columns hold the sequence (what TensorFlow and JAX loop over); with PyTorch it is the sequence itself. Calling a
processor works on any backend's tensors, with v4's PyTorch signature `(input_ids, scores)` and v4's TF / Flax
signature `(input_ids, scores, cur_len)`:

Example:
    >>> import torch
    >>> from pretrained.generation.logits_process import RepetitionPenaltyLogitsProcessor, TopKLogitsWarper
    >>> scores = torch.tensor([[1.0, -1.0, 3.0, 0.5]])
    >>> RepetitionPenaltyLogitsProcessor(2.0)(torch.tensor([[0, 1]]), scores)
    tensor([[ 0.5000, -2.0000,  3.0000,  0.5000]])
    >>> TopKLogitsWarper(2)(torch.tensor([[0]]), scores)
    tensor([[1., -inf, 3., -inf]])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import ConfigError
from .ops import FLOAT32_MAX, NEG_INF, ArrayOps, ops_for


class LogitsProcessor:
    """Base class of logits processors: `processor(input_ids, scores)` (PyTorch) or
    `processor(input_ids, scores, cur_len)` (TensorFlow / Flax) returns the processed scores.

    Subclass it and override `__call__` for your own processor; the built-in ones implement `apply` instead.
    """

    def __call__(self, input_ids: Any, scores: Any, cur_len: Any = None, **kwargs: Any) -> Any:
        xp = ops_for(scores)
        return self.apply(xp, input_ids, scores, xp.shape(input_ids)[-1] if cur_len is None else cur_len)

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        """The processor's arithmetic: `input_ids` (rows, length) with `cur_len` valid columns, `scores` (rows,
        vocab) float32."""
        raise NotImplementedError(f"{type(self).__name__} must implement `__call__` (or `apply`)")


LogitsWarper = LogitsProcessor  # v4 name of the sampling-only processors' base


class LogitsProcessorList(list):
    """A list of processors applied in order; `cur_len` is passed on when given (TF / Flax convention)."""

    def __call__(self, input_ids: Any, scores: Any, cur_len: Any = None, **kwargs: Any) -> Any:
        for processor in self:
            scores = processor(input_ids, scores, **kwargs) if cur_len is None else processor(
                input_ids, scores, cur_len)
        return scores


def _positive_int(value: Any, name: str, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise ConfigError(f"`{name}` has to be a {'non-negative' if allow_zero else 'strictly positive'} integer, "
                          f"but is {value!r}")
    return value


def _token_ids(values: Iterable[int] | int, name: str) -> list[int]:
    values = [values] if isinstance(values, int) and not isinstance(values, bool) else list(values)
    if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ConfigError(f"`{name}` has to be a token id or a non-empty list of non-negative token ids, "
                          f"but is {values!r}")
    return values


def _valid_positions(xp: ArrayOps, input_ids: Any, cur_len: Any) -> Any:
    """(rows, length) bools: the filled columns of `input_ids`."""
    rows, length = xp.shape(input_ids)
    return xp.reshape(xp.arange(length) < cur_len, (1, length)) & xp.full((rows, length), True, "bool")


# ---------------------------------------------------------------------------------------------- sampling warpers
class TemperatureLogitsWarper(LogitsProcessor):
    """`scores / temperature` (sampling only)."""

    def __init__(self, temperature: float) -> None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not temperature > 0:
            raise ConfigError(f"`temperature` (={temperature}) has to be a strictly positive float, otherwise your "
                              "next token scores will be invalid.")
        self.temperature = float(temperature)

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        return scores / self.temperature


class TopKLogitsWarper(LogitsProcessor):
    """Keep the `top_k` highest scores (at least `min_tokens_to_keep`); the rest become `filter_value`."""

    def __init__(self, top_k: int, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        self.top_k = max(_positive_int(top_k, "top_k"), min_tokens_to_keep)
        self.filter_value = filter_value

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        k = min(self.top_k, xp.shape(scores)[-1])
        kth = xp.topk(scores, k)[0][..., -1:]
        return xp.where(scores < kth, self.filter_value, scores)


class TopPLogitsWarper(LogitsProcessor):
    """Nucleus sampling: keep the smallest set of tokens whose probabilities add up to more than `top_p`."""

    def __init__(self, top_p: float, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        if isinstance(top_p, bool) or not isinstance(top_p, (int, float)) or not 0 < top_p <= 1:
            raise ConfigError(f"`top_p` has to be a float in (0, 1], but is {top_p}")
        self.top_p = float(top_p)
        self.filter_value = filter_value
        self.min_tokens_to_keep = _positive_int(min_tokens_to_keep, "min_tokens_to_keep")

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        vocab = xp.shape(scores)[-1]
        sorted_scores, order = xp.sort(scores)
        cumulative = xp.cumsum(xp.softmax(sorted_scores))
        remove_sorted = (cumulative <= (1 - self.top_p)) & (xp.arange(vocab) < vocab - self.min_tokens_to_keep)
        inverse = xp.sort(order)[1]  # where each token went in the sort
        return xp.where(xp.take_along_axis(remove_sorted, inverse), self.filter_value, scores)


class MinPLogitsWarper(LogitsProcessor):
    """Drop tokens whose probability is below `min_p` times the most likely token's (sampling only)."""

    def __init__(self, min_p: float, filter_value: float = NEG_INF, min_tokens_to_keep: int = 1) -> None:
        if isinstance(min_p, bool) or not isinstance(min_p, (int, float)) or not 0 <= min_p <= 1:
            raise ConfigError(f"`min_p` has to be a float in the [0, 1] interval, but is {min_p}")
        self.min_p = float(min_p)
        self.filter_value = filter_value
        self.min_tokens_to_keep = _positive_int(min_tokens_to_keep, "min_tokens_to_keep")

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        probs = xp.softmax(scores)
        remove = probs < self.min_p * xp.max(probs, axis=-1, keepdims=True)
        if self.min_tokens_to_keep > 1:
            kth = xp.topk(scores, min(self.min_tokens_to_keep, xp.shape(scores)[-1]))[0][..., -1:]
            remove = remove & (scores < kth)
        return xp.where(remove, self.filter_value, scores)


# ---------------------------------------------------------------------------------------------- processors
class RepetitionPenaltyLogitsProcessor(LogitsProcessor):
    """Scores of tokens already in the sequence (prompt included): divided by `penalty` when positive,
    multiplied when negative (CTRL's rule)."""

    def __init__(self, penalty: float) -> None:
        if isinstance(penalty, bool) or not isinstance(penalty, (int, float)) or not penalty > 0:
            raise ConfigError(f"`penalty` has to be a strictly positive float, but is {penalty}")
        self.penalty = float(penalty)

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        seen = xp.token_presence(input_ids, _valid_positions(xp, input_ids, cur_len), xp.shape(scores)[-1])
        penalised = xp.where(scores < 0, scores * self.penalty, scores / self.penalty)
        return xp.where(seen, penalised, scores)


class NoRepeatNGramLogitsProcessor(LogitsProcessor):
    """Ban any token that would repeat an n-gram of size `ngram_size` already in the sequence."""

    def __init__(self, ngram_size: int) -> None:
        self.ngram_size = _positive_int(ngram_size, "ngram_size")

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        n = self.ngram_size
        rows, length = xp.shape(input_ids)
        windows = length - n + 1
        if windows <= 0:
            return scores
        starts = xp.arange(windows)
        # the n-gram lies inside the sequence
        match = xp.reshape(starts <= cur_len - n, (1, windows)) & xp.full((rows, windows), True, "bool")
        for j in range(n - 1):  # its first n-1 tokens equal the sequence's last n-1 tokens
            match = match & (input_ids[:, j:j + windows] == xp.column(input_ids, cur_len - n + 1 + j)[:, None])
        banned = xp.token_presence(input_ids[:, n - 1:n - 1 + windows], match, xp.shape(scores)[-1])
        return xp.where(banned, NEG_INF, scores)


class NoBadWordsLogitsProcessor(LogitsProcessor):
    """Never complete a sequence of `bad_words_ids`: a single token is always banned; the last token of a longer
    sequence is banned right after its prefix. Sequences equal to an end-of-sequence token are ignored (v4)."""

    def __init__(self, bad_words_ids: Sequence[Sequence[int]], eos_token_id: int | Sequence[int] | None = None
                 ) -> None:
        if not isinstance(bad_words_ids, (list, tuple)) or not bad_words_ids:
            raise ConfigError(f"`bad_words_ids` has to be a non-empty list, but is {bad_words_ids}.")
        words = [_token_ids(word, "bad_words_ids") for word in bad_words_ids if isinstance(word, (list, tuple))]
        if len(words) != len(bad_words_ids):
            raise ConfigError(f"`bad_words_ids` has to be a list of lists, but is {bad_words_ids}.")
        eos = [] if eos_token_id is None else _token_ids(eos_token_id, "eos_token_id")
        self.bad_words_ids = [w for w in words if not (len(w) == 1 and w[0] in eos)]
        self.static_ids = sorted({w[0] for w in self.bad_words_ids if len(w) == 1})

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        vocab = xp.shape(scores)[-1]
        vocab_ids = xp.arange(vocab)
        banned = xp.reshape(xp.vocab_mask(vocab, self.static_ids), (1, vocab)) if self.static_ids else None
        for word in (w for w in self.bad_words_ids if len(w) > 1):
            prefix = word[:-1]
            hit = xp.batch_full(xp.shape(input_ids)[0], cur_len >= len(prefix))
            for j, token in enumerate(prefix):
                hit = hit & (xp.column(input_ids, cur_len - len(prefix) + j) == token)
            this = hit[:, None] & (vocab_ids == word[-1])
            banned = this if banned is None else banned | this
        return scores if banned is None else xp.where(banned, scores + NEG_INF, scores)


class MinLengthLogitsProcessor(LogitsProcessor):
    """No end-of-sequence token before the sequence (prompt included) reaches `min_length`."""

    def __init__(self, min_length: int, eos_token_id: int | Sequence[int]) -> None:
        self.min_length = _positive_int(min_length, "min_length", allow_zero=True)
        self.eos_token_id = _token_ids(eos_token_id, "eos_token_id")

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        eos = xp.vocab_mask(xp.shape(scores)[-1], self.eos_token_id)
        return xp.where(eos & (cur_len < self.min_length), NEG_INF, scores)


class MinNewTokensLengthLogitsProcessor(LogitsProcessor):
    """No end-of-sequence token before `min_new_tokens` tokens were generated after the prompt."""

    def __init__(self, prompt_length_to_skip: int, min_new_tokens: int, eos_token_id: int | Sequence[int]) -> None:
        self.prompt_length_to_skip = _positive_int(prompt_length_to_skip, "prompt_length_to_skip", allow_zero=True)
        self.min_new_tokens = _positive_int(min_new_tokens, "min_new_tokens", allow_zero=True)
        self.eos_token_id = _token_ids(eos_token_id, "eos_token_id")

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        eos = xp.vocab_mask(xp.shape(scores)[-1], self.eos_token_id)
        return xp.where(eos & (cur_len - self.prompt_length_to_skip < self.min_new_tokens), NEG_INF, scores)


class ForcedBOSTokenLogitsProcessor(LogitsProcessor):
    """Force `bos_token_id` as the first generated token of a one-token prompt."""

    def __init__(self, bos_token_id: int) -> None:
        self.bos_token_id = _token_ids(bos_token_id, "bos_token_id")[0]

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        forced = xp.where(xp.arange(xp.shape(scores)[-1]) == self.bos_token_id, 0.0, NEG_INF)
        return xp.where(xp.batch_full(1, cur_len == 1)[:, None], forced, scores)


class ForcedEOSTokenLogitsProcessor(LogitsProcessor):
    """Force an end-of-sequence token when `max_length` is reached."""

    def __init__(self, max_length: int, eos_token_id: int | Sequence[int]) -> None:
        self.max_length = _positive_int(max_length, "max_length")
        self.eos_token_id = _token_ids(eos_token_id, "eos_token_id")

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        forced = xp.where(xp.vocab_mask(xp.shape(scores)[-1], self.eos_token_id), 0.0, NEG_INF)
        return xp.where(xp.batch_full(1, cur_len == self.max_length - 1)[:, None], forced, scores)


class SuppressTokensLogitsProcessor(LogitsProcessor):
    """Never generate `suppress_tokens`."""

    def __init__(self, suppress_tokens: Sequence[int]) -> None:
        self.suppress_tokens = list(suppress_tokens)

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        if not self.suppress_tokens:
            return scores
        return xp.where(xp.vocab_mask(xp.shape(scores)[-1], self.suppress_tokens), NEG_INF, scores)


class SuppressTokensAtBeginLogitsProcessor(LogitsProcessor):
    """Never generate `begin_suppress_tokens` as the token at position `begin_index`."""

    def __init__(self, begin_suppress_tokens: Sequence[int], begin_index: int) -> None:
        self.begin_suppress_tokens = list(begin_suppress_tokens)
        self.begin_index = begin_index

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        if not self.begin_suppress_tokens:
            return scores
        mask = xp.vocab_mask(xp.shape(scores)[-1], self.begin_suppress_tokens)
        return xp.where(mask & (cur_len == self.begin_index), NEG_INF, scores)


class InfNanRemoveLogitsProcessor(LogitsProcessor):
    """NaN -> 0, +inf -> the largest float, -inf -> the smallest (`remove_invalid_values=True`)."""

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        scores = xp.where(scores != scores, 0.0, scores)
        scores = xp.where(scores == float("inf"), FLOAT32_MAX, scores)
        return xp.where(scores == NEG_INF, -FLOAT32_MAX, scores)


class LogitNormalization(LogitsProcessor):
    """`log_softmax` of the processed scores (`renormalize_logits=True`); always last."""

    def apply(self, xp: ArrayOps, input_ids: Any, scores: Any, cur_len: Any) -> Any:
        return xp.log_softmax(scores)


__all__ = [
    "ForcedBOSTokenLogitsProcessor",
    "ForcedEOSTokenLogitsProcessor",
    "InfNanRemoveLogitsProcessor",
    "LogitNormalization",
    "LogitsProcessor",
    "LogitsProcessorList",
    "LogitsWarper",
    "MinLengthLogitsProcessor",
    "MinNewTokensLengthLogitsProcessor",
    "MinPLogitsWarper",
    "NoBadWordsLogitsProcessor",
    "NoRepeatNGramLogitsProcessor",
    "RepetitionPenaltyLogitsProcessor",
    "SuppressTokensAtBeginLogitsProcessor",
    "SuppressTokensLogitsProcessor",
    "TemperatureLogitsWarper",
    "TopKLogitsWarper",
    "TopPLogitsWarper",
]
