"""`GenerationMixinBase`: the framework-free half of `GenerationMixin` (PyTorch), `TFGenerationMixin` and
`FlaxGenerationMixin`.

It owns `generate()` once: merge the generation config, plan (validate, lengths, processors, criteria), infer the
attention mask, expand for beams, run the decoding loop of [`pretrained.generation.decoding`], assemble the output.
It also owns the model's `generation_config` (derived from the model config until one is set or loaded),
`can_generate()`, loading `generation_config.json` in `from_pretrained`, and the file `save_pretrained` adds.

A backend mixin supplies `_generation_ops` (an [`ArrayOps`][pretrained.generation.ops.ArrayOps]) and the hooks
`_generation_inputs`, `_generation_model_kwargs`, `_generation_forward`, `_reorder_cache` and `_run_decoding`.

Example:
    >>> from pretrained.generation.utils import GenerationMixinBase
    >>> sorted(name for name in vars(GenerationMixinBase) if name.startswith("_generation_"))
    ['_generation_backend', '_generation_forward', '_generation_inputs', '_generation_model_kwargs']
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, ClassVar

from ..errors import PretrainedError
from ..hub import HUB_OPTIONS
from ..utils import logging
from .configuration_utils import GENERATION_CONFIG_NAME, GenerationConfig
from .decoding import DecodeSpec, beam_outputs, beam_search, greedy_or_sample
from .logits_process import LogitsProcessor
from .ops import ArrayOps
from .outputs import GenerateBeamDecoderOnlyOutput, GenerateDecoderOnlyOutput
from .planning import UNSUPPORTED_ARGUMENTS, GenerationPlan, plan_generation, prepare_generation_config
from .stopping_criteria import StoppingCriteria

logger = logging.get_logger(__name__)


class GenerationMixinBase:
    """What every backend's generation mixin shares; see the module docstring."""

    _is_generation_mixin: ClassVar[bool] = False  # True on the public mixins (GenerationMixin, ...)
    _generation_ops: ClassVar[ArrayOps]
    _generation_backend: ClassVar[str] = "torch"
    _forward_method_name: ClassVar[str] = "forward"  # the model's forward pass: `call` in TF, `__call__` in Flax

    # ------------------------------------------------------------------------------------------ config
    @property
    def generation_config(self) -> GenerationConfig | None:
        """The defaults `generate()` starts from: loaded from `generation_config.json` by `from_pretrained`, else
        derived from the model config (`GenerationConfig.from_model_config`); None for models that cannot generate.
        """
        holder = self.__dict__.get("_generation_config_holder")
        config = None if holder is None else holder.value
        if config is None and self.can_generate():
            config = GenerationConfig.from_model_config(self.config)
            self._set_generation_config(config)
        return config

    @generation_config.setter
    def generation_config(self, value: GenerationConfig | None) -> None:
        if value is not None and not isinstance(value, GenerationConfig):
            raise TypeError(f"generation_config must be a GenerationConfig, got {type(value).__name__}")
        self._set_generation_config(value)

    def _set_generation_config(self, value: GenerationConfig | None) -> None:
        # a holder hashed by identity, outside the frameworks' attribute tracking (NNX keeps it as static data)
        object.__setattr__(self, "_generation_config_holder", _Holder(value))

    @classmethod
    def can_generate(cls) -> bool:
        """True when the class (below its backend base class) lists a generation mixin among its bases or defines
        `prepare_inputs_for_generation` / `generate` itself (transformers v4.45+'s rule).

        Example:
            >>> from pretrained.models.gpt2 import GPT2LMHeadModel, GPT2Model
            >>> GPT2LMHeadModel.can_generate(), GPT2Model.can_generate()
            (True, False)
        """
        for klass in cls.__mro__:
            if _is_framework_base(klass):
                return False
            if any(vars(base).get("_is_generation_mixin") for base in klass.__bases__):
                return True
            if "prepare_inputs_for_generation" in vars(klass) or "generate" in vars(klass):
                return True
        return False

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike | None, *model_args: Any,
                        **kwargs: Any) -> Any:
        """The pipeline's `from_pretrained`, then the checkpoint's `generation_config.json` (or the
        `generation_config=` passed; derived from the model config when the file is absent, as in v4)."""
        generation_config = kwargs.pop("generation_config", None)
        hub = {k: kwargs[k] for k in HUB_OPTIONS if k in kwargs}
        result = super().from_pretrained(pretrained_model_name_or_path, *model_args, **kwargs)  # type: ignore[misc]
        model = result[0] if isinstance(result, tuple) else result
        if cls.can_generate():
            if generation_config is None and pretrained_model_name_or_path is not None:
                generation_config = _load_generation_config(pretrained_model_name_or_path, hub)
            model.generation_config = generation_config
        return result

    def _extra_save_files(self) -> dict[str, bytes]:
        """Files `save_pretrained` writes beside the weights: `generation_config.json` for models that generate."""
        if not self.can_generate() or self.generation_config is None:
            return {}
        return {GENERATION_CONFIG_NAME: self.generation_config.to_json_string().encode("utf-8")}

    # ------------------------------------------------------------------------------------------ generate
    def _generate(self, inputs: Any = None, generation_config: GenerationConfig | None = None,
                  logits_processor: Any = None, stopping_criteria: Any = None, streamer: Any = None,
                  rng: Any = None, **kwargs: Any) -> Any:
        """The body of every backend's `generate()` (which documents the arguments)."""
        if not self.can_generate():
            raise TypeError(
                f"The current model class ({type(self).__name__}) is not compatible with `.generate()`, as it doesn't "
                "have a language model head. Use a class with one (e.g. `*ForCausalLM`), or add a generation "
                "mixin to your model's bases.")
        for name in UNSUPPORTED_ARGUMENTS:
            if kwargs.pop(name, None) is not None:
                raise NotImplementedError(f"`{name}` is not supported by pretrained's generate().")
        _check_user_objects(logits_processor, LogitsProcessor, "logits_processor")
        _check_user_objects(stopping_criteria, StoppingCriteria, "stopping_criteria")
        config, model_kwargs = prepare_generation_config(self.generation_config, generation_config, kwargs)
        xp = self._generation_ops
        input_ids, model_kwargs = self._generation_inputs(inputs, model_kwargs)
        batch, prompt = xp.shape(input_ids)
        plan = plan_generation(config, self.config, batch_size=batch, prompt_length=prompt,
                               logits_processor=logits_processor, stopping_criteria=stopping_criteria,
                               streamer=streamer, backend=self._generation_backend)
        spec = plan.spec
        if model_kwargs.get("attention_mask") is None:
            model_kwargs["attention_mask"] = _infer_attention_mask(xp, input_ids, spec)
        if plan.expand > 1:
            input_ids = xp.repeat(input_ids, plan.expand)
            model_kwargs = {k: xp.repeat(v, plan.expand) if _is_batched(xp, v, batch) else v
                            for k, v in model_kwargs.items()}
        if streamer is not None:
            streamer.put(input_ids)
        extras: dict[str, Any] = {}
        processors, criteria = _bind_processors(xp, plan.processors), _bind_criteria(xp, plan.criteria)

        def run(model: Any, ids: Any, kwargs: dict[str, Any], key: Any) -> dict:
            kwargs = model._generation_model_kwargs(ids, spec, kwargs)
            forward = model._generation_forward(spec, extras)
            if spec.num_beams > 1:
                return beam_search(xp, spec, ids, kwargs, forward, processors, criteria,
                                   lambda kw, beam_idx: _reordered(model, kw, beam_idx), rng=key)
            return greedy_or_sample(xp, spec, ids, kwargs, forward, processors, criteria, rng=key,
                                    streamer=None if streamer is None else streamer.put)

        state = self._run_decoding(run, plan, input_ids, model_kwargs, rng)
        if streamer is not None:
            streamer.end()
        return _assemble(xp, plan, state, extras)

    # ------------------------------------------------------------------------------------------ backend hooks
    def _generation_inputs(self, inputs: Any, model_kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """`(input_ids, model_kwargs)` as the backend's tensors (`inputs`, or `input_ids=` in the kwargs)."""
        raise NotImplementedError

    def _generation_model_kwargs(self, input_ids: Any, spec: DecodeSpec, model_kwargs: dict[str, Any]
                                 ) -> dict[str, Any]:
        """The model kwargs the loop starts from (the cache, masks, positions)."""
        raise NotImplementedError

    def _generation_forward(self, spec: DecodeSpec, extras: dict[str, Any]) -> Callable[..., Any]:
        """`forward(sequences, cur_len, model_kwargs, first) -> (logits, model_kwargs)` for the loop."""
        raise NotImplementedError

    def _run_decoding(self, run: Callable[..., dict], plan: GenerationPlan, input_ids: Any,
                      model_kwargs: dict[str, Any], rng: Any) -> dict:
        """Call `run(self, input_ids, model_kwargs, rng)` (Flax compiles it)."""
        return run(self, input_ids, model_kwargs, rng)

    def _forward_parameters(self) -> frozenset[str]:
        """The keyword names the model's forward pass accepts (`"**"` when it takes `**kwargs`)."""
        return _keyword_names(getattr(type(self), self._forward_method_name))

    def _forward_options(self) -> dict[str, Any]:
        """What every forward pass of the loop adds: `return_dict=True` where the model takes it (as v4), so a
        `config.return_dict=False` does not turn the outputs the loop reads into tuples."""
        return {"return_dict": True} if "return_dict" in self._forward_parameters() else {}


@functools.cache
def _keyword_names(function: Callable[..., Any]) -> frozenset[str]:
    parameters = inspect.signature(function).parameters.values()
    names = {p.name for p in parameters if p.kind is not p.VAR_KEYWORD}
    return frozenset(names | {"**"} if any(p.kind is p.VAR_KEYWORD for p in parameters) else names)


class _Holder:
    """A value kept on a model as one opaque attribute (compared and hashed by identity)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _is_framework_base(klass: type) -> bool:
    """The backend base classes (`PreTrainedModel`, ...) and the mixins themselves end the `can_generate` search."""
    module = getattr(klass, "__module__", "") or ""
    return klass is GenerationMixinBase or "_is_generation_mixin" in vars(klass) or (
        module.startswith("pretrained.") and module.rsplit(".", 1)[-1] in ("modeling", "_base"))


def _reordered(model: Any, model_kwargs: dict[str, Any], beam_idx: Any) -> dict[str, Any]:
    past = model_kwargs.get("past_key_values")
    if past is None:
        return model_kwargs
    return {**model_kwargs, "past_key_values": model._reorder_cache(past, beam_idx)}


def _load_generation_config(name: str | os.PathLike, hub: dict[str, Any]) -> GenerationConfig | None:
    try:
        return GenerationConfig.from_pretrained(name, **hub)
    except (OSError, PretrainedError) as exc:
        if isinstance(exc, ValueError):  # an invalid file: say so, but keep the model usable
            logger.warning("%s; using a generation config derived from the model config", exc)
        else:
            logger.info("no %s for %s: using a generation config derived from the model config",
                        GENERATION_CONFIG_NAME, name)
        return None


def _check_user_objects(objects: Any, base: type, name: str) -> None:
    if objects is None:
        return
    for item in objects:
        if not callable(item):
            raise TypeError(f"`{name}` must hold callables ({base.__name__} instances), got {type(item).__name__}")


def _builtin(item: Any) -> bool:
    """A built-in processor / criterion (its arithmetic is `apply`, run directly on the loop's buffer)."""
    kind = type(item)
    return any(kind.__call__ is base.__call__ and kind.apply is not base.apply
               for base in (LogitsProcessor, StoppingCriteria))


def _adapt(xp: ArrayOps, item: Any) -> Callable[[Any, Any, Any], Any]:
    """`item` as `(sequences, cur_len, value) -> result`; the user's objects get v4's signature of the backend:
    `(input_ids, scores)` in PyTorch, `(input_ids, scores, cur_len)` in TensorFlow / Flax."""
    if _builtin(item):
        return lambda ids, cur_len, value: item.apply(xp, ids, value, cur_len)
    if xp.static:
        return lambda ids, cur_len, value: item(ids, value, cur_len)
    return lambda ids, cur_len, value: item(ids, value)


def _bind_processors(xp: ArrayOps, items: list[Any]) -> Callable[[Any, Any, Any], Any]:
    calls = [_adapt(xp, item) for item in items]

    def process(ids: Any, cur_len: Any, scores: Any) -> Any:
        view = ids if xp.static else ids[:, :cur_len]
        for call in calls:
            scores = call(view, cur_len, scores)
        return scores

    return process


def _bind_criteria(xp: ArrayOps, items: list[Any]) -> Callable[[Any, Any, Any], Any]:
    calls = [_adapt(xp, item) for item in items]

    def done(ids: Any, cur_len: Any, scores: Any) -> Any:
        view = ids if xp.static else ids[:, :cur_len]
        result = calls[0](view, cur_len, scores)
        for call in calls[1:]:
            result = result | call(view, cur_len, scores)
        return result

    return done


def _infer_attention_mask(xp: ArrayOps, input_ids: Any, spec: DecodeSpec) -> Any:
    """v4: `input_ids != pad` when the prompt contains the pad token and pad is not an end-of-sequence token, else
    ones."""
    ones = xp.full(xp.shape(input_ids), 1, "int")
    pad, eos = spec.pad_token_id, spec.eos_token_ids or ()
    if pad is None or pad in eos:
        return ones
    has_pad = xp.host_int(xp.cast(xp.any(input_ids == pad), "int"))
    if has_pad is None:  # tracing: decide with tensors
        return xp.where(xp.any(input_ids == pad), xp.cast(input_ids != pad, "int"), ones)
    return xp.cast(input_ids != pad, "int") if has_pad else ones


def _is_batched(xp: ArrayOps, value: Any, batch: int) -> bool:
    try:
        shape = xp.shape(value)
    except (TypeError, AttributeError, ValueError):
        return False
    return len(shape) >= 1 and shape[0] == batch


def _steps(xp: ArrayOps, record: Any, count: int | None) -> Any:
    if record is None or not xp.static:
        return record
    total = xp.shape(record)[1]
    return tuple(record[:, i] for i in range(total if count is None else count))


def _assemble(xp: ArrayOps, plan: GenerationPlan, state: dict, extras: dict[str, Any]) -> Any:
    """The result of `generate()`: sequences (cropped like v4 where the length is known), or an output object."""
    spec, config = plan.spec, plan.config
    if spec.num_beams > 1:
        sequences, sequence_scores, beam_indices = beam_outputs(xp, spec, state)
        generated = xp.host_int(xp.max(xp.sum(xp.cast(beam_indices != -1, "int"), axis=-1)))
        if generated is not None:
            sequences, beam_indices = sequences[:, :spec.prompt_length + generated], beam_indices[:, :generated]
        steps = xp.host_int(state["cur_len"])
        steps = None if steps is None else steps - spec.prompt_length
    else:
        steps = xp.host_int(state["cur_len"])
        sequences = state["sequences"] if steps is None else state["sequences"][:, :steps]
        steps = None if steps is None else steps - spec.prompt_length
    if not config.return_dict_in_generate:
        return sequences
    fields: dict[str, Any] = {"sequences": sequences}
    if spec.num_beams > 1 and spec.output_scores:
        fields["sequences_scores"] = sequence_scores
    if spec.output_scores:
        fields["scores"] = _steps(xp, state["scores"], steps)
    if spec.output_logits:
        fields["logits"] = _steps(xp, state["logits"], steps)
    if spec.num_beams > 1:
        fields["beam_indices"] = beam_indices
    fields.update({k: v for k, v in extras.items() if v is not None})
    past = state["model_kwargs"].get("past_key_values") if isinstance(state["model_kwargs"], dict) else None
    if past is not None:
        fields["past_key_values"] = past
    output_class = GenerateBeamDecoderOnlyOutput if spec.num_beams > 1 else GenerateDecoderOnlyOutput
    return output_class(**fields)


__all__ = ["GenerationMixinBase"]
