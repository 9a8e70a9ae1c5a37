"""`GenerationConfig`: how `generate()` decodes, saved as `generation_config.json` beside the weights.

Field names, defaults and the JSON file are transformers v4's, so a `generation_config.json` written by either
library loads in the other. Values are validated when the config is built (and again after `generate()` applies
its keyword arguments): a bad value is a `ConfigError` (a `ValueError`) before any compute.

Example:
    >>> from pretrained.generation import GenerationConfig
    >>> config = GenerationConfig(max_new_tokens=8, num_beams=4, num_return_sequences=2)
    >>> config.get_generation_mode()
    <GenerationMode.BEAM_SEARCH: 'beam_search'>
    >>> GenerationConfig(top_p=1.5)
    Traceback (most recent call last):
    ...
    pretrained.errors.ConfigError: `top_p` has to be a float in (0, 1], but is 1.5.
"""

from __future__ import annotations

import copy
import json
import math
import os
from enum import Enum
from pathlib import Path
from typing import Any

from ..checkpoint import write_json_atomic
from ..configuration import __version__, read_config_file
from ..errors import ConfigError
from ..hub import PushToHubMixin, resolve_file
from ..utils import logging

logger = logging.get_logger(__name__)

GENERATION_CONFIG_NAME = "generation_config.json"

# every field with its transformers v4 default (v4.57 names); unknown JSON keys become attributes as in v4
DEFAULTS: dict[str, Any] = {
    # length
    "max_length": 20,
    "max_new_tokens": None,
    "min_length": 0,
    "min_new_tokens": None,
    "early_stopping": False,
    "max_time": None,
    "stop_strings": None,
    # strategy
    "do_sample": False,
    "num_beams": 1,
    "num_beam_groups": 1,
    "penalty_alpha": None,
    "dola_layers": None,
    # cache
    "use_cache": True,
    "cache_implementation": None,
    "cache_config": None,
    "return_legacy_cache": None,
    # logits manipulation
    "temperature": 1.0,
    "top_k": 50,
    "top_p": 1.0,
    "min_p": None,
    "typical_p": 1.0,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    "diversity_penalty": 0.0,
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "force_words_ids": None,
    "constraints": None,
    "renormalize_logits": False,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "remove_invalid_values": False,
    "exponential_decay_length_penalty": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "sequence_bias": None,
    "guidance_scale": None,
    "watermarking_config": None,
    # outputs
    "num_return_sequences": 1,
    "output_attentions": False,
    "output_hidden_states": False,
    "output_scores": False,
    "output_logits": None,
    "return_dict_in_generate": False,
    # special tokens
    "pad_token_id": None,
    "bos_token_id": None,
    "eos_token_id": None,
    "encoder_no_repeat_ngram_size": 0,
    "decoder_start_token_id": None,
}

# fields `generate()` implements only at their default value (set otherwise: a clear NotImplementedError)
UNSUPPORTED = ("stop_strings", "penalty_alpha", "dola_layers", "typical_p", "epsilon_cutoff", "eta_cutoff",
               "diversity_penalty", "encoder_repetition_penalty", "force_words_ids", "constraints",
               "exponential_decay_length_penalty", "sequence_bias", "guidance_scale", "watermarking_config",
               "encoder_no_repeat_ngram_size", "cache_implementation")

# model-config attributes a v4 model config may carry for generation (copied by `from_model_config`)
MODEL_CONFIG_FIELDS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id", "max_length",
                       "min_length", "do_sample", "early_stopping", "num_beams", "temperature", "top_k", "top_p",
                       "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
                       "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
                       "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values", "suppress_tokens",
                       "begin_suppress_tokens")

# `generate()` arguments that people put in the config by mistake (v4 refuses them too)
GENERATE_ARGUMENTS = ("logits_processor", "stopping_criteria", "prefix_allowed_tokens_fn", "synced_gpus",
                      "assistant_model", "streamer", "negative_prompt_ids", "negative_prompt_attention_mask")
_WARNED: set[str] = set()
_METADATA = ("_from_model_config", "_commit_hash", "_original_object_hash", "transformers_version",
             "pretrained_version")


class GenerationMode(str, Enum):
    """The decoding strategy a config selects (v4's names)."""

    GREEDY_SEARCH = "greedy_search"
    SAMPLE = "sample"
    BEAM_SEARCH = "beam_search"
    BEAM_SAMPLE = "beam_sample"


class GenerationConfig(PushToHubMixin):
    """The parameters of `generate()`: transformers v4's fields and defaults (see `DEFAULTS`).

    Length: `max_length` (20: prompt + new tokens), `max_new_tokens` (takes precedence), `min_length`,
    `min_new_tokens`, `early_stopping` (True / False / "never", beam search), `max_time` (PyTorch). Strategy:
    `do_sample`, `num_beams`. Logits: `temperature`, `top_k`, `top_p`, `min_p`, `repetition_penalty`,
    `length_penalty`, `no_repeat_ngram_size`, `bad_words_ids`, `forced_bos_token_id`, `forced_eos_token_id`,
    `suppress_tokens`, `begin_suppress_tokens`, `renormalize_logits`, `remove_invalid_values`. Outputs:
    `num_return_sequences`, `output_scores`, `output_logits`, `output_attentions`, `output_hidden_states`,
    `return_dict_in_generate`. Tokens: `pad_token_id`, `bos_token_id`, `eos_token_id` (an int or a list).

    Example:
        >>> import tempfile
        >>> from pretrained.generation import GenerationConfig
        >>> directory = tempfile.mkdtemp()
        >>> GenerationConfig(do_sample=True, top_k=10, eos_token_id=2).save_pretrained(directory)
        >>> loaded = GenerationConfig.from_pretrained(directory)
        >>> loaded.top_k, loaded.eos_token_id, loaded.get_generation_mode().value
        (10, 2, 'sample')
    """

    def __init__(self, **kwargs: Any) -> None:
        for name, default in DEFAULTS.items():
            setattr(self, name, copy.deepcopy(kwargs.pop(name, default)))
        self._from_model_config = bool(kwargs.pop("_from_model_config", False))
        self._commit_hash = kwargs.pop("_commit_hash", None)
        self.transformers_version = kwargs.pop("transformers_version", None)
        kwargs.pop("pretrained_version", None)
        if not self._from_model_config:
            for key, value in kwargs.items():  # v4: unknown keys are kept as attributes (and saved)
                setattr(self, key, value)
        self.validate()

    # ------------------------------------------------------------------------------------------ checks
    def get_generation_mode(self) -> GenerationMode:
        """`GREEDY_SEARCH`, `SAMPLE`, `BEAM_SEARCH` or `BEAM_SAMPLE` (from `num_beams` and `do_sample`)."""
        if self.num_beams == 1:
            return GenerationMode.SAMPLE if self.do_sample else GenerationMode.GREEDY_SEARCH
        return GenerationMode.BEAM_SAMPLE if self.do_sample else GenerationMode.BEAM_SEARCH

    def validate(self, strict: bool = False) -> None:
        """Raise `ConfigError` for values `generate()` could not use; warn (or raise with `strict=True`) for flags
        the chosen strategy ignores (e.g. `temperature` without `do_sample`), as transformers v4 does.

        Example:
            >>> from pretrained.generation import GenerationConfig
            >>> GenerationConfig(num_beams=2, num_return_sequences=3)
            Traceback (most recent call last):
            ...
            pretrained.errors.ConfigError: `num_return_sequences` (3) has to be smaller or equal to `num_beams` (2).
        """
        for name in GENERATE_ARGUMENTS:
            if name in self.__dict__:
                raise ConfigError(f"Argument `{name}` is not a valid argument of `GenerationConfig`. It should be "
                                  "passed to `generate()` directly.")
        _check_values(self)
        issues = _ignored_flags(self)
        if issues and strict:
            raise ConfigError("GenerationConfig is invalid: \n" + "\n".join(f"- {i}" for i in issues))
        if issues and str(issues) not in _WARNED:  # once per distinct message, as v4's `warning_once`
            _WARNED.add(str(issues))
            logger.warning("The following generation flags are not valid and may be ignored: %s", issues)

    # ------------------------------------------------------------------------------------------ dicts and JSON
    def to_dict(self) -> dict[str, Any]:
        """Every attribute (private bookkeeping left out), with the `pretrained_version` stamp.

        Example:
            >>> from pretrained.generation import GenerationConfig
            >>> GenerationConfig(num_beams=3).to_dict()["num_beams"]
            3
        """
        output = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if not k.startswith("_")}
        output.pop("transformers_version", None)
        output["pretrained_version"] = __version__
        return output

    def to_diff_dict(self) -> dict[str, Any]:
        """Only the values that differ from `GenerationConfig()` (plus the version stamp).

        Example:
            >>> from pretrained.generation import GenerationConfig
            >>> sorted(GenerationConfig(top_k=5).to_diff_dict())
            ['pretrained_version', 'top_k']
        """
        defaults = GenerationConfig().to_dict()
        return {k: v for k, v in self.to_dict().items()
                if k == "pretrained_version" or k not in defaults or defaults[k] != v}

    def to_json_string(self, use_diff: bool = True, ignore_metadata: bool = False) -> str:
        """JSON text (sorted keys, indent 2) of `to_diff_dict()` (`use_diff=True`) or `to_dict()`.

        Example:
            >>> from pretrained.generation import GenerationConfig
            >>> print(GenerationConfig(do_sample=True).to_json_string(ignore_metadata=True))
            {
              "do_sample": true
            }
        """
        payload = self.to_diff_dict() if use_diff else self.to_dict()
        if ignore_metadata:
            payload = {k: v for k, v in payload.items() if k not in _METADATA}
        try:
            return json.dumps(payload, indent=2, sort_keys=True) + "\n"
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"GenerationConfig holds a value that cannot be saved as JSON: {exc}") from exc

    def to_json_file(self, json_file_path: str | os.PathLike, use_diff: bool = True) -> None:
        """Write `to_json_string(use_diff)` to `json_file_path` (atomically)."""
        write_json_atomic(json_file_path, json.loads(self.to_json_string(use_diff=use_diff)))

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any) -> GenerationConfig:
        """A config from a dict; `kwargs` override (with `return_unused_kwargs=True`, returns
        `(config, unused kwargs)`).

        Example:
            >>> from pretrained.generation import GenerationConfig
            >>> GenerationConfig.from_dict({"num_beams": 4}, num_beams=2, foo=1, return_unused_kwargs=True)[1]
            {'foo': 1}
        """
        return_unused = kwargs.pop("return_unused_kwargs", False)
        if not isinstance(config_dict, dict):
            raise ConfigError(f"a generation config must be a JSON object, got {type(config_dict).__name__}")
        config = cls(**{**config_dict, **{k: v for k, v in kwargs.items() if k in DEFAULTS}})
        unused = {k: v for k, v in kwargs.items() if k not in DEFAULTS}
        return (config, unused) if return_unused else config

    @classmethod
    def from_model_config(cls, model_config: Any) -> GenerationConfig:
        """The generation config a model config implies (its special tokens and any v4 legacy generation values).

        Example:
            >>> from pretrained import PretrainedConfig
            >>> from pretrained.generation import GenerationConfig
            >>> GenerationConfig.from_model_config(PretrainedConfig(eos_token_id=7)).eos_token_id
            7
        """
        values = {}
        for name in MODEL_CONFIG_FIELDS:
            value = getattr(model_config, name, None)
            if value is not None and value != DEFAULTS.get(name):
                values[name] = value
        decoder = getattr(model_config, "get_text_config", lambda **_: model_config)(decoder=True)
        for name in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id"):
            if values.get(name) is None and getattr(decoder, name, None) is not None:
                values[name] = getattr(decoder, name)
        return cls(**values, _from_model_config=True)

    def update(self, **kwargs: Any) -> dict[str, Any]:
        """Set the attributes named in `kwargs` that this config has, validate, and return the others.

        Example:
            >>> from pretrained.generation import GenerationConfig
            >>> config = GenerationConfig()
            >>> config.update(max_new_tokens=5, attention_mask=None), config.max_new_tokens
            ({'attention_mask': None}, 5)
        """
        unused = {}
        for key, value in kwargs.items():
            if hasattr(self, key) and not key.startswith("_"):
                setattr(self, key, value)
            else:
                unused[key] = value
        self.validate()
        return unused

    # ------------------------------------------------------------------------------------------ files
    def save_pretrained(self, save_directory: str | os.PathLike, config_file_name: str | None = None,
                        push_to_hub: bool = False, **kwargs: Any) -> None:
        """Write `generation_config.json` (or `config_file_name`) into `save_directory`; optionally push it.

        Example:
            >>> import os, tempfile
            >>> from pretrained.generation import GenerationConfig
            >>> directory = tempfile.mkdtemp()
            >>> GenerationConfig(max_new_tokens=4).save_pretrained(directory)
            >>> os.listdir(directory)
            ['generation_config.json']
        """
        self.validate(strict=False)
        directory = Path(save_directory)
        if directory.is_file():
            raise ConfigError(f"{directory}: save_pretrained expects a directory, found a file")
        directory.mkdir(parents=True, exist_ok=True)
        self.to_json_file(directory / (config_file_name or GENERATION_CONFIG_NAME))
        if push_to_hub:
            repo_id = kwargs.pop("repo_id", None) or directory.name
            self.push_to_hub(repo_id, **kwargs)

    def _save_for_push(self, save_directory: Path, **kwargs: Any) -> None:
        self.save_pretrained(save_directory)

    @classmethod
    def from_pretrained(cls, pretrained_model_name: str | os.PathLike, config_file_name: str | None = None,
                        **kwargs: Any) -> GenerationConfig:
        """Load `generation_config.json` from a directory, a file or a Hub repo id (hub options: `revision`,
        `cache_dir`, `local_files_only`, `token`, `subfolder`, `force_download`); other kwargs override values.
        A missing file is an `OSError` (`CheckpointError` / `HubError`).

        Example:
            >>> import tempfile
            >>> from pretrained.generation import GenerationConfig
            >>> directory = tempfile.mkdtemp()
            >>> GenerationConfig(num_beams=3).save_pretrained(directory)
            >>> GenerationConfig.from_pretrained(directory, num_beams=2).num_beams
            2
        """
        hub = {k: kwargs.pop(k) for k in ("revision", "cache_dir", "local_files_only", "token", "subfolder",
                                          "force_download") if k in kwargs}
        for ignored in ("_from_auto", "_from_pipeline", "proxies", "resume_download", "trust_remote_code"):
            kwargs.pop(ignored, None)
        source = Path(pretrained_model_name)
        path = source if source.is_file() else resolve_file(pretrained_model_name,
                                                            config_file_name or GENERATION_CONFIG_NAME, **hub)
        try:
            return cls.from_dict(read_config_file(path), **kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{path}: invalid generation config: {exc}") from exc

    # ------------------------------------------------------------------------------------------ comparisons
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenerationConfig):
            return False
        return (self.to_json_string(use_diff=False, ignore_metadata=True)
                == other.to_json_string(use_diff=False, ignore_metadata=True))

    def __hash__(self) -> int:
        return hash(self.to_json_string(ignore_metadata=True))

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.to_json_string(ignore_metadata=True)}"


# ---------------------------------------------------------------------------------------------- value checks
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def token_list(value: Any, name: str) -> list[int] | None:
    """`eos_token_id` as a list of ints (an int, a list of ints, or None)."""
    if value is None:
        return None
    values = [value] if _is_int(value) else value
    if not isinstance(values, (list, tuple)) or not values or not all(_is_int(v) for v in values):
        raise ConfigError(f"`{name}` has to be an int or a non-empty list of ints, but is {value!r}.")
    return list(values)


def _check_values(config: GenerationConfig) -> None:
    def fail(message: str) -> None:
        raise ConfigError(message)

    if config.early_stopping not in (True, False, "never"):
        fail(f"`early_stopping` must be a boolean or 'never', but is {config.early_stopping}.")
    if not isinstance(config.do_sample, bool):
        fail(f"`do_sample` has to be a boolean, but is {config.do_sample!r}.")
    if not _is_int(config.num_beams) or config.num_beams < 1:
        fail(f"`num_beams` has to be an integer >= 1, but is {config.num_beams!r}.")
    if not _is_int(config.num_return_sequences) or config.num_return_sequences < 1:
        fail(f"`num_return_sequences` has to be an integer >= 1, but is {config.num_return_sequences!r}.")
    if config.max_new_tokens is not None and (not _is_int(config.max_new_tokens) or config.max_new_tokens <= 0):
        fail(f"`max_new_tokens` must be greater than 0, but is {config.max_new_tokens}.")
    if config.max_length is not None and (not _is_int(config.max_length) or config.max_length < 1):
        fail(f"`max_length` has to be a positive integer, but is {config.max_length!r}.")
    for name in ("min_length", "min_new_tokens", "no_repeat_ngram_size", "top_k"):
        value = getattr(config, name)
        if value is not None and (not _is_int(value) or value < 0):
            fail(f"`{name}` has to be a non-negative integer, but is {value!r}.")
    if config.temperature is not None:
        if not _is_number(config.temperature) or config.temperature < 0:
            fail(f"`temperature` has to be a non-negative float, but is {config.temperature!r}.")
        if config.do_sample and config.temperature == 0:
            fail("`temperature` (=0.0) has to be a strictly positive float when sampling, otherwise the next token "
                 "scores are invalid. For greedy decoding, set `do_sample=False`.")
    if config.top_p is not None and (not _is_number(config.top_p) or not 0 < config.top_p <= 1):
        fail(f"`top_p` has to be a float in (0, 1], but is {config.top_p!r}.")
    if config.min_p is not None and (not _is_number(config.min_p) or not 0 <= config.min_p <= 1):
        fail(f"`min_p` has to be a float in [0, 1], but is {config.min_p!r}.")
    if not _is_number(config.repetition_penalty) or config.repetition_penalty <= 0:
        fail(f"`repetition_penalty` has to be a strictly positive float, but is {config.repetition_penalty!r}.")
    if not _is_number(config.length_penalty):
        fail(f"`length_penalty` has to be a float, but is {config.length_penalty!r}.")
    if config.max_time is not None and (not _is_number(config.max_time) or config.max_time <= 0):
        fail(f"`max_time` has to be a positive number of seconds, but is {config.max_time!r}.")
    if config.num_return_sequences != 1:
        if config.num_beams == 1 and not config.do_sample:
            fail("Greedy methods without beam search do not support `num_return_sequences` different than 1 "
                 f"(got {config.num_return_sequences}).")
        if config.num_beams > 1 and config.num_return_sequences > config.num_beams:
            fail(f"`num_return_sequences` ({config.num_return_sequences}) has to be smaller or equal to "
                 f"`num_beams` ({config.num_beams}).")
    for name in ("pad_token_id", "bos_token_id", "decoder_start_token_id", "forced_bos_token_id"):
        value = getattr(config, name)
        if value is not None and not _is_int(value):
            fail(f"`{name}` has to be an int, but is {value!r}.")
    token_list(config.eos_token_id, "eos_token_id")
    token_list(config.forced_eos_token_id, "forced_eos_token_id")
    _check_token_lists(config.bad_words_ids, "bad_words_ids", nested=True)
    _check_token_lists(config.suppress_tokens, "suppress_tokens", nested=False)
    _check_token_lists(config.begin_suppress_tokens, "begin_suppress_tokens", nested=False)


def _check_token_lists(value: Any, name: str, *, nested: bool) -> None:
    if value is None:
        return
    if not isinstance(value, (list, tuple)) or (nested and not value):
        fail = f"`{name}` has to be a {'non-empty list of lists' if nested else 'list'} of token ids, but is {value!r}."
        raise ConfigError(fail)
    items = value if nested else [value]
    for item in items:
        if (not isinstance(item, (list, tuple)) or (nested and not item)
                or not all(_is_int(t) and t >= 0 for t in item)):
            raise ConfigError(f"Each list in `{name}` has to be a non-empty list of non-negative integers, but "
                              f"found {item!r}." if nested else
                              f"`{name}` has to be a list of non-negative integers, but is {value!r}.")


def _ignored_flags(config: GenerationConfig) -> list[str]:
    issues = []
    if not config.do_sample:
        for name, default in (("temperature", 1.0), ("top_p", 1.0), ("top_k", 50), ("min_p", None)):
            value = getattr(config, name)
            if value is not None and value != default:
                issues.append(f"`do_sample` is set to `False`. However, `{name}` is set to `{value}` -- this flag is "
                              f"only used in sample-based generation modes. Set `do_sample=True` or unset `{name}`.")
    if config.num_beams == 1:
        for name, default in (("early_stopping", False), ("length_penalty", 1.0)):
            if getattr(config, name) != default:
                issues.append(f"`num_beams` is set to 1. However, `{name}` is set to `{getattr(config, name)}` -- "
                              f"this flag is only used in beam-based generation modes.")
    if config.return_dict_in_generate is not True:
        for name in ("output_attentions", "output_hidden_states", "output_scores", "output_logits"):
            if getattr(config, name) is True:
                issues.append(f"`return_dict_in_generate` is NOT set to `True`, but `{name}` is. When "
                              f"`return_dict_in_generate` is not `True`, `{name}` is ignored.")
    return issues
