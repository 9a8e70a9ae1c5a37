"""The model side of generation with static shapes, written once for TensorFlow and Flax (NNX).

A model that generates keeps a fixed-size key/value cache ([`StaticCache`][pretrained.generation.static.StaticCache],
made by its `init_cache(batch_size, max_length)`): the prompt fills its first positions, each step writes one more,
and the attention mask spans all `max_length` positions. So every tensor keeps its shape and the whole loop
compiles (`tf.function(jit_compile=True)`, `jax.jit`). Without a cache (`use_cache=False`, or no `init_cache`)
every step runs the model on the whole fixed-size buffer and reads the logits at the last filled position.

The defaults are transformers v4's Flax ones: `prepare_inputs_for_generation(input_ids, max_length,
attention_mask=None)` and `update_inputs_for_generation(model_outputs, model_kwargs)`; position ids come from the
attention mask (padding gets 1), as in v4's PyTorch `generate()`.

Example:
    >>> from pretrained.generation.static import StaticCache
    >>> cache = StaticCache(index=0, layers=(("k0", "v0"), ("k1", "v1")))
    >>> cache.index, len(cache.layers)
    (0, 2)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .decoding import DecodeSpec
from .utils import GenerationMixinBase


class StaticCache(NamedTuple):
    """A fixed-size key/value cache: `index` (an int scalar: positions filled so far) and, per layer,
    `(key, value)` of shape (batch, heads, max_length, head_dim). A NamedTuple, so it is a pytree for JAX and a
    nested structure for `tf.nest`."""

    index: Any
    layers: tuple


class StaticGenerationMixin(GenerationMixinBase):
    """`GenerationMixinBase` plus the fixed-shape model plumbing shared by `TFGenerationMixin` and
    `FlaxGenerationMixin`."""

    def init_cache(self, batch_size: int, max_length: int) -> StaticCache:
        """An empty cache for `batch_size` rows and `max_length` positions (models that cache implement it).

        Example:
            >>> from pretrained.models.gpt2 import FlaxGPT2LMHeadModel, GPT2Config
            >>> model = FlaxGPT2LMHeadModel(GPT2Config(vocab_size=20, n_embd=8, n_layer=2, n_head=2))
            >>> cache = model.init_cache(batch_size=3, max_length=10)
            >>> len(cache.layers), cache.layers[0][0].shape
            (2, (3, 2, 10, 4))
        """
        raise NotImplementedError(f"{type(self).__name__} has no key/value cache (init_cache)")

    def prepare_inputs_for_generation(self, input_ids: Any, max_length: int, attention_mask: Any = None,
                                      **kwargs: Any) -> dict[str, Any]:
        """The model kwargs of the prompt's pass: an empty `past_key_values` cache, the attention mask extended
        with ones to `max_length`, and position ids from the mask (v4 Flax's hook, with v4 PyTorch's positions).

        Example:
            >>> import jax.numpy as jnp
            >>> from pretrained.models.gpt2 import FlaxGPT2LMHeadModel, GPT2Config
            >>> model = FlaxGPT2LMHeadModel(GPT2Config(vocab_size=20, n_embd=8, n_layer=1, n_head=2))
            >>> kwargs = model.prepare_inputs_for_generation(jnp.array([[0, 5, 6]]), 6,
            ...                                              attention_mask=jnp.array([[0, 1, 1]]))
            >>> kwargs["attention_mask"].tolist(), kwargs["position_ids"].tolist(), kwargs["past_key_values"].index
            ([[0, 1, 1, 1, 1, 1]], [[1, 0, 1]], Array(0, dtype=int32))
        """
        xp = self._generation_ops
        batch, length = xp.shape(input_ids)
        mask = xp.full((batch, length), 1, "int") if attention_mask is None else xp.cast(attention_mask, "int")
        return {**kwargs, "past_key_values": self.init_cache(batch, max_length),
                "attention_mask": xp.concat([mask, xp.full((batch, max_length - length), 1, "int")], axis=1),
                "position_ids": _positions(xp, mask)}

    def update_inputs_for_generation(self, model_outputs: Any, model_kwargs: dict[str, Any]) -> dict[str, Any]:
        """After a pass: the model's updated cache; the next position is the last one plus one."""
        return {**model_kwargs, "past_key_values": model_outputs.past_key_values,
                "position_ids": model_kwargs["position_ids"][:, -1:] + 1}

    def _reorder_cache(self, past_key_values: Any, beam_idx: Any) -> Any:
        """Every per-row tensor of the cache (rank >= 1) gathered along its first axis by `beam_idx`."""
        return _take_rows(self._generation_ops, past_key_values, beam_idx)

    # ------------------------------------------------------------------------------------------ pipeline hooks
    def _generation_model_kwargs(self, input_ids: Any, spec: DecodeSpec, model_kwargs: dict[str, Any]
                                 ) -> dict[str, Any]:
        kwargs = dict(model_kwargs)
        mask = kwargs.pop("attention_mask", None)
        if spec.use_cache and type(self).init_cache is not StaticGenerationMixin.init_cache:
            return self.prepare_inputs_for_generation(input_ids, spec.max_length, attention_mask=mask, **kwargs)
        xp = self._generation_ops
        batch, length = xp.shape(input_ids)
        mask = xp.full((batch, length), 1, "int") if mask is None else xp.cast(mask, "int")
        mask = xp.concat([mask, xp.full((batch, spec.max_length - length), 1, "int")], axis=1)
        return {**kwargs, "attention_mask": mask, "position_ids": _positions(xp, mask)}

    def _generation_forward(self, spec: DecodeSpec, extras: dict[str, Any]) -> Callable[..., Any]:
        if spec.output_attentions or spec.output_hidden_states:
            raise NotImplementedError("`output_attentions` / `output_hidden_states` in generate() are PyTorch-only "
                                      "(the compiled TF / Flax loops keep fixed-shape state).")
        xp = self._generation_ops
        options = self._forward_options()

        def forward(ids: Any, cur_len: Any, kwargs: dict[str, Any], first: bool) -> Any:
            if "past_key_values" in kwargs:
                tokens = ids[:, :spec.prompt_length] if first else xp.column(ids, cur_len - 1)[:, None]
                outputs = self._generation_call(tokens, {**kwargs, **options})
                return xp.cast(outputs.logits[:, -1, :], "float"), self.update_inputs_for_generation(outputs, kwargs)
            outputs = self._generation_call(ids, {**kwargs, **options})
            return xp.cast(xp.take(outputs.logits, cur_len - 1, axis=1), "float"), kwargs

        return forward

    def _generation_call(self, input_ids: Any, model_kwargs: dict[str, Any]) -> Any:
        """One inference pass of the model."""
        return self(input_ids, **model_kwargs)


def _positions(xp: Any, mask: Any) -> Any:
    """Position ids from an attention mask: running count of attended tokens minus one; padding gets 1."""
    return xp.where(mask == 0, 1, xp.cumsum(mask) - 1)


def _take_rows(xp: Any, value: Any, rows: Any) -> Any:
    if isinstance(value, tuple):
        items = [_take_rows(xp, item, rows) for item in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, list):
        return [_take_rows(xp, item, rows) for item in value]
    if isinstance(value, dict):
        return {k: _take_rows(xp, v, rows) for k, v in value.items()}
    if value is None or not hasattr(value, "shape") or len(value.shape) == 0:
        return value
    return xp.take(value, rows, axis=0)


__all__ = ["StaticCache", "StaticGenerationMixin"]
