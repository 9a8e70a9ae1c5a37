"""`TFGenerationMixin`: `generate()` for TensorFlow (Keras 3) models, eager or compiled with XLA.

The algorithms are the framework-free ones of [`pretrained.generation`] (the same tokens as the PyTorch and Flax
backends); this module supplies TensorFlow's tensor operations ([`TFOps`][pretrained.tf.generation.TFOps]). The
loop is a `tf.while_loop` over fixed-shape state, so `tf.function(model.generate, jit_compile=True)` compiles
the whole generation (as v4's XLA generation did). Eagerly, the result is cropped like PyTorch's; under
`tf.function` the sequences keep `max_length` columns, padded with `pad_token_id`.

Example:
    >>> import numpy as np, tensorflow as tf
    >>> from pretrained.models.gpt2 import GPT2Config, TFGPT2LMHeadModel
    >>> model = TFGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, n_positions=16))
    >>> xla_generate = tf.function(model.generate, jit_compile=True)
    >>> tuple(xla_generate(tf.constant([[1, 2, 3]]), max_new_tokens=4).shape)
    (1, 7)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import keras
import tensorflow as tf

from ..generation import logits_process as _processors
from ..generation.configuration_utils import GenerationConfig
from ..generation.ops import ArrayOps, register_ops
from ..generation.planning import GenerationPlan
from ..generation.static import StaticCache, StaticGenerationMixin
from ..generation.stopping_criteria import StoppingCriteriaList

# transformers v4's TF names of the processors (one implementation serves every backend)
TFLogitsProcessor = _processors.LogitsProcessor
TFLogitsProcessorList = _processors.LogitsProcessorList
TFLogitsWarper = _processors.LogitsWarper
TFTemperatureLogitsWarper = _processors.TemperatureLogitsWarper
TFTopKLogitsWarper = _processors.TopKLogitsWarper
TFTopPLogitsWarper = _processors.TopPLogitsWarper
TFMinLengthLogitsProcessor = _processors.MinLengthLogitsProcessor
TFNoBadWordsLogitsProcessor = _processors.NoBadWordsLogitsProcessor
TFNoRepeatNGramLogitsProcessor = _processors.NoRepeatNGramLogitsProcessor
TFRepetitionPenaltyLogitsProcessor = _processors.RepetitionPenaltyLogitsProcessor
TFForcedBOSTokenLogitsProcessor = _processors.ForcedBOSTokenLogitsProcessor
TFForcedEOSTokenLogitsProcessor = _processors.ForcedEOSTokenLogitsProcessor
TFSuppressTokensLogitsProcessor = _processors.SuppressTokensLogitsProcessor
TFSuppressTokensAtBeginLogitsProcessor = _processors.SuppressTokensAtBeginLogitsProcessor

_DTYPES = {"int": tf.int32, "float": tf.float32, "bool": tf.bool}


def _like(value: Any, other: Any) -> Any:
    """`value` (a Python scalar or a tensor) with `other`'s dtype (TensorFlow does not promote)."""
    if not tf.is_tensor(other):
        return value
    if tf.is_tensor(value):
        return value if value.dtype == other.dtype else tf.cast(value, other.dtype)
    return tf.constant(value, dtype=other.dtype)


class TFOps(ArrayOps):
    """[`ArrayOps`][pretrained.generation.ops.ArrayOps] for TensorFlow: every op is XLA-compatible."""

    static = True

    def asarray(self, value: Any, dtype: str) -> tf.Tensor:
        return tf.constant(value, dtype=_DTYPES[dtype])

    def full(self, shape: Sequence[int], value: Any, dtype: str) -> tf.Tensor:
        return tf.fill(tuple(shape), tf.cast(value, _DTYPES[dtype]))

    def arange(self, n: int) -> tf.Tensor:
        return tf.range(n, dtype=tf.int32)

    def scalar(self, value: int) -> tf.Tensor:
        return tf.constant(value, tf.int32)

    def where(self, cond: Any, x: Any, y: Any) -> tf.Tensor:
        x = _like(x, y) if not tf.is_tensor(x) else x
        return tf.where(cond, x, _like(y, x))

    def isin(self, x: Any, values: Sequence[int]) -> tf.Tensor:
        return tf.reduce_any(x[..., None] == tf.constant(list(values), dtype=x.dtype), axis=-1)

    def cast(self, x: Any, dtype: str) -> tf.Tensor:
        return tf.cast(x, _DTYPES[dtype])

    def shape(self, x: Any) -> tuple[int, ...]:
        dims = tuple(x.shape)
        if any(d is None for d in dims):
            raise ValueError(f"generate() needs static shapes (XLA does too); got a tensor of shape {dims}: call "
                             "tf.function(generate) with concrete input shapes")
        return tuple(int(d) for d in dims)

    def reshape(self, x: Any, shape: Sequence[int]) -> tf.Tensor:
        return tf.reshape(x, tuple(shape))

    def concat(self, xs: Sequence[Any], axis: int) -> tf.Tensor:
        return tf.concat(list(xs), axis=axis)

    def repeat(self, x: Any, repeats: int) -> tf.Tensor:
        return tf.repeat(x, repeats, axis=0)

    def any(self, x: Any, axis: int | None = None, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_any(x, axis=axis, keepdims=keepdims)

    def all(self, x: Any, axis: int | None = None, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_all(x, axis=axis, keepdims=keepdims)

    def sum(self, x: Any, axis: int | None = None, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_sum(x, axis=axis, keepdims=keepdims)

    def max(self, x: Any, axis: int | None = None, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_max(x, axis=axis, keepdims=keepdims)

    def min(self, x: Any, axis: int | None = None, keepdims: bool = False) -> tf.Tensor:
        return tf.reduce_min(x, axis=axis, keepdims=keepdims)

    def argmax(self, x: Any) -> tf.Tensor:
        return tf.argmax(x, axis=-1, output_type=tf.int32)

    def softmax(self, x: Any) -> tf.Tensor:
        return tf.nn.softmax(x, axis=-1)

    def log_softmax(self, x: Any) -> tf.Tensor:
        return tf.nn.log_softmax(x, axis=-1)

    def cumsum(self, x: Any) -> tf.Tensor:
        return tf.cumsum(x, axis=-1)

    def topk(self, x: Any, k: int) -> tuple[tf.Tensor, tf.Tensor]:
        values, indices = tf.math.top_k(x, k=k, sorted=True)
        return values, indices

    def sort(self, x: Any) -> tuple[tf.Tensor, tf.Tensor]:
        order = tf.argsort(x, axis=-1, stable=True)
        return tf.gather(x, order, batch_dims=len(x.shape) - 1), order

    def take_along_axis(self, x: Any, indices: Any) -> tf.Tensor:
        return tf.gather(x, indices, batch_dims=len(indices.shape) - 1)

    def take(self, x: Any, indices: Any, axis: int) -> tf.Tensor:
        return tf.gather(x, indices, axis=axis)

    def gather_beams(self, x: Any, indices: Any) -> tf.Tensor:
        return tf.gather(x, indices, axis=1, batch_dims=1)

    def token_presence(self, ids: Any, valid: Any, vocab_size: int) -> tf.Tensor:
        rows, width = self.shape(ids)
        row_ids = tf.repeat(tf.range(rows, dtype=tf.int32)[:, None], width, axis=1)
        indices = tf.stack([row_ids, tf.clip_by_value(tf.cast(ids, tf.int32), 0, vocab_size - 1)], axis=-1)
        counts = tf.tensor_scatter_nd_add(tf.zeros((rows, vocab_size), tf.int32), indices, tf.cast(valid, tf.int32))
        return counts > 0

    def while_loop(self, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
        leaves = tf.nest.flatten(state)
        present = [i for i, leaf in enumerate(leaves) if leaf is not None]

        def pack(values: Sequence[Any]) -> Any:
            filled = list(leaves)
            for i, value in zip(present, values):
                filled[i] = value
            return tf.nest.pack_sequence_as(state, filled)

        def unpack(full: Any) -> list[Any]:
            flat = tf.nest.flatten(full)
            return [flat[i] for i in present]

        result = tf.while_loop(lambda *v: cond(pack(v)), lambda *v: tuple(unpack(body(pack(v)))),
                               tuple(leaves[i] for i in present))
        return pack(result)

    def sample(self, rng: Any, logits: Any, num_samples: int) -> tuple[Any, tf.Tensor]:
        seeds = tf.random.experimental.stateless_split(rng, num=2)
        uniform = tf.random.stateless_uniform(tf.shape(logits), seed=seeds[1], minval=1e-20, maxval=1.0)
        gumbel = -tf.math.log(-tf.math.log(uniform))  # Gumbel top-k: sampling without replacement
        return seeds[0], tf.math.top_k(logits + gumbel, k=num_samples)[1]

    def callback(self, fn: Callable[[Any], None], value: Any) -> None:
        if not tf.executing_eagerly():
            raise ValueError("a streamer needs eager execution: call generate() outside tf.function")
        fn(value)

    def host_int(self, value: Any) -> int | None:
        static = tf.get_static_value(value) if tf.is_tensor(value) else value
        return None if static is None else int(static)


register_ops("pretrained.tf.generation", TFOps())


class TFGenerationMixin(StaticGenerationMixin):
    """`generate()` for TensorFlow models (mixed into `TFPreTrainedModel`; a model generates when it lists
    `TFGenerationMixin` among its bases or defines `prepare_inputs_for_generation`). A model with a cache implements
    `init_cache(batch_size, max_length)` -> [`StaticCache`][pretrained.generation.static.StaticCache] and accepts
    `past_key_values`, `attention_mask` (max_length wide) and `position_ids` in `call`."""

    _is_generation_mixin: ClassVar[bool] = True
    _generation_backend: ClassVar[str] = "tf"
    _forward_method_name: ClassVar[str] = "call"
    _generation_ops: ClassVar[TFOps] = TFOps()

    def generate(self, inputs: Any = None, generation_config: GenerationConfig | None = None,
                 logits_processor: TFLogitsProcessorList | None = None, seed: Sequence[int] | None = None,
                 stopping_criteria: StoppingCriteriaList | None = None, streamer: Any = None, **kwargs: Any) -> Any:
        """Generate token ids after `inputs` (batch, prompt length; left-padded, with `attention_mask=`).

        The keyword arguments are PyTorch's (see `GenerationMixin.generate`); `seed` (two ints) makes sampling
        reproducible (stateless random ops; default: drawn from TensorFlow's global generator, `tf.random.set_seed`).
        Your logits processors and stopping criteria are called as `(input_ids, scores, cur_len)`, where
        `input_ids` is the (rows, max_length) buffer whose first `cur_len` columns are filled (v4's TF convention).

        Example:
            >>> import numpy as np
            >>> from pretrained.models.gpt2 import GPT2Config, TFGPT2LMHeadModel
            >>> model = TFGPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=1, n_head=2, n_positions=16))
            >>> out = model.generate(np.array([[1, 2, 3]]), max_new_tokens=3, num_beams=2,
            ...                      return_dict_in_generate=True, output_scores=True)
            >>> tuple(out.sequences.shape), len(out.scores)
            ((1, 6), 3)
        """
        if streamer is not None and not tf.executing_eagerly():
            raise ValueError("a streamer needs eager execution: call generate() outside tf.function")
        rng = None if seed is None else tf.constant(list(seed), tf.int32)
        return self._generate(inputs, generation_config, logits_processor, stopping_criteria, streamer, rng=rng,
                              **kwargs)

    def _generation_inputs(self, inputs: Any, model_kwargs: dict[str, Any]) -> tuple[tf.Tensor, dict[str, Any]]:
        if inputs is None:
            inputs = model_kwargs.pop("input_ids", None)
        input_ids = tf.cast(tf.convert_to_tensor(inputs), tf.int32)
        if len(input_ids.shape) != 2:
            raise ValueError(f"input_ids must be token ids of shape (batch, length), got shape {input_ids.shape}")
        if model_kwargs.get("attention_mask") is not None:
            mask = tf.cast(tf.convert_to_tensor(model_kwargs["attention_mask"]), tf.int32)
            if tuple(mask.shape) != tuple(input_ids.shape):
                raise ValueError(f"`attention_mask` passed to `generate` must have the shape of input_ids "
                                 f"{tuple(input_ids.shape)}, got {tuple(mask.shape)}")
            model_kwargs["attention_mask"] = mask
        return input_ids, model_kwargs

    def _run_decoding(self, run: Callable[..., dict], plan: GenerationPlan, input_ids: Any,
                      model_kwargs: dict[str, Any], rng: Any) -> dict:
        if rng is None and plan.spec.do_sample:
            rng = tf.random.uniform((2,), maxval=2**31 - 1, dtype=tf.int32)
        return run(self, input_ids, model_kwargs, rng)

    def _generation_call(self, input_ids: Any, model_kwargs: dict[str, Any]) -> Any:
        return self(input_ids, **model_kwargs, training=False)


def update_cache(cache: tf.Tensor, new: tf.Tensor, index: Any) -> tf.Tensor:
    """`cache` (batch, heads, max_length, head_dim) with `new` (batch, heads, length, head_dim) written at `index`."""
    return keras.ops.slice_update(cache, (0, 0, index, 0), tf.cast(new, cache.dtype))


__all__ = [
    "StaticCache",
    "TFForcedBOSTokenLogitsProcessor",
    "TFForcedEOSTokenLogitsProcessor",
    "TFGenerationMixin",
    "TFLogitsProcessor",
    "TFLogitsProcessorList",
    "TFLogitsWarper",
    "TFMinLengthLogitsProcessor",
    "TFNoBadWordsLogitsProcessor",
    "TFNoRepeatNGramLogitsProcessor",
    "TFOps",
    "TFRepetitionPenaltyLogitsProcessor",
    "TFSuppressTokensAtBeginLogitsProcessor",
    "TFSuppressTokensLogitsProcessor",
    "TFTemperatureLogitsWarper",
    "TFTopKLogitsWarper",
    "TFTopPLogitsWarper",
    "update_cache",
]
