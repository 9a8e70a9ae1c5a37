"""`FlaxGenerationMixin`: `generate()` for Flax (NNX) models, compiled with `jax.jit` by default.

The algorithms are the framework-free ones of [`pretrained.generation`] (the same tokens as the PyTorch and
TensorFlow backends, beam search included: v4's own Flax beam search differed from its PyTorch one); this module
supplies JAX's tensor operations ([`JaxOps`][pretrained.flax.generation.JaxOps]). `generate()` compiles the whole
loop (`lax.while_loop` over fixed-shape state) once per model and setting, then reuses it; `trace=False` runs the
same steps op by op, for debugging (v4's flag).

Example:
    >>> import jax.numpy as jnp
    >>> from pretrained.models.gpt2 import GPT2Config, FlaxGPT2LMHeadModel
    >>> model = FlaxGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, n_positions=16))
    >>> model.generate(jnp.array([[1, 2, 3]]), max_new_tokens=4).sequences.shape
    (1, 7)
"""

from __future__ import annotations

import contextvars
import weakref
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from flax import nnx
from jax.experimental import io_callback

from ..generation import logits_process as _processors
from ..generation.configuration_utils import GenerationConfig
from ..generation.ops import ArrayOps, register_ops
from ..generation.planning import GenerationPlan
from ..generation.static import StaticCache, StaticGenerationMixin
from ..generation.stopping_criteria import StoppingCriteriaList

# transformers v4's Flax names of the processors (one implementation serves every backend)
FlaxLogitsProcessor = _processors.LogitsProcessor
FlaxLogitsProcessorList = _processors.LogitsProcessorList
FlaxLogitsWarper = _processors.LogitsWarper
FlaxTemperatureLogitsWarper = _processors.TemperatureLogitsWarper
FlaxTopKLogitsWarper = _processors.TopKLogitsWarper
FlaxTopPLogitsWarper = _processors.TopPLogitsWarper
FlaxMinLengthLogitsProcessor = _processors.MinLengthLogitsProcessor
FlaxNoBadWordsLogitsProcessor = _processors.NoBadWordsLogitsProcessor
FlaxNoRepeatNGramLogitsProcessor = _processors.NoRepeatNGramLogitsProcessor
FlaxRepetitionPenaltyLogitsProcessor = _processors.RepetitionPenaltyLogitsProcessor
FlaxForcedBOSTokenLogitsProcessor = _processors.ForcedBOSTokenLogitsProcessor
FlaxForcedEOSTokenLogitsProcessor = _processors.ForcedEOSTokenLogitsProcessor
FlaxSuppressTokensLogitsProcessor = _processors.SuppressTokensLogitsProcessor
FlaxSuppressTokensAtBeginLogitsProcessor = _processors.SuppressTokensAtBeginLogitsProcessor

_DTYPES = {"int": jnp.int32, "float": jnp.float32, "bool": jnp.bool_}


class JaxOps(ArrayOps):
    """[`ArrayOps`][pretrained.generation.ops.ArrayOps] for JAX: traceable under `jit` (`lax.while_loop`)."""

    static = True

    def asarray(self, value: Any, dtype: str) -> jax.Array:
        return jnp.asarray(value, dtype=_DTYPES[dtype])

    def full(self, shape: Sequence[int], value: Any, dtype: str) -> jax.Array:
        return jnp.full(tuple(shape), value, dtype=_DTYPES[dtype])

    def arange(self, n: int) -> jax.Array:
        return jnp.arange(n, dtype=jnp.int32)

    def scalar(self, value: int) -> jax.Array:
        return jnp.asarray(value, jnp.int32)

    def where(self, cond: Any, x: Any, y: Any) -> jax.Array:
        return jnp.where(cond, x, y)

    def cast(self, x: Any, dtype: str) -> jax.Array:
        return jnp.asarray(x).astype(_DTYPES[dtype])

    def shape(self, x: Any) -> tuple[int, ...]:
        return tuple(int(d) for d in jnp.shape(x))

    def reshape(self, x: Any, shape: Sequence[int]) -> jax.Array:
        return jnp.reshape(x, tuple(shape))

    def concat(self, xs: Sequence[Any], axis: int) -> jax.Array:
        return jnp.concatenate(list(xs), axis=axis)

    def repeat(self, x: Any, repeats: int) -> jax.Array:
        return jnp.repeat(x, repeats, axis=0)

    def any(self, x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
        return jnp.any(x, axis=axis, keepdims=keepdims)

    def all(self, x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
        return jnp.all(x, axis=axis, keepdims=keepdims)

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
        return jnp.sum(x, axis=axis, keepdims=keepdims)

    def max(self, x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
        return jnp.max(x, axis=axis, keepdims=keepdims)

    def min(self, x: Any, axis: int | None = None, keepdims: bool = False) -> jax.Array:
        return jnp.min(x, axis=axis, keepdims=keepdims)

    def argmax(self, x: Any) -> jax.Array:
        return jnp.argmax(x, axis=-1).astype(jnp.int32)

    def softmax(self, x: Any) -> jax.Array:
        return jax.nn.softmax(x, axis=-1)

    def log_softmax(self, x: Any) -> jax.Array:
        return jax.nn.log_softmax(x, axis=-1)

    def cumsum(self, x: Any) -> jax.Array:
        return jnp.cumsum(x, axis=-1)

    def topk(self, x: Any, k: int) -> tuple[jax.Array, jax.Array]:
        values, indices = jax.lax.top_k(x, k)
        return values, indices

    def sort(self, x: Any) -> tuple[jax.Array, jax.Array]:
        order = jnp.argsort(x, axis=-1, stable=True)
        return jnp.take_along_axis(x, order, axis=-1), order

    def take_along_axis(self, x: Any, indices: Any) -> jax.Array:
        return jnp.take_along_axis(x, indices, axis=-1)

    def take(self, x: Any, indices: Any, axis: int) -> jax.Array:
        return jnp.take(x, indices, axis=axis)

    def gather_beams(self, x: Any, indices: Any) -> jax.Array:
        return x[jnp.arange(x.shape[0])[:, None], indices]

    def token_presence(self, ids: Any, valid: Any, vocab_size: int) -> jax.Array:
        rows = jnp.arange(ids.shape[0])[:, None]
        counts = jnp.zeros((ids.shape[0], vocab_size), jnp.int32)
        return counts.at[rows, jnp.clip(ids, 0, vocab_size - 1)].add(valid.astype(jnp.int32)) > 0

    def update_step(self, buffer: Any, step: Any, value: Any) -> jax.Array:
        return jax.lax.dynamic_update_slice(buffer, value[:, None].astype(buffer.dtype), (0, step, 0))

    def while_loop(self, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
        return jax.lax.while_loop(cond, body, state)

    def sample(self, rng: Any, logits: Any, num_samples: int) -> tuple[Any, jax.Array]:
        rng, key = jax.random.split(rng)
        if num_samples == 1:
            return rng, jax.random.categorical(key, logits, axis=-1)[:, None].astype(jnp.int32)
        gumbel = jax.random.gumbel(key, logits.shape, logits.dtype)  # Gumbel top-k: without replacement
        return rng, jax.lax.top_k(logits + gumbel, num_samples)[1]

    def callback(self, fn: Callable[[Any], None], value: Any) -> None:
        io_callback(lambda v: fn(v), None, value, ordered=True)

    def host_int(self, value: Any) -> int | None:
        return None if isinstance(value, jax.core.Tracer) else int(value)


class EagerJaxOps(JaxOps):
    """`JaxOps` with a Python loop (`generate(trace=False)`): every op runs eagerly, for debugging."""

    def while_loop(self, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
        while bool(cond(state)):
            state = body(state)
        return state

    def callback(self, fn: Callable[[Any], None], value: Any) -> None:
        fn(value)


_TRACED, _EAGER = JaxOps(), EagerJaxOps()
register_ops("pretrained.flax.generation", _TRACED)
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {setting key: compiled function}
_RUN_EAGERLY = contextvars.ContextVar("pretrained_flax_generate_eagerly", default=False)


class FlaxGenerationMixin(StaticGenerationMixin):
    """`generate()` for Flax NNX models (mixed into `FlaxPreTrainedModel`; a model generates when it lists
    `FlaxGenerationMixin` among its bases or defines `prepare_inputs_for_generation`). A model with a cache implements
    `init_cache(batch_size, max_length)` -> [`StaticCache`][pretrained.generation.static.StaticCache] and accepts
    `past_key_values`, `attention_mask` (max_length wide) and `position_ids` in `__call__`."""

    _is_generation_mixin: ClassVar[bool] = True
    _generation_backend: ClassVar[str] = "flax"
    _forward_method_name: ClassVar[str] = "__call__"

    @property
    def _generation_ops(self) -> JaxOps:
        return _EAGER if _RUN_EAGERLY.get() else _TRACED

    def generate(self, input_ids: Any = None, generation_config: GenerationConfig | None = None,
                 prng_key: jax.Array | None = None, trace: bool = True, params: Any = None,
                 logits_processor: FlaxLogitsProcessorList | None = None,
                 stopping_criteria: StoppingCriteriaList | None = None, streamer: Any = None, **kwargs: Any) -> Any:
        """Generate token ids after `input_ids` (batch, prompt length; left-padded, with `attention_mask=`).

        The keyword arguments are PyTorch's (see `GenerationMixin.generate`); `prng_key` seeds sampling (default
        `jax.random.PRNGKey(0)`, as v4). Returns a `GenerateDecoderOnlyOutput` / `GenerateBeamDecoderOnlyOutput`
        (v4's Flax `generate` always returned an output object; `.sequences` holds the tokens), cropped like
        PyTorch's. Your logits processors and stopping criteria are traced into the compiled loop and called as
        `(input_ids, scores, cur_len)` with the (rows, max_length) buffer (v4's Flax convention).

        Example:
            >>> import jax.numpy as jnp
            >>> from pretrained.models.gpt2 import GPT2Config, FlaxGPT2LMHeadModel
            >>> model = FlaxGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, n_positions=16))
            >>> out = model.generate(jnp.array([[1, 2, 3]]), max_new_tokens=3, num_beams=2, num_return_sequences=2)
            >>> out.sequences.shape
            (2, 6)
        """
        if params is not None:
            raise NotImplementedError("NNX models hold their parameters: set `model.params = params` first")
        kwargs.setdefault("return_dict_in_generate", True)
        token = _RUN_EAGERLY.set(not trace)
        try:
            return self._generate(input_ids, generation_config, logits_processor, stopping_criteria, streamer,
                                  rng=prng_key, **kwargs)
        finally:
            _RUN_EAGERLY.reset(token)

    def _generation_inputs(self, inputs: Any, model_kwargs: dict[str, Any]) -> tuple[jax.Array, dict[str, Any]]:
        if inputs is None:
            inputs = model_kwargs.pop("input_ids", None)
        input_ids = jnp.asarray(inputs).astype(jnp.int32)
        if input_ids.ndim != 2:
            raise ValueError(f"input_ids must be token ids of shape (batch, length), got shape {input_ids.shape}")
        if model_kwargs.get("attention_mask") is not None:
            mask = jnp.asarray(model_kwargs["attention_mask"]).astype(jnp.int32)
            if mask.shape != input_ids.shape:
                raise ValueError(f"`attention_mask` passed to `generate` must have the shape of input_ids "
                                 f"{input_ids.shape}, got {mask.shape}")
            model_kwargs["attention_mask"] = mask
        return input_ids, model_kwargs

    def _run_decoding(self, run: Callable[..., dict], plan: GenerationPlan, input_ids: Any,
                      model_kwargs: dict[str, Any], rng: Any) -> dict:
        if rng is None and plan.spec.do_sample:
            rng = jax.random.PRNGKey(0)
        if _RUN_EAGERLY.get():
            return run(self, input_ids, model_kwargs, rng)
        compiled = _COMPILED.setdefault(self, {})
        key = (plan.spec, _setting_key(plan.processors), _setting_key(plan.criteria), id(plan.streamer),
               tuple(sorted((k, getattr(v, "shape", None)) for k, v in model_kwargs.items())))
        if key not in compiled:  # the compiled loop captured this streamer: another one compiles anew
            compiled[key] = nnx.jit(run)
        state = compiled[key](self, input_ids, model_kwargs, rng)
        if plan.streamer is not None:
            jax.effects_barrier()
        return state


def _setting_key(items: list[Any]) -> tuple:
    """A hashable description of processors / criteria: their type and settings (the object itself when its
    settings are not plain values, e.g. your own processor)."""
    keys = []
    for item in items:
        try:
            settings = tuple(sorted((k, _frozen(v)) for k, v in vars(item).items()))
            hash(settings)
            keys.append((type(item), settings))
        except TypeError:
            keys.append((type(item), id(item)))
    return tuple(keys)


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


def update_cache(cache: jax.Array, new: jax.Array, index: Any) -> jax.Array:
    """`cache` (batch, heads, max_length, head_dim) with `new` (batch, heads, length, head_dim) written at `index`."""
    return jax.lax.dynamic_update_slice(cache, new.astype(cache.dtype), (0, 0, index, 0))


__all__ = [
    "EagerJaxOps",
    "FlaxForcedBOSTokenLogitsProcessor",
    "FlaxForcedEOSTokenLogitsProcessor",
    "FlaxGenerationMixin",
    "FlaxLogitsProcessor",
    "FlaxLogitsProcessorList",
    "FlaxLogitsWarper",
    "FlaxMinLengthLogitsProcessor",
    "FlaxNoBadWordsLogitsProcessor",
    "FlaxNoRepeatNGramLogitsProcessor",
    "FlaxRepetitionPenaltyLogitsProcessor",
    "FlaxSuppressTokensAtBeginLogitsProcessor",
    "FlaxSuppressTokensLogitsProcessor",
    "FlaxTemperatureLogitsWarper",
    "FlaxTopKLogitsWarper",
    "FlaxTopPLogitsWarper",
    "JaxOps",
    "StaticCache",
    "update_cache",
]
