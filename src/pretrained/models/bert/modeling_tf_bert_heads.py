"""BERT's further task heads in TensorFlow (Keras 3), with the canonical keys of transformers' PyTorch BERT: the
causal LM head (which generates, with a static cache), pretraining, next-sentence prediction, token classification,
question answering and multiple choice.

Example:
    >>> import numpy as np
    >>> from pretrained.models.bert import BertConfig, TFBertForQuestionAnswering
    >>> config = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
    ...                     intermediate_size=64)
    >>> out = TFBertForQuestionAnswering(config)(np.array([[1, 2, 3]]))
    >>> tuple(out.start_logits.shape), tuple(out.end_logits.shape)
    ((1, 3), (1, 3))
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

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
from pretrained.tf.generation import StaticCache, TFGenerationMixin
from pretrained.tf.variables import ContainerLayer, declare_input_shape

from .configuration_bert import (
    BertConfig,
    check_question_answering_labels,
    multiple_choice_count,
    warn_unless_decoder,
)
from .modeling_tf_bert import (
    TFBertForMaskedLM,
    TFBertLMPredictionHead,
    TFBertMainLayer,
    TFBertOnlyMLMHead,
    TFBertPreTrainedModel,
    _dense,
    _masked_lm_loss,
)


def _pooled_dense(config: BertConfig, units: int, name: str) -> keras.layers.Dense:
    return declare_input_shape(_dense(config, units, name), (None, config.hidden_size))


def _dropout(config: BertConfig) -> keras.layers.Dropout:
    rate = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
    return keras.layers.Dropout(rate)


class TFBertOnlyNSPHead(ContainerLayer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seq_relationship = _pooled_dense(config, 2, "seq_relationship")

    def call(self, pooled_output: Any) -> Any:
        return self.seq_relationship(pooled_output)


class TFBertPreTrainingHeads(ContainerLayer):
    def __init__(self, config: BertConfig, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.predictions = TFBertLMPredictionHead(config, name="predictions")
        self.seq_relationship = _pooled_dense(config, 2, "seq_relationship")

    def call(self, sequence_output: Any, pooled_output: Any, embedding_matrix: Any = None) -> tuple[Any, Any]:
        return (self.predictions(sequence_output, embedding_matrix=embedding_matrix),
                self.seq_relationship(pooled_output))


class _TFBertHead(TFBertPreTrainedModel):
    """Runs the `bert` layer for a head with the caller's output flags."""

    bert: TFBertMainLayer

    def _encode(self, flags: Any, input_ids: Any, attention_mask: Any, token_type_ids: Any, position_ids: Any,
                head_mask: Any, inputs_embeds: Any, training: bool) -> Any:
        return self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                         position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
                         output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                         return_dict=True, training=training)


class TFBertLMHeadModel(_TFBertHead, TFGenerationMixin):
    """BERT as a causal language model (`config.is_decoder=True`): the masked-LM head (`cls.predictions`, tied to
    the word embeddings by default) over causally masked layers, cross-attention over `encoder_hidden_states` when
    `config.add_cross_attention`, a static key/value cache and `generate()`. `CausalLMOutputWithCrossAttentions`;
    with `labels`, the next-token loss (shifted inside, -100 ignored).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertLMHeadModel
        >>> model = TFBertLMHeadModel(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                      num_attention_heads=4, intermediate_size=64, is_decoder=True))
        >>> ids = np.array([[1, 2, 3]])
        >>> tuple(model(ids, labels=ids).logits.shape), tuple(model.generate(ids, max_new_tokens=2).shape)
        ((1, 3, 50), (1, 5))
    """

    _keys_to_ignore_on_load_unexpected = TFBertForMaskedLM._keys_to_ignore_on_load_unexpected
    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        warn_unless_decoder(config, "BertLMHeadModel")
        self.bert = TFBertMainLayer(config, add_pooling_layer=False, name="bert")
        self.cls = TFBertOnlyMLMHead(config, name="cls")

    get_output_embeddings = TFBertForMaskedLM.get_output_embeddings
    set_output_embeddings = TFBertForMaskedLM.set_output_embeddings
    get_lm_head = TFBertForMaskedLM.get_lm_head
    get_bias = TFBertForMaskedLM.get_bias
    set_bias = TFBertForMaskedLM.set_bias

    def init_cache(self, batch_size: int, max_length: int) -> StaticCache:
        """An empty [`StaticCache`][pretrained.generation.static.StaticCache] for `generate()`."""
        layer = self.bert.encoder.layer[0].attention.self_attention
        shape = (batch_size, layer.num_attention_heads, max_length, layer.attention_head_size)
        zeros = ops.zeros(shape, dtype=self.compute_dtype or "float32")
        return StaticCache(ops.convert_to_tensor(0, "int32"),
                           tuple((zeros, zeros) for _ in range(self.config.num_hidden_layers)))

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
             encoder_hidden_states: Any = None, encoder_attention_mask: Any = None, labels: Any = None,
             past_key_values: StaticCache | None = None, use_cache: bool | None = None,
             output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, training: bool = False) -> Any:
        """`CausalLMOutputWithCrossAttentions`: `logits` `(batch, seq, vocab)`, the cache when given one, `loss`
        with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                        position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
                        encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_attention_mask,
                        past_key_values=past_key_values, use_cache=use_cache,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True, training=training)
        matrix = self.bert.get_input_embeddings().embeddings if self.cls.predictions.decoder is None else None
        logits = self.cls(out.last_hidden_state, embedding_matrix=matrix)
        loss = None if labels is None else _masked_lm_loss(logits[:, :-1], ops.convert_to_tensor(labels)[:, 1:])
        return returned(CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions, cross_attentions=out.cross_attentions), flags.return_dict)


class TFBertForPreTraining(_TFBertHead):
    """BERT with both pretraining heads (`cls.predictions`, tied to the word embeddings by default, and
    `cls.seq_relationship`): `BertForPreTrainingOutput`; `loss` (masked LM + next sentence) with `labels` and
    `next_sentence_label`.

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertForPreTraining
        >>> model = TFBertForPreTraining(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                         num_attention_heads=4, intermediate_size=64))
        >>> out = model(np.array([[1, 2]]), labels=np.array([[-100, 2]]), next_sentence_label=np.array([1]))
        >>> tuple(out.prediction_logits.shape), tuple(out.seq_relationship_logits.shape), tuple(out.loss.shape)
        ((1, 2, 50), (1, 2), ())
    """

    _keys_to_ignore_on_load_unexpected = [r"^cls\.predictions\.decoder\.(weight|bias)$"]
    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.bert = TFBertMainLayer(config, name="bert")
        self.cls = TFBertPreTrainingHeads(config, name="cls")

    get_output_embeddings = TFBertForMaskedLM.get_output_embeddings
    set_output_embeddings = TFBertForMaskedLM.set_output_embeddings
    get_lm_head = TFBertForMaskedLM.get_lm_head
    get_bias = TFBertForMaskedLM.get_bias
    set_bias = TFBertForMaskedLM.set_bias

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None, labels: Any = None,
             next_sentence_label: Any = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, return_dict: bool | None = None,
             training: bool = False) -> Any:
        """`BertForPreTrainingOutput`: `prediction_logits`, `seq_relationship_logits`, `loss` given both labels."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           training)
        matrix = self.bert.get_input_embeddings().embeddings if self.cls.predictions.decoder is None else None
        prediction_logits, relationship_logits = self.cls(out.last_hidden_state, out.pooler_output,
                                                          embedding_matrix=matrix)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = _masked_lm_loss(prediction_logits, labels) + _masked_lm_loss(relationship_logits,
                                                                                next_sentence_label)
        return returned(BertForPreTrainingOutput(
            loss=loss, prediction_logits=prediction_logits, seq_relationship_logits=relationship_logits,
            hidden_states=out.hidden_states, attentions=out.attentions), flags.return_dict)


class TFBertForNextSentencePrediction(_TFBertHead):
    """BERT with the next-sentence head (`cls.seq_relationship`): `NextSentencePredictorOutput` (`logits (batch,
    2)`); `loss` with `labels` or v4 TF's `next_sentence_label`.

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertForNextSentencePrediction
        >>> model = TFBertForNextSentencePrediction(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                                    num_attention_heads=4, intermediate_size=64))
        >>> tuple(model(np.array([[1, 2]]), next_sentence_label=np.array([0])).logits.shape)
        (1, 2)
    """

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.bert = TFBertMainLayer(config, name="bert")
        self.cls = TFBertOnlyNSPHead(config, name="cls")

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None, labels: Any = None,
             output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, next_sentence_label: Any = None, training: bool = False) -> Any:
        """`NextSentencePredictorOutput`: `logits` `(batch, 2)`; `loss` with a label."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        labels = next_sentence_label if labels is None else labels
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           training)
        logits = self.cls(out.pooler_output)
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(NextSentencePredictorOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                    attentions=out.attentions), flags.return_dict)


class TFBertForTokenClassification(_TFBertHead):
    """BERT with a per-token classifier (`classifier`): `TokenClassifierOutput` (`logits (batch, seq, num_labels)`;
    `loss` over the labels that are not -100).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertForTokenClassification
        >>> model = TFBertForTokenClassification(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                                 num_attention_heads=4, intermediate_size=64))
        >>> tuple(model(np.array([[1, 2]]), labels=np.array([[1, -100]])).logits.shape)
        (1, 2, 2)
    """

    _keys_to_ignore_on_load_unexpected = [r"pooler"]

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.num_labels = config.num_labels
        self.bert = TFBertMainLayer(config, add_pooling_layer=False, name="bert")
        self.dropout = _dropout(config)
        self.classifier = _dense(config, config.num_labels, "classifier")

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None, labels: Any = None,
             output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, training: bool = False) -> Any:
        """`TokenClassifierOutput`: `logits` `(batch, seq, num_labels)`; `loss` with `labels`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           training)
        logits = self.classifier(self.dropout(out.last_hidden_state, training=training))
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                              attentions=out.attentions), flags.return_dict)


def _span_loss(logits: Any, positions: Any) -> Any:
    """v4's span loss: positions clamped to `[0, seq]`, a position of `seq` ignored."""
    length = ops.shape(logits)[1]
    positions = ops.clip(ops.reshape(ops.cast(positions, "int32"), (-1,)), 0, length)
    return _masked_lm_loss(logits, ops.where(positions == length, -100, positions))


class TFBertForQuestionAnswering(_TFBertHead):
    """BERT with a span head (`qa_outputs`, `config.num_labels == 2`): `QuestionAnsweringModelOutput`
    (`start_logits`, `end_logits`); with `start_positions` and `end_positions`, the mean of both cross-entropies.

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertForQuestionAnswering
        >>> model = TFBertForQuestionAnswering(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                               num_attention_heads=4, intermediate_size=64))
        >>> out = model(np.array([[1, 2, 3]]), start_positions=np.array([1]), end_positions=np.array([2]))
        >>> tuple(out.loss.shape), tuple(out.end_logits.shape)
        ((), (1, 3))
    """

    _keys_to_ignore_on_load_unexpected = [r"pooler"]

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        check_question_answering_labels(config, type(self).__name__)
        super().__init__(config, *inputs, **kwargs)
        self.num_labels = config.num_labels
        self.bert = TFBertMainLayer(config, add_pooling_layer=False, name="bert")
        self.qa_outputs = _dense(config, config.num_labels, "qa_outputs")

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None,
             start_positions: Any = None, end_positions: Any = None, output_attentions: bool | None = None,
             output_hidden_states: bool | None = None, return_dict: bool | None = None,
             training: bool = False) -> Any:
        """`QuestionAnsweringModelOutput`: `start_logits`, `end_logits` `(batch, seq)`; `loss` given both
        positions."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                           training)
        logits = self.qa_outputs(out.last_hidden_state)
        start_logits, end_logits = logits[..., 0], logits[..., 1]
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = (_span_loss(start_logits, start_positions) + _span_loss(end_logits, end_positions)) / 2
        return returned(QuestionAnsweringModelOutput(
            loss=loss, start_logits=start_logits, end_logits=end_logits, hidden_states=out.hidden_states,
            attentions=out.attentions), flags.return_dict)


class TFBertForMultipleChoice(_TFBertHead):
    """BERT scoring each choice (`classifier` on the pooled output): inputs `(batch, num_choices, seq)`;
    `MultipleChoiceModelOutput` (`logits (batch, num_choices)`, `loss` with `labels`).

    Example:
        >>> import numpy as np
        >>> from pretrained.models.bert import BertConfig, TFBertForMultipleChoice
        >>> model = TFBertForMultipleChoice(BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2,
        ...                                            num_attention_heads=4, intermediate_size=64))
        >>> tuple(model(np.array([[[1, 2], [3, 4], [5, 6]]]), labels=np.array([2])).logits.shape)
        (1, 3)
    """

    def __init__(self, config: BertConfig, *inputs: Any, **kwargs: Any) -> None:
        super().__init__(config, *inputs, **kwargs)
        self.bert = TFBertMainLayer(config, name="bert")
        self.dropout = _dropout(config)
        self.classifier = _pooled_dense(config, 1, "classifier")

    @property
    def dummy_inputs(self) -> dict[str, Any]:
        return {name: value[:, None] for name, value in super().dummy_inputs.items()}

    def call(self, input_ids: Any = None, attention_mask: Any = None, token_type_ids: Any = None,
             position_ids: Any = None, head_mask: Any = None, inputs_embeds: Any = None, labels: Any = None,
             output_attentions: bool | None = None, output_hidden_states: bool | None = None,
             return_dict: bool | None = None, training: bool = False) -> Any:
        """`MultipleChoiceModelOutput`: `logits` `(batch, num_choices)`; `loss` with `labels` `(batch,)`."""
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        num_choices = multiple_choice_count(input_ids, inputs_embeds)

        def flat(tensor: Any) -> Any:
            return None if tensor is None else ops.reshape(tensor, (-1, *ops.shape(tensor)[2:]))

        out = self._encode(flags, flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                           head_mask, flat(inputs_embeds), training)
        logits = ops.reshape(self.classifier(self.dropout(out.pooler_output, training=training)), (-1, num_choices))
        loss = None if labels is None else _masked_lm_loss(logits, labels)
        return returned(MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                  attentions=out.attentions), flags.return_dict)


__all__ = [
    "TFBertForMultipleChoice",
    "TFBertLMHeadModel",
    "TFBertForNextSentencePrediction",
    "TFBertForPreTraining",
    "TFBertForQuestionAnswering",
    "TFBertForTokenClassification",
]
