"""Model outputs as transformers v4 returns them: [`ModelOutput`][pretrained.outputs.ModelOutput], a dict whose
values are also attributes and positions, and its typed dataclasses (`BaseModelOutputWithPooling`, `MaskedLMOutput`,
`SequenceClassifierOutput`, ...), one definition for the PyTorch, TensorFlow and Flax models.

A field left `None` is not an item: `out[0]` is the first field that is set, `to_tuple()` the fields that are set,
in field order (what v4's `return_dict=False` returns). The Flax backend registers every output class as a JAX
pytree and the PyTorch backend as a torch pytree; TensorFlow's `tf.nest` handles them as mappings, so outputs
cross `jax.jit`, `nnx.jit`, `torch.compile` and `tf.function` boundaries.

Example:
    >>> from pretrained.outputs import MaskedLMOutput, ModelOutput
    >>> out = MaskedLMOutput(logits=[1.0, 2.0], attentions=("a",))
    >>> out[0] == out["logits"] == out.logits, out.loss is None, "loss" in out
    (True, True, False)
    >>> out.to_tuple(), list(out.keys())
    (([1.0, 2.0], ('a',)), ['logits', 'attentions'])
    >>> ModelOutput(logits=3, loss=None)[:1]
    (3,)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

# attributes any output may be asked for: reading one an untyped `ModelOutput` does not hold gives None
KNOWN_FIELDS = frozenset(
    {"loss", "logits", "last_hidden_state", "pooler_output", "hidden_states", "attentions", "cross_attentions",
     "past_key_values", "start_logits", "end_logits", "pooled_output", "sequences", "sequences_scores", "scores",
     "beam_indices", "prediction_logits", "seq_relationship_logits"}
)

_CLASS_HOOKS: list[Callable[[type], None]] = []


def on_output_class(hook: Callable[[type], None]) -> None:
    """Call `hook(cls)` for `ModelOutput` and every subclass, now and whenever one is defined later (how a backend
    registers outputs with its framework's tree utilities without the core importing the framework).

    >>> seen = []
    >>> on_output_class(seen.append)
    >>> ModelOutput in seen and MaskedLMOutput in seen
    True
    >>> _CLASS_HOOKS.remove(seen.append)
    """
    _CLASS_HOOKS.append(hook)
    pending = [ModelOutput]
    while pending:
        cls = pending.pop()
        hook(cls)
        pending.extend(cls.__subclasses__())


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


class ModelOutput(dict):
    """A dict of model outputs whose items are also attributes and positions (`out.logits`, `out["logits"]`,
    `out[0]`, `out[:2]`), as transformers v4's `ModelOutput`.

    `ModelOutput(**values)` is an untyped output (reading an absent well-known field such as `loss` gives None);
    subclasses decorated with `@dataclass` declare their fields, all optional, in the order `to_tuple()` keeps.
    `pop`, `update`, `setdefault` and `del` are refused (as in v4): an output's fields are fixed.

    Example:
        >>> out = ModelOutput(last_hidden_state="h", hidden_states=None)
        >>> out.last_hidden_state, out.hidden_states, len(out)
        ('h', None, 1)
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for hook in _CLASS_HOOKS:
            hook(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    # ------------------------------------------------------------------ typed (dataclass) outputs
    def __post_init__(self) -> None:
        """Dataclass hook: store the fields that are set; `Output(iterable of (key, value))` also works, as in v4
        (`tf.nest` and other tree libraries rebuild outputs that way)."""
        names = [f.name for f in dataclasses.fields(self)]
        if not names:
            raise TypeError(f"{type(self).__name__} declares no fields: decorate it with @dataclass")
        first = getattr(self, names[0])
        pairs = None
        if first is not None and not _is_array(first) and all(getattr(self, n) is None for n in names[1:]):
            pairs = _key_value_pairs(first)
        if pairs is None:
            return
        object.__setattr__(self, names[0], None)
        dict.pop(self, names[0], None)
        for key, value in pairs:
            setattr(self, key, value)

    def _field_names(self) -> list[str]:
        return [f.name for f in dataclasses.fields(self)] if dataclasses.is_dataclass(self) else []

    def __setattr__(self, name: str, value: Any) -> None:
        if dataclasses.is_dataclass(self):
            object.__setattr__(self, name, value)
        self._store(name, value)

    def __setitem__(self, key: str, value: Any) -> None:
        if dataclasses.is_dataclass(self):
            object.__setattr__(self, key, value)
        self._store(key, value)

    def _store(self, key: str, value: Any) -> None:
        if value is None:
            dict.pop(self, key, None)
            return
        new = key not in self
        dict.__setitem__(self, key, value)
        order = self._field_names()
        if new and key in order:  # a field set after construction keeps its place in field order
            rank = {name: i for i, name in enumerate(order)}
            items = sorted(dict.items(self), key=lambda item: rank.get(item[0], len(order)))
            dict.clear(self)
            dict.update(self, items)

    def __getattr__(self, name: str) -> Any:  # only reached when normal attribute lookup fails
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return dict.__getitem__(self, name)
        except KeyError:
            if name in KNOWN_FIELDS:
                return None
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (fields: {list(self)})") from None

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return dict.__getitem__(self, key)
        return self.to_tuple()[key]

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"{type(self).__name__} fields are fixed: pop, update, setdefault and del are not supported")

    __delitem__ = pop = update = setdefault = _refuse  # type: ignore[assignment]

    def to_tuple(self) -> tuple[Any, ...]:
        """The values that are set, in field order (v4's `return_dict=False` result).

        >>> ModelOutput(logits=1, loss=2).to_tuple()
        (1, 2)
        """
        return tuple(dict.values(self))

    @classmethod
    def _from_items(cls, items: Iterable[tuple[str, Any]]) -> ModelOutput:
        """Rebuild an output from `(key, value)` pairs without `__init__` (pytree unflattening)."""
        output = cls.__new__(cls)
        for name in (f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ():
            object.__setattr__(output, name, None)
        for key, value in items:
            output[key] = value
        return output


def _key_value_pairs(value: Any) -> list[tuple[str, Any]] | None:
    """`value` as `(key, value)` pairs when it is a mapping or an iterable of such pairs, else None."""
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return None
    items = list(value)
    if not items or not all(isinstance(i, (list, tuple)) and len(i) == 2 and isinstance(i[0], str) for i in items):
        return None
    return [tuple(i) for i in items]  # type: ignore[misc]


class OutputFlags(NamedTuple):
    """What a forward pass returns: attentions, hidden states, a `ModelOutput` (or a tuple)."""

    output_attentions: bool
    output_hidden_states: bool
    return_dict: bool


def output_flags(config: Any, output_attentions: bool | None = None, output_hidden_states: bool | None = None,
                 return_dict: bool | None = None) -> OutputFlags:
    """The call's flags, each defaulting to the config's (`output_attentions`, `output_hidden_states`,
    `use_return_dict`), as every v4 model resolves them.

    >>> from pretrained import PretrainedConfig
    >>> output_flags(PretrainedConfig(output_attentions=True), return_dict=False)
    OutputFlags(output_attentions=True, output_hidden_states=False, return_dict=False)
    """
    return OutputFlags(
        bool(config.output_attentions if output_attentions is None else output_attentions),
        bool(config.output_hidden_states if output_hidden_states is None else output_hidden_states),
        bool(config.use_return_dict if return_dict is None else return_dict),
    )


def returned(output: ModelOutput, return_dict: bool) -> ModelOutput | tuple[Any, ...]:
    """`output`, or `output.to_tuple()` when `return_dict` is False.

    >>> returned(ModelOutput(logits=1), False)
    (1,)
    """
    return output if return_dict else output.to_tuple()


# --------------------------------------------------------------------------------------------- typed outputs
@dataclass
class BaseModelOutput(ModelOutput):
    """An encoder's output: the last layer's hidden states, plus every layer's (`hidden_states`) and attention
    probabilities (`attentions`) on request."""

    last_hidden_state: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class BaseModelOutputWithNoAttention(ModelOutput):
    """A model without attention (e.g. a convolutional network): last hidden state and, on request, every stage's."""

    last_hidden_state: Any = None
    hidden_states: Any = None


@dataclass
class BaseModelOutputWithPooling(ModelOutput):
    """An encoder's output with the pooled summary of the sequence (`pooler_output`)."""

    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class BaseModelOutputWithPoolingAndNoAttention(ModelOutput):
    """A model without attention, with its pooled output (e.g. globally pooled image features)."""

    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None


@dataclass
class BaseModelOutputWithPastAndCrossAttentions(ModelOutput):
    """A decoder's output: the key / value cache (`past_key_values`) and cross-attentions."""

    last_hidden_state: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    """A BERT-style encoder (or decoder) output: pooled output, cache and cross-attentions."""

    last_hidden_state: Any = None
    pooler_output: Any = None
    hidden_states: Any = None
    past_key_values: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@dataclass
class MaskedLMOutput(ModelOutput):
    """Masked language modelling: `logits` over the vocabulary, `loss` with labels."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class CausalLMOutput(ModelOutput):
    """Next-token prediction: `logits` over the vocabulary, `loss` with labels."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class CausalLMOutputWithPast(ModelOutput):
    """Next-token prediction with the key / value cache."""

    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class CausalLMOutputWithCrossAttentions(ModelOutput):
    """Next-token prediction with the cache and cross-attentions (a decoder attending to an encoder)."""

    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None
    cross_attentions: Any = None


@dataclass
class SequenceClassifierOutput(ModelOutput):
    """Sequence classification or regression: `logits` `(batch, num_labels)`."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class SequenceClassifierOutputWithPast(ModelOutput):
    """Sequence classification by a decoder (e.g. GPT-2): `logits` `(batch, num_labels)` and the key / value cache."""

    loss: Any = None
    logits: Any = None
    past_key_values: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class TokenClassifierOutput(ModelOutput):
    """Token classification: `logits` `(batch, sequence, num_labels)`."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class MultipleChoiceModelOutput(ModelOutput):
    """Multiple choice: `logits` `(batch, num_choices)`."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class NextSentencePredictorOutput(ModelOutput):
    """Next-sentence prediction: `logits` `(batch, 2)`."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class BertForPreTrainingOutput(ModelOutput):
    """BERT's pretraining heads: masked-LM `prediction_logits` `(batch, sequence, vocab)` and next-sentence
    `seq_relationship_logits` `(batch, 2)`; `loss` is their sum when both labels are given."""

    loss: Any = None
    prediction_logits: Any = None
    seq_relationship_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class QuestionAnsweringModelOutput(ModelOutput):
    """Extractive question answering: span start and end logits."""

    loss: Any = None
    start_logits: Any = None
    end_logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class ImageClassifierOutput(ModelOutput):
    """Image classification: `logits` `(batch, num_labels)`."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
    attentions: Any = None


@dataclass
class ImageClassifierOutputWithNoAttention(ModelOutput):
    """Image classification by a model without attention (e.g. a ResNet)."""

    loss: Any = None
    logits: Any = None
    hidden_states: Any = None
