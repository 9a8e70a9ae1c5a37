"""Greedy search, sampling and beam search, written once against [`ArrayOps`][pretrained.generation.ops.ArrayOps].

The algorithms are transformers v4.57's PyTorch ones (its beam search is already vectorised with fixed-size
buffers), arranged so that every tensor keeps its shape from one step to the next: the sequences live in a
`(rows, max_length)` buffer and `cur_len` counts the filled columns. PyTorch runs the loop in Python; TensorFlow
and JAX trace it once (`tf.while_loop`, `lax.while_loop`) and compile it. The backend supplies the model:

- `forward(sequences, cur_len, model_kwargs, first)` -> `(next-token logits (rows, vocab) float32, model_kwargs)`;
  `first` is the prompt's pass (the only one whose input is more than one token per row);
- `reorder(model_kwargs, beam_idx)` -> the cache rows reordered after a beam step.

Example:
    >>> from pretrained.generation.decoding import DecodeSpec, length_penalty_table
    >>> spec = DecodeSpec(batch_size=1, prompt_length=3, max_length=6, vocab_size=10)
    >>> [float(x) for x in length_penalty_table(4, 2.0)]
    [0.0, 1.0, 4.0, 9.0, 16.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .ops import ArrayOps

Forward = Callable[[Any, Any, Any, bool], "tuple[Any, Any]"]
Processors = Callable[[Any, Any, Any], Any]  # (sequences, cur_len, scores) -> scores
Criteria = Callable[[Any, Any, Any], Any]  # (sequences, cur_len, scores so far) -> (rows,) bools
BIG_NEGATIVE = -1.0e9


@dataclass(frozen=True)
class DecodeSpec:
    """The static description of one `generate()` call (shapes, tokens, outputs requested)."""

    batch_size: int  # prompts (before expansion for beams)
    prompt_length: int
    max_length: int
    vocab_size: int
    num_beams: int = 1
    num_return_sequences: int = 1
    do_sample: bool = False
    pad_token_id: int | None = None
    eos_token_ids: tuple[int, ...] | None = None
    has_eos_criteria: bool = False
    length_penalty: float = 1.0
    early_stopping: bool | str = False
    output_scores: bool = False
    output_logits: bool = False
    output_attentions: bool = False
    output_hidden_states: bool = False
    use_cache: bool = True

    @property
    def rows(self) -> int:
        """Sequences decoded side by side: prompts x beams (beam search) or x return sequences (sampling)."""
        if self.num_beams > 1:
            return self.batch_size * self.num_beams
        return self.batch_size * self.num_return_sequences

    @property
    def new_tokens(self) -> int:
        return self.max_length - self.prompt_length

    @property
    def fill_value(self) -> int:
        """What unwritten buffer columns hold: v4's beam-search fill (`pad or eos[0]`, -1 without eos), else pad."""
        if self.num_beams > 1:
            return (self.pad_token_id or self.eos_token_ids[0]) if self.eos_token_ids is not None else -1
        return self.pad_token_id if self.pad_token_id is not None else 0


def length_penalty_table(max_length: int, length_penalty: float) -> np.ndarray:
    """`n ** length_penalty` for n = 0..max_length, rounded to float32 as PyTorch rounds the Python float."""
    with np.errstate(divide="ignore"):
        return np.array([float(n) ** length_penalty if n else 0.0 for n in range(max_length + 1)], np.float32)


class _Recorder:
    """Per-step scores / logits: Python tuples (eager) or a (rows, new_tokens, vocab) buffer (static)."""

    def __init__(self, xp: ArrayOps, spec: DecodeSpec, wanted: bool) -> None:
        self.xp, self.spec, self.wanted = xp, spec, wanted

    def initial(self) -> Any:
        if not self.wanted:
            return None
        if not self.xp.static:
            return ()
        return self.xp.full((self.spec.rows, self.spec.new_tokens, self.spec.vocab_size), 0.0, "float")

    def add(self, record: Any, cur_len: Any, value: Any) -> Any:
        if not self.wanted:
            return None
        if not self.xp.static:
            return (*record, value)
        return self.xp.update_step(record, cur_len - self.spec.prompt_length, value)


def _loop(xp: ArrayOps, state: dict, step: Callable[[dict, Any], dict], forward: Forward,
          reorder: Callable[[Any, Any], Any] | None, cond: Callable[[dict], Any]) -> dict:
    """The prompt's forward pass and first step, then `forward` + `step` while `cond`."""

    def body(s: dict) -> dict:
        kwargs = s["model_kwargs"] if reorder is None else reorder(s["model_kwargs"], s["beam_idx"])
        logits, kwargs = forward(s["forward_ids"], s["cur_len"], kwargs, False)
        return step({**s, "model_kwargs": kwargs}, logits)

    logits, kwargs = forward(state["forward_ids"], state["cur_len"], state["model_kwargs"], True)
    state = step({**state, "model_kwargs": kwargs}, logits)
    return xp.while_loop(cond, body, state)


# ---------------------------------------------------------------------------------------------- greedy / sample
def greedy_or_sample(xp: ArrayOps, spec: DecodeSpec, input_ids: Any, model_kwargs: Any, forward: Forward,
                     processors: Processors, criteria: Criteria, *, rng: Any = None,
                     streamer: Callable[[Any], None] | None = None) -> dict:
    """Greedy search (`do_sample=False`) or multinomial sampling over `input_ids` (rows, prompt_length).

    Returns the final state: `sequences` (rows, max_length) with `cur_len` filled columns, `scores` / `logits`
    (per-step records when requested), `model_kwargs`, `rng`.
    """
    rows, length = spec.rows, spec.max_length
    padding = xp.full((rows, length - spec.prompt_length), spec.fill_value, "int")
    sequences = xp.concat([xp.cast(input_ids, "int"), padding], axis=1)
    scores_rec, logits_rec = _Recorder(xp, spec, spec.output_scores), _Recorder(xp, spec, spec.output_logits)

    def step(s: dict, logits: Any) -> dict:
        ids, cur_len = s["sequences"], s["cur_len"]
        scores = processors(ids, cur_len, logits)
        record = scores_rec.add(s["scores"], cur_len, scores)
        key = s["rng"]
        if spec.do_sample:
            key, tokens = xp.sample(key, scores, 1)
            tokens = tokens[:, 0]
        else:
            tokens = xp.argmax(scores)
        tokens = xp.cast(tokens, "int")
        if spec.has_eos_criteria:
            tokens = xp.where(s["unfinished"], tokens, spec.pad_token_id)
        ids = xp.put_column(ids, cur_len, tokens)
        if streamer is not None:
            xp.callback(streamer, tokens)
        cur_len = cur_len + 1
        done = criteria(ids, cur_len, record if not xp.static else scores)
        return {**s, "sequences": ids, "forward_ids": ids, "cur_len": cur_len, "unfinished": s["unfinished"] & ~done,
                "scores": record, "logits": logits_rec.add(s["logits"], cur_len - 1, logits), "rng": key}

    state = {"sequences": sequences, "forward_ids": sequences, "cur_len": xp.scalar(spec.prompt_length),
             "unfinished": xp.full((rows,), True, "bool"), "scores": scores_rec.initial(),
             "logits": logits_rec.initial(), "model_kwargs": model_kwargs, "rng": rng}
    return _loop(xp, state, step, forward, None,
                 lambda s: xp.any(s["unfinished"]) & (s["cur_len"] < length))


# ---------------------------------------------------------------------------------------------- beam search
def beam_search(xp: ArrayOps, spec: DecodeSpec, input_ids: Any, model_kwargs: Any, forward: Forward,
                processors: Processors, criteria: Criteria, reorder: Callable[[Any, Any], Any], *,
                rng: Any = None) -> dict:
    """Beam search (or beam sampling with `do_sample=True`) over `input_ids` (batch * num_beams, prompt_length).

    v4.57's algorithm: keep `max(2, 1 + n_eos) * num_beams` candidates per step, let the best `num_beams` unfinished
    ones run on, and merge newly finished ones (scored with `length_penalty`) into the `num_beams` best finished.
    Returns the final state; `sequences` (batch, num_beams, max_length) / `beam_scores` / `beam_indices` are
    sorted best first.
    """
    batch, beams, vocab, length, prompt = (spec.batch_size, spec.num_beams, spec.vocab_size, spec.max_length,
                                           spec.prompt_length)
    n_eos = len(spec.eos_token_ids) if spec.eos_token_ids is not None else 0
    keep = max(2, 1 + n_eos) * beams
    top_num_beam_mask = xp.arange(keep) < beams
    table = xp.asarray(length_penalty_table(length, spec.length_penalty), "float")
    stop_when_full = spec.early_stopping is True
    padding = xp.full((batch * beams, length - prompt), spec.fill_value, "int")
    running = xp.reshape(xp.concat([xp.cast(input_ids, "int"), padding], axis=1), (batch, beams, length))
    scores_rec, logits_rec = _Recorder(xp, spec, spec.output_scores), _Recorder(xp, spec, spec.output_logits)

    def flat(x: Any) -> Any:
        shape = xp.shape(x)
        return xp.reshape(x, (shape[0] * shape[1], *shape[2:]))

    def step(s: dict, logits: Any) -> dict:
        cur_len = s["cur_len"]
        log_probs = processors(s["forward_ids"], cur_len, xp.log_softmax(logits))
        record = scores_rec.add(s["scores"], cur_len, log_probs)
        raw = logits_rec.add(s["logits"], cur_len, logits)
        accumulated = xp.reshape(xp.reshape(log_probs, (batch, beams, vocab)) + s["running_scores"][:, :, None],
                                 (batch, beams * vocab))
        key = s["rng"]
        if spec.do_sample:
            key, topk_indices = xp.sample(key, accumulated, keep)
            topk_log_probs = xp.take_along_axis(accumulated, topk_indices)
        else:
            topk_log_probs, topk_indices = xp.topk(accumulated, keep)
        topk_beams = topk_indices // vocab
        topk_running_indices = xp.gather_beams(s["running_indices"], topk_beams)
        topk_running = xp.put_column(xp.gather_beams(s["running"], topk_beams), cur_len, topk_indices % vocab)
        batch_offset = xp.reshape(xp.arange(batch) * beams, (batch, 1))
        topk_running_indices = xp.put_column(topk_running_indices, cur_len - prompt, topk_beams + batch_offset)

        hits = xp.reshape(criteria(flat(topk_running), cur_len + 1, record if not xp.static else log_probs),
                          (batch, keep))
        # the best `num_beams` candidates that did not stop run on
        running_log_probs = topk_log_probs + xp.cast(hits, "float") * BIG_NEGATIVE
        next_beams = xp.topk(running_log_probs, beams)[1]
        running_ids = xp.gather_beams(topk_running, next_beams)
        running_scores = xp.gather_beams(running_log_probs, next_beams)
        running_indices = xp.gather_beams(topk_running_indices, next_beams)

        # candidates among the top `num_beams` that just stopped compete with the finished ones
        just_finished = hits & top_num_beam_mask[None, :]
        finished_scores = topk_log_probs / table[cur_len + 1 - prompt]
        if stop_when_full:
            finished_scores = finished_scores + xp.cast(xp.all(s["finished"], axis=-1, keepdims=True),
                                                        "float") * BIG_NEGATIVE
        finished_scores = finished_scores + xp.cast(~s["improvable"], "float") * BIG_NEGATIVE
        finished_scores = finished_scores + xp.cast(~just_finished, "float") * BIG_NEGATIVE
        merged_scores = xp.concat([s["beam_scores"], finished_scores], axis=1)
        best = xp.topk(merged_scores, beams)[1]
        sequences = xp.gather_beams(xp.concat([s["sequences"], topk_running], axis=1), best)
        beam_scores = xp.gather_beams(merged_scores, best)
        beam_indices = xp.gather_beams(xp.concat([s["beam_indices"], topk_running_indices], axis=1), best)
        finished = xp.gather_beams(xp.concat([s["finished"], just_finished], axis=1), best)

        beam_idx = xp.reshape(xp.column(running_indices, cur_len - prompt), (batch * beams,))
        cur_len = cur_len + 1
        # can a running beam still beat the worst finished one?
        if spec.early_stopping == "never" and spec.length_penalty > 0.0:
            best_length = length - prompt
        else:
            best_length = cur_len - prompt
        best_running = running_scores[:, :1] / table[best_length]
        worst_finished = xp.where(finished, xp.min(beam_scores, axis=1, keepdims=True), BIG_NEGATIVE)
        improvable = s["improvable"] & xp.any(best_running > worst_finished, axis=-1, keepdims=True)
        open_beams = ~(xp.all(finished) & stop_when_full)
        done = ~(xp.any(improvable) & open_beams & ~xp.all(hits))
        return {**s, "running": running_ids, "forward_ids": flat(running_ids), "running_scores": running_scores,
                "running_indices": running_indices, "sequences": sequences, "beam_scores": beam_scores,
                "beam_indices": beam_indices, "finished": finished, "improvable": improvable, "done": done,
                "beam_idx": beam_idx, "cur_len": cur_len, "scores": record, "logits": raw, "rng": key}

    indices = xp.full((batch, beams, length - prompt), -1, "int")
    first_beam = xp.reshape(xp.arange(beams) > 0, (1, beams)) & xp.full((batch, beams), True, "bool")
    state = {
        "running": running, "forward_ids": flat(running), "sequences": running,
        "running_scores": xp.where(first_beam, BIG_NEGATIVE, xp.full((batch, beams), 0.0, "float")),
        "beam_scores": xp.full((batch, beams), BIG_NEGATIVE, "float"),
        "running_indices": indices, "beam_indices": indices,
        "finished": xp.full((batch, beams), False, "bool"), "improvable": xp.full((batch, 1), True, "bool"),
        "done": xp.full((), False, "bool"), "beam_idx": xp.arange(batch * beams),
        "cur_len": xp.scalar(prompt), "scores": scores_rec.initial(), "logits": logits_rec.initial(),
        "model_kwargs": model_kwargs, "rng": rng,
    }
    return _loop(xp, state, step, forward, reorder, lambda s: ~s["done"])


def beam_outputs(xp: ArrayOps, spec: DecodeSpec, state: dict) -> tuple[Any, Any, Any]:
    """The `num_return_sequences` best finished beams per prompt: sequences (batch * n, max_length), their scores
    (batch * n,), and beam indices (batch * n, new tokens), uncropped."""
    n, rows = spec.num_return_sequences, spec.batch_size * spec.num_return_sequences
    sequences = xp.reshape(state["sequences"][:, :n], (rows, spec.max_length))
    scores = xp.reshape(state["beam_scores"][:, :n], (rows,))
    indices = xp.reshape(state["beam_indices"][:, :n], (rows, spec.new_tokens))
    return sequences, scores, indices


__all__ = ["DecodeSpec", "beam_outputs", "beam_search", "greedy_or_sample", "length_penalty_table"]
