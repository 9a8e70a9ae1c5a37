"""BERT's further task heads in Flax NNX, state-compatible with transformers' PyTorch BERT: the causal LM head (which
generates, with a static cache, compiled with `jax.jit`), pretraining, next-sentence prediction, token
classification, question answering and multiple choice. v4 called the causal LM `FlaxBertForCausalLM`: that name is
an alias of `FlaxBertLMHeadModel` here.

Example:
    >>> import jax.numpy as jnp
    >>> from pretrained.models.bert import BertConfig, FlaxBertForQuestionAnswering
    >>> config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
    ...                     intermediate_size=64)
    >>> out = FlaxBertForQuestionAnswering(config)(jnp.array([[1, 2, 3]]))
    >>> out.start_logits.shape, out.end_logits.shape
    ((1, 3), (1, 3))
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from pretrained.flax.generation import FlaxGenerationMixin, StaticCache
from pretrained.outputs import (
    BertForPreTrainingOutput,
    CausalLMOutputWithCrossAttentions,
    MultipleChoiceModelOutput,
    NextSentencePredictorOutput,
    QuestionAnsweringModelOutput,
    TokenClassifierOutput,
    output_flags,
    returned,
)

from .configuration_bert import (
    BertConfig,
    check_question_answering_labels,
    multiple_choice_count,
    warn_unless_decoder,
)
from .modeling_flax_bert import (
    FlaxBertForMaskedLM,
    FlaxBertLMPredictionHead,
    FlaxBertModel,
    FlaxBertOnlyMLMHead,
    FlaxBertPreTrainedModel,
    _Layers,
    _masked_lm_loss,
)


class FlaxBertOnlyNSPHead(nnx.Module):
    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.seq_relationship = make.linear(config.hidden_size, 2)


class FlaxBertPreTrainingHeads(nnx.Module):
    def __init__(self, config: BertConfig, make: _Layers) -> None:
        self.predictions = FlaxBertLMPredictionHead(config, make)
        self.seq_relationship = make.linear(config.hidden_size, 2)


def _dropout(config: BertConfig) -> nnx.Dropout:
    rate = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
    return nnx.Dropout(rate)


class _FlaxBertHead(FlaxBertPreTrainedModel):
    """Builds the `bert` encoder of a head and runs it with the caller's output flags."""

    def _build_bert(self, config: BertConfig, *, add_pooling_layer: bool) -> None:
        self.bert = FlaxBertModel(config, add_pooling_layer=add_pooling_layer, rngs=self.rngs, dtype=self.dtype,
                                  param_dtype=self.param_dtype)

    def _encode(self, flags: Any, input_ids: Any, attention_mask: Any, token_type_ids: Any, position_ids: Any,
                head_mask: Any, inputs_embeds: Any, rngs: nnx.Rngs | None) -> Any:
        return self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                         output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                         return_dict=True, rngs=rngs)


class FlaxBertLMHeadModel(_FlaxBertHead, FlaxGenerationMixin):
    """BERT as a causal language model (`config.is_decoder=True`): the masked-LM head (`cls.predictions`, tied to
    the word embeddings by default) over causally masked layers, cross-attention over `encoder_hidden_states` when
    `config.add_cross_attention`, a static key/value cache and `generate()`. `CausalLMOutputWithCrossAttentions`;
    with `labels`, the next-token loss (shifted inside, -100 ignored).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertLMHeadModel
        >>> model = FlaxBertLMHeadModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                        num_attention_heads=4, intermediate_size=64, is_decoder=True))
        >>> ids = jnp.array([[1, 2, 3]])
        >>> model(ids, labels=ids).logits.shape, model.generate(ids, max_new_tokens=2).sequences.shape
        ((1, 3, 50), (1, 5))
    """

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        warn_unless_decoder(config, "BertLMHeadModel")
        self._build_bert(config, add_pooling_layer=False)
        self.cls = FlaxBertOnlyMLMHead(config, self._make())
        self.post_init()

    get_output_embeddings = FlaxBertForMaskedLM.get_output_embeddings
    set_output_embeddings = FlaxBertForMaskedLM.set_output_embeddings
    _resize_output_bias = FlaxBertForMaskedLM._resize_output_bias

    def init_cache(self, batch_size: int, max_length: int) -> StaticCache:
        """An empty [`StaticCache`][pretrained.generation.static.StaticCache] for `generate()` (v4's name)."""
        layer = self.bert.encoder.layer[0].attention.self
        zeros = jnp.zeros((batch_size, layer.num_attention_heads, max_length, layer.attention_head_size),
                          self.dtype or jnp.float32)
        return StaticCache(jnp.asarray(0, jnp.int32), tuple((zeros, zeros) for _ in self.bert.encoder.layer))

    def __call__(self, input_ids: jax.Array | None = None, attention_mask: jax.Array | None = None,
                 token_type_ids: jax.Array | None = None, position_ids: jax.Array | None = None,
                 head_mask: jax.Array | None = None, inputs_embeds: jax.Array | None = None,
                 encoder_hidden_states: jax.Array | None = None, encoder_attention_mask: jax.Array | None = None,
                 labels: jax.Array | None = None, past_key_values: StaticCache | None = None,
                 use_cache: bool | None = None, output_attentions: bool | None = None,
                 output_hidden_states: bool | None = None, return_dict: bool | None = None, *,
                 rngs: nnx.Rngs | None = None) -> Any:
        """`CausalLMOutputWithCrossAttentions`: `logits` `(batch, seq, vocab)`, the cache when given one, `loss`
        with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                        encoder_hidden_states, encoder_attention_mask, past_key_values, use_cache,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True, rngs=rngs)
        logits = self.cls.predictions(out.last_hidden_state, self.bert.get_input_embeddings())
        loss = None if labels is None else _masked_lm_loss(logits[:, :-1], jnp.asarray(labels)[:, 1:])
        return returned(CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions, cross_attentions=out.cross_attentions), flags.return_dict)


FlaxBertForCausalLM = FlaxBertLMHeadModel  # v4's Flax name


class FlaxBertForPreTraining(_FlaxBertHead):
    """BERT with both pretraining heads (`cls.predictions`, tied to the word embeddings by default, and
    `cls.seq_relationship`): `BertForPreTrainingOutput`; `loss` (masked LM + next sentence) with `labels` and
    `next_sentence_label`.

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertForPreTraining
        >>> model = FlaxBertForPreTraining(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                           num_attention_heads=4, intermediate_size=64))
        >>> out = model(jnp.array([[1, 2]]), labels=jnp.array([[-100, 2]]), next_sentence_label=jnp.array([1]))
        >>> out.prediction_logits.shape, out.seq_relationship_logits.shape, out.loss.shape
        ((1, 2, 50), (1, 2), ())
    """

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self._build_bert(config, add_pooling_layer=True)
        self.cls = FlaxBertPreTrainingHeads(config, self._make())
        self.post_init()

    get_output_embeddings = FlaxBertForMaskedLM.get_output_embeddings
    set_output_embeddings = FlaxBertForMaskedLM.set_output_embeddings
    _resize_output_bias = FlaxBertForMaskedLM._resize_output_bias

    def __call__(self, input_ids: jax.Array | None = None, attention_mask: jax.Array | None = None,
                 token_type_ids: jax.Array | None = None, position_ids: jax.Array | None = None,
                 head_mask: jax.Array | None = None, inputs_embeds: jax.Array | None = None,
                 labels: jax.Array | None = None, next_sentence_label: jax.Array | None = None,
                 output_attentions: bool | None = None, output_hidden_states: bool | None = None,
                 return_dict: bool | None = None, *, rngs: nnx.Rngs | None = None) -> Any:
        """`BertForPreTrainingOutput`: `prediction_logits`, `seq_relationship_logits`, `loss` given both labels."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           rngs)
        prediction_logits = self.cls.predictions(out.last_hidden_state, self.bert.get_input_embeddings())
        relationship_logits = self.cls.seq_relationship(out.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = _masked_lm_loss(prediction_logits, labels) + _masked_lm_loss(relationship_logits,
                                                                                next_sentence_label)
        return returned(BertForPreTrainingOutput(
            loss=loss, prediction_logits=prediction_logits, seq_relationship_logits=relationship_logits,
            hidden_states=out.hidden_states, attentions=out.attentions), flags.return_dict)


class FlaxBertForNextSentencePrediction(_FlaxBertHead):
    """BERT with the next-sentence head (`cls.seq_relationship`): `NextSentencePredictorOutput` (`logits (batch,
    2)`); `loss` with `labels` (or `next_sentence_label`).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertForNextSentencePrediction
        >>> model = FlaxBertForNextSentencePrediction(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                                      num_attention_heads=4, intermediate_size=64))
        >>> model(jnp.array([[1, 2]]), labels=jnp.array([0])).logits.shape
        (1, 2)
    """

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self._build_bert(config, add_pooling_layer=True)
        self.cls = FlaxBertOnlyNSPHead(config, self._make())
        self.post_init()

    def __call__(self, input_ids: jax.Array | None = None, attention_mask: jax.Array | None = None,
                 token_type_ids: jax.Array | None = None, position_ids: jax.Array | None = None,
                 head_mask: jax.Array | None = None, inputs_embeds: jax.Array | None = None,
                 labels: jax.Array | None = None, output_attentions: bool | None = None,
                 output_hidden_states: bool | None = None, return_dict: bool | None = None,
                 next_sentence_label: jax.Array | None = None, *, rngs: nnx.Rngs | None = None) -> Any:
        """`NextSentencePredictorOutput`: `logits` `(batch, 2)`; `loss` with a label."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        labels = next_sentence_label if labels is None else labels
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           rngs)
        logits = self.cls.seq_relationship(out.pooler_output)
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(NextSentencePredictorOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                    attentions=out.attentions), flags.return_dict)


class FlaxBertForTokenClassification(_FlaxBertHead):
    """BERT with a per-token classifier (`classifier`): `TokenClassifierOutput` (`logits (batch, seq, num_labels)`;
    `loss` over the labels that are not -100).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertForTokenClassification
        >>> model = FlaxBertForTokenClassification(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                                   num_attention_heads=4, intermediate_size=64))
        >>> model(jnp.array([[1, 2]]), labels=jnp.array([[1, -100]])).logits.shape
        (1, 2, 2)
    """

    _keys_to_ignore_on_load_unexpected = [r"pooler"]

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.num_labels = config.num_labels
        self._build_bert(config, add_pooling_layer=False)
        self.dropout = _dropout(config)
        self.classifier = self._make().linear(config.hidden_size, config.num_labels)
        self.post_init()

    def __call__(self, input_ids: jax.Array | None = None, attention_mask: jax.Array | None = None,
                 token_type_ids: jax.Array | None = None, position_ids: jax.Array | None = None,
                 head_mask: jax.Array | None = None, inputs_embeds: jax.Array | None = None,
                 labels: jax.Array | None = None, output_attentions: bool | None = None,
                 output_hidden_states: bool | None = None, return_dict: bool | None = None, *,
                 rngs: nnx.Rngs | None = None) -> Any:
        """`TokenClassifierOutput`: `logits` `(batch, seq, num_labels)`; `loss` with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           rngs)
        logits = self.classifier(self.dropout(out.last_hidden_state, rngs=rngs))
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                              attentions=out.attentions), flags.return_dict)


def _span_loss(logits: jax.Array, positions: jax.Array) -> jax.Array:
    """v4's span loss: positions clamped to `[0, seq]`, a position of `seq` ignored."""
    length = logits.shape[1]
    positions = jnp.clip(jnp.asarray(positions).reshape(-1), 0, length)
    return _masked_lm_loss(logits, jnp.where(positions == length, -100, positions))


class FlaxBertForQuestionAnswering(_FlaxBertHead):
    """BERT with a span head (`qa_outputs`, `config.num_labels == 2`): `QuestionAnsweringModelOutput`
    (`start_logits`, `end_logits`); with `start_positions` and `end_positions`, the mean of both cross-entropies.

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertForQuestionAnswering
        >>> model = FlaxBertForQuestionAnswering(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                                 num_attention_heads=4, intermediate_size=64))
        >>> out = model(jnp.array([[1, 2, 3]]), start_positions=jnp.array([1]), end_positions=jnp.array([2]))
        >>> out.loss.shape, out.end_logits.shape
        ((), (1, 3))
    """

    _keys_to_ignore_on_load_unexpected = [r"pooler"]

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        check_question_answering_labels(config, type(self).__name__)
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self.num_labels = config.num_labels
        self._build_bert(config, add_pooling_layer=False)
        self.qa_outputs = self._make().linear(config.hidden_size, config.num_labels)
        self.post_init()

    def __call__(self, input_ids: jax.Array | None = None, attention_mask: jax.Array | None = None,
                 token_type_ids: jax.Array | None = None, position_ids: jax.Array | None = None,
                 head_mask: jax.Array | None = None, inputs_embeds: jax.Array | None = None,
                 start_positions: jax.Array | None = None, end_positions: jax.Array | None = None,
                 output_attentions: bool | None = None, output_hidden_states: bool | None = None,
                 return_dict: bool | None = None, *, rngs: nnx.Rngs | None = None) -> Any:
        """`QuestionAnsweringModelOutput`: `start_logits`, `end_logits` `(batch, seq)`; `loss` given both
        positions."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           rngs)
        logits = self.qa_outputs(out.last_hidden_state)
        start_logits, end_logits = logits[..., 0], logits[..., 1]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = (_span_loss(start_logits, start_positions) + _span_loss(end_logits, end_positions)) / 2
        return returned(QuestionAnsweringModelOutput(
            loss=loss, start_logits=start_logits, end_logits=end_logits, hidden_states=out.hidden_states,
            attentions=out.attentions), flags.return_dict)


class FlaxBertForMultipleChoice(_FlaxBertHead):
    """BERT scoring each choice (`classifier` on the pooled output): inputs `(batch, num_choices, seq)`;
    `MultipleChoiceModelOutput` (`logits (batch, num_choices)`, `loss` with `labels`).

    Example:
        >>> import jax.numpy as jnp
        >>> from pretrained.models.bert import BertConfig, FlaxBertForMultipleChoice
        >>> model = FlaxBertForMultipleChoice(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                              num_attention_heads=4, intermediate_size=64))
        >>> model(jnp.array([[[1, 2], [3, 4], [5, 6]]]), labels=jnp.array([2])).logits.shape
        (1, 3)
    """

    def __init__(self, config: BertConfig, *, rngs: nnx.Rngs | int | None = None, dtype: Any = jnp.float32,
                 param_dtype: Any = jnp.float32) -> None:
        super().__init__(config, rngs=rngs, dtype=dtype, param_dtype=param_dtype)
        self._build_bert(config, add_pooling_layer=True)
        self.dropout = _dropout(config)
        self.classifier = self._make().linear(config.hidden_size, 1)
        self.post_init()

    def __call__(self, input_ids: jax.Array | None = None, attention_mask: jax.Array | None = None,
                 token_type_ids: jax.Array | None = None, position_ids: jax.Array | None = None,
                 head_mask: jax.Array | None = None, inputs_embeds: jax.Array | None = None,
                 labels: jax.Array | None = None, output_attentions: bool | None = None,
                 output_hidden_states: bool | None = None, return_dict: bool | None = None, *,
                 rngs: nnx.Rngs | None = None) -> Any:
        """`MultipleChoiceModelOutput`: `logits` `(batch, num_choices)`; `loss` with `labels` `(batch,)`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        num_choices = multiple_choice_count(input_ids, inputs_embeds)

        def flat(array: Any) -> Any:
            return None if array is None else jnp.asarray(array).reshape(-1, *jnp.shape(array)[2:])

        out = self._encode(flags, flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                           head_mask, flat(inputs_embeds), rngs)
        logits = self.classifier(self.dropout(out.pooler_output, rngs=rngs)).reshape(-1, num_choices)
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                  attentions=out.attentions), flags.return_dict)


__all__ = [
    "FlaxBertForCausalLM",
    "FlaxBertForMultipleChoice",
    "FlaxBertForNextSentencePrediction",
    "FlaxBertForPreTraining",
    "FlaxBertForQuestionAnswering",
    "FlaxBertForTokenClassification",
    "FlaxBertLMHeadModel",
]
