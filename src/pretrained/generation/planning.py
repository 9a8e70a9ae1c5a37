"""Everything `generate()` decides before touching a tensor, once for every backend (transformers v4's rules).

[`prepare_generation_config`][pretrained.generation.planning.prepare_generation_config] merges the model's
`generation_config`, a config passed in, and keyword arguments; [`plan_generation`][
pretrained.generation.planning.plan_generation] checks the request against the prompt and the model (lengths,
position table, vocabulary, unsupported features) and builds the ordered logits processors, the stopping criteria
and the static [`DecodeSpec`][pretrained.generation.decoding.DecodeSpec]. Bad input fails here, before any compute.

Example:
    >>> from pretrained import PretrainedConfig
    >>> from pretrained.generation import GenerationConfig
    >>> from pretrained.generation.planning import plan_generation, prepare_generation_config
    >>> model_config = PretrainedConfig(vocab_size=50, max_position_embeddings=16, eos_token_id=2)
    >>> config, extra = prepare_generation_config(GenerationConfig(eos_token_id=2), None,
    ...                                            {"max_new_tokens": 4, "repetition_penalty": 1.3})
    >>> plan = plan_generation(config, model_config, batch_size=1, prompt_length=3)
    >>> plan.spec.max_length, [type(p).__name__ for p in plan.processors]
    (7, ['RepetitionPenaltyLogitsProcessor'])
    >>> plan_generation(config, model_config, batch_size=1, prompt_length=15)
    Traceback (most recent call last):
    ...
    ValueError: The prompt (15 tokens) plus max_new_tokens=4 is 19 tokens, more than the model's position table (max_position_embeddings=16). Shorten the prompt or lower max_new_tokens.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..utils import logging
from . import logits_process as lp
from .configuration_utils import DEFAULTS, UNSUPPORTED, GenerationConfig, GenerationMode, token_list
from .decoding import DecodeSpec
from .stopping_criteria import EosTokenCriteria, MaxLengthCriteria, MaxTimeCriteria, StoppingCriteria

logger = logging.get_logger(__name__)

# `generate()` arguments of transformers v4 that this library does not implement
UNSUPPORTED_ARGUMENTS = ("prefix_allowed_tokens_fn", "synced_gpus", "assistant_model", "negative_prompt_ids",
                         "negative_prompt_attention_mask", "custom_generate", "tokenizer", "assistant_tokenizer")


@dataclass
class GenerationPlan:
    """The outcome of planning: the prepared config, the decode spec, processors and criteria (in order)."""

    config: GenerationConfig
    mode: GenerationMode
    spec: DecodeSpec
    processors: list[Any] = field(default_factory=list)
    criteria: list[Any] = field(default_factory=list)
    streamer: Any = None

    @property
    def expand(self) -> int:
        """How many times each prompt row is repeated (beams, or sampled return sequences)."""
        return self.spec.rows // self.spec.batch_size


def prepare_generation_config(model_config: GenerationConfig | None, generation_config: GenerationConfig | None,
                              kwargs: dict[str, Any]) -> tuple[GenerationConfig, dict[str, Any]]:
    """The config `generate()` runs with, and the keyword arguments left for the model.

    Priority (v4.50+): `kwargs` > non-default values of `generation_config` > the model's `generation_config` >
    `GenerationConfig()` defaults. Nothing passed in is modified.
    """
    base = model_config if model_config is not None else GenerationConfig()
    if generation_config is None:
        config = copy.deepcopy(base)
    else:
        if not isinstance(generation_config, GenerationConfig):
            raise TypeError(f"`generation_config` has to be a GenerationConfig, got {type(generation_config).__name__}")
        config = copy.deepcopy(generation_config)
        for key, value in vars(base).items():
            if key.startswith("_") or key == "transformers_version":
                continue
            if getattr(config, key, None) == DEFAULTS.get(key) and value != DEFAULTS.get(key):
                setattr(config, key, copy.deepcopy(value))
    kwargs = dict(kwargs)
    config._user_max_length = kwargs.get("max_length") is not None  # v4's `has_default_max_length` (inverted)
    config._user_min_length = kwargs.get("min_length") is not None
    return config, config.update(**kwargs)


def _is_default(config: GenerationConfig, name: str) -> bool:
    return getattr(config, name, DEFAULTS[name]) == DEFAULTS[name]


def plan_generation(config: GenerationConfig, model_config: Any, *, batch_size: int, prompt_length: int,
                    logits_processor: Sequence[Any] | None = None, stopping_criteria: Sequence[Any] | None = None,
                    streamer: Any = None, backend: str = "torch") -> GenerationPlan:
    """Check the request and build the processors, criteria and spec (modifies `config` in place: lengths and
    special tokens are resolved as v4's `generate()` does).

    Raises `ValueError` (prompt too long for `max_length` or the position table, bad word ids outside the
    vocabulary, a streamer with beam search) and `NotImplementedError` (a v4 feature this library lacks).
    """
    for name in UNSUPPORTED:
        if not _is_default(config, name):
            raise NotImplementedError(f"`{name}={getattr(config, name)!r}` is not supported by pretrained's "
                                      "generate() (greedy, sampling and beam search are).")
    if config.num_beam_groups != 1:
        raise NotImplementedError("group beam search (`num_beam_groups` > 1) is not supported by pretrained's "
                                  "generate().")
    if config.max_time is not None and backend != "torch":
        raise NotImplementedError("`max_time` needs PyTorch's eager loop (v4's TF / Flax generate lack it too).")
    if streamer is not None and config.num_beams > 1:
        raise ValueError("`streamer` cannot be used with beam search (yet!). Make sure that `num_beams` is set to 1.")
    if getattr(model_config, "is_encoder_decoder", False):
        raise NotImplementedError("generate() supports decoder-only models (`config.is_encoder_decoder=False`).")

    eos = token_list(config.eos_token_id, "eos_token_id")
    pad = config.pad_token_id
    if pad is None and eos is not None:
        logger.warning("Setting `pad_token_id` to `eos_token_id`:%s for open-end generation.", eos[0])
        pad = eos[0]
    _resolve_lengths(config, model_config, prompt_length)
    vocab_size = _vocab_size(model_config)
    _check_bad_words(config.bad_words_ids, vocab_size)

    processors = _merge(_default_processors(config, eos, prompt_length), list(logits_processor or []))
    processors += _sampling_processors(config, eos)
    if config.renormalize_logits:
        processors.append(lp.LogitNormalization())
    criteria: list[Any] = [MaxLengthCriteria(config.max_length, getattr(model_config, "max_position_embeddings",
                                                                        None))]
    if config.max_time is not None:
        criteria.append(MaxTimeCriteria(config.max_time))
    if eos is not None:
        criteria.append(EosTokenCriteria(eos))
    criteria = _merge(criteria, list(stopping_criteria or []))
    if not any(isinstance(c, MaxLengthCriteria) for c in criteria):
        raise ValueError("the stopping criteria must include a MaxLengthCriteria")

    spec = DecodeSpec(
        batch_size=batch_size, prompt_length=prompt_length, max_length=config.max_length, vocab_size=vocab_size,
        num_beams=config.num_beams, num_return_sequences=config.num_return_sequences, do_sample=config.do_sample,
        pad_token_id=pad, eos_token_ids=None if eos is None else tuple(eos),
        has_eos_criteria=any(hasattr(c, "eos_token_id") for c in criteria), length_penalty=float(
            config.length_penalty), early_stopping=config.early_stopping,
        output_scores=bool(config.return_dict_in_generate and config.output_scores),
        output_logits=bool(config.return_dict_in_generate and config.output_logits),
        output_attentions=bool(config.return_dict_in_generate and config.output_attentions),
        output_hidden_states=bool(config.return_dict_in_generate and config.output_hidden_states),
        use_cache=bool(config.use_cache),
    )
    if spec.has_eos_criteria and pad is None:
        raise ValueError("a stopping criterion with `eos_token_id` needs `pad_token_id` (or `eos_token_id`) to pad "
                         "finished sequences")
    return GenerationPlan(config=config, mode=config.get_generation_mode(), spec=spec, processors=processors,
                          criteria=criteria, streamer=streamer)


def _resolve_lengths(config: GenerationConfig, model_config: Any, prompt_length: int) -> None:
    table = getattr(model_config, "max_position_embeddings", None)
    if config.max_new_tokens is not None:
        config.max_length = config.max_new_tokens + prompt_length
    elif not getattr(config, "_user_max_length", False) and config.max_length == DEFAULTS["max_length"]:
        config.max_length = config.max_length + prompt_length  # v4: by default, 20 new tokens
        if table is not None:
            config.max_length = min(config.max_length, table)
    if config.min_new_tokens is not None:
        config.min_length = config.min_new_tokens + prompt_length
    if table is not None and prompt_length > table:
        raise ValueError(f"The prompt has {prompt_length} tokens, more than the model's position table "
                         f"(max_position_embeddings={table}).")
    if prompt_length >= config.max_length:
        raise ValueError(f"Input length of input_ids is {prompt_length}, but `max_length` is set to "
                         f"{config.max_length}. This can lead to unexpected behavior. You should consider increasing "
                         "`max_length` or, better yet, setting `max_new_tokens`.")
    if table is not None and config.max_length > table:
        asked = (f"max_new_tokens={config.max_new_tokens}" if config.max_new_tokens is not None
                 else f"max_length={config.max_length}")
        raise ValueError(f"The prompt ({prompt_length} tokens) plus {asked} is {config.max_length} tokens, more than "
                         f"the model's position table (max_position_embeddings={table}). Shorten the prompt or lower "
                         f"{asked.split('=')[0]}.")


def _vocab_size(model_config: Any) -> int:
    text = model_config.get_text_config() if hasattr(model_config, "get_text_config") else model_config
    vocab = getattr(text, "vocab_size", None)
    if not isinstance(vocab, int) or vocab < 1:
        raise ValueError(f"generate() needs `config.vocab_size` (the size of the logits), found {vocab!r}")
    return vocab


def _check_bad_words(bad_words_ids: Any, vocab_size: int) -> None:
    if bad_words_ids is None:
        return
    outside = sorted({t for word in bad_words_ids for t in word if t >= vocab_size})
    if outside:
        raise ValueError(f"The model vocabulary size is {vocab_size}, but `bad_words_ids` contains token ids "
                         f"{outside} that are outside it.")


def _default_processors(config: GenerationConfig, eos: list[int] | None, prompt_length: int) -> list[Any]:
    """v4's order of the processors that apply to every strategy."""
    processors: list[Any] = []
    if config.repetition_penalty != 1.0:
        processors.append(lp.RepetitionPenaltyLogitsProcessor(config.repetition_penalty))
    if config.no_repeat_ngram_size > 0:
        processors.append(lp.NoRepeatNGramLogitsProcessor(config.no_repeat_ngram_size))
    if config.bad_words_ids is not None:
        processors.append(lp.NoBadWordsLogitsProcessor(config.bad_words_ids, eos))
    if eos is not None and config.min_length > 0:
        processors.append(lp.MinLengthLogitsProcessor(config.min_length, eos))
    if eos is not None and config.min_new_tokens is not None and config.min_new_tokens > 0:
        processors.append(lp.MinNewTokensLengthLogitsProcessor(prompt_length, config.min_new_tokens, eos))
    if config.forced_bos_token_id is not None:
        processors.append(lp.ForcedBOSTokenLogitsProcessor(config.forced_bos_token_id))
    if config.forced_eos_token_id is not None:
        processors.append(lp.ForcedEOSTokenLogitsProcessor(config.max_length, config.forced_eos_token_id))
    if config.remove_invalid_values:
        processors.append(lp.InfNanRemoveLogitsProcessor())
    if config.suppress_tokens is not None:
        processors.append(lp.SuppressTokensLogitsProcessor(config.suppress_tokens))
    if config.begin_suppress_tokens is not None:
        begin = prompt_length if (prompt_length > 1 or config.forced_bos_token_id is None) else prompt_length + 1
        processors.append(lp.SuppressTokensAtBeginLogitsProcessor(config.begin_suppress_tokens, begin))
    return processors


def _sampling_processors(config: GenerationConfig, eos: list[int] | None) -> list[Any]:
    """v4's warpers (sampling only): temperature, top-k, top-p, min-p."""
    if not config.do_sample:
        return []
    keep = (len(eos) + 1 if eos is not None else 2) if config.num_beams > 1 else 1
    warpers: list[Any] = []
    if config.temperature is not None and config.temperature != 1.0:
        warpers.append(lp.TemperatureLogitsWarper(config.temperature))
    if config.top_k is not None and config.top_k != 0:
        warpers.append(lp.TopKLogitsWarper(config.top_k, min_tokens_to_keep=keep))
    if config.top_p is not None and config.top_p < 1.0:
        warpers.append(lp.TopPLogitsWarper(config.top_p, min_tokens_to_keep=keep))
    if config.min_p is not None:
        warpers.append(lp.MinPLogitsWarper(config.min_p, min_tokens_to_keep=keep))
    return warpers


def _merge(defaults: list[Any], custom: list[Any]) -> list[Any]:
    """v4.50+: a custom processor / criterion of the same type as a default one replaces it (with a warning);
    other custom ones come after the defaults."""
    merged = []
    for default in defaults:
        same = next((c for c in custom if type(c) is type(default)), None)
        if same is not None:
            kind = "stopping criteria" if isinstance(same, StoppingCriteria) else "logits processor"
            logger.warning("A custom %s of type %s has been passed to `.generate()`, but it was also created in "
                           "`.generate()`, given its parameterization. The custom one will take precedence.",
                           kind, type(same).__name__)
        merged.append(default if same is None else same)
    merged.extend(c for c in custom if not any(c is m for m in merged))
    return merged


__all__ = ["UNSUPPORTED_ARGUMENTS", "GenerationPlan", "plan_generation", "prepare_generation_config"]
