"""BERT's further task heads for PyTorch, state-dict compatible with transformers v4: the causal LM head (which
generates), pretraining (masked LM + next sentence), next-sentence prediction, token classification, extractive
question answering and multiple choice.

Example:
    >>> import torch
    >>> from pretrained.models.bert import BertConfig, BertForQuestionAnswering
    >>> config = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
    >>> out = BertForQuestionAnswering(config)(torch.tensor([[1, 2, 3]]))
    >>> out.start_logits.shape, out.end_logits.shape
    (torch.Size([1, 3]), torch.Size([1, 3]))
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

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
from pretrained.torch.generation import GenerationMixin

from .configuration_bert import (
    BertConfig,
    check_question_answering_labels,
    multiple_choice_count,
    warn_unless_decoder,
)
from .modeling_bert import BertForMaskedLM, BertLMPredictionHead, BertModel, BertOnlyMLMHead, BertPreTrainedModel


def _cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).to(logits.device, torch.long),
                                       ignore_index=ignore_index)


class BertOnlyNSPHead(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, pooled_output: torch.Tensor) -> torch.Tensor:
        return self.seq_relationship(pooled_output)


class BertPreTrainingHeads(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.predictions = BertLMPredictionHead(config)
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: torch.Tensor, pooled_output: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.predictions(sequence_output), self.seq_relationship(pooled_output)


class _BertHead(BertPreTrainedModel):
    """Runs the `bert` encoder for a head with the caller's output flags."""

    bert: BertModel

    def _encode(self, flags: Any, input_ids: Any, attention_mask: Any, token_type_ids: Any, position_ids: Any,
                head_mask: Any, inputs_embeds: Any) -> Any:
        return self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                         output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                         return_dict=True)


class BertLMHeadModel(_BertHead, GenerationMixin):
    """BERT as a causal language model (`config.is_decoder=True`): the masked-LM head (`cls.predictions`, tied to
    the word embeddings) over causally masked layers, cross-attention over `encoder_hidden_states` when
    `config.add_cross_attention`, a key/value cache (`past_key_values`, v4's tuple layout) and `generate()`.
    `CausalLMOutputWithCrossAttentions`; with `labels`, the next-token loss (shifted inside, -100 ignored).

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertLMHeadModel
        >>> cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, is_decoder=True)
        >>> model = BertLMHeadModel(cfg).eval()
        >>> ids = torch.tensor([[1, 2, 3]])
        >>> out = model(ids, labels=ids)
        >>> out.logits.shape, out.loss.dim(), len(model(ids).past_key_values)  # one (key, value) per layer
        (torch.Size([1, 3, 20]), 0, 1)
        >>> model.generate(ids, max_new_tokens=2).shape
        torch.Size([1, 5])
    """

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]
    get_output_embeddings = BertForMaskedLM.get_output_embeddings
    set_output_embeddings = BertForMaskedLM.set_output_embeddings

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        warn_unless_decoder(config, type(self).__name__)
        self.bert = BertModel(config, add_pooling_layer=False)
        self.cls = BertOnlyMLMHead(config)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                encoder_hidden_states: torch.Tensor | None = None, encoder_attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, past_key_values: tuple | None = None,
                use_cache: bool | None = None, output_attentions: bool | None = None,
                output_hidden_states: bool | None = None, return_dict: bool | None = None
                ) -> CausalLMOutputWithCrossAttentions | tuple[Any, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        if labels is not None:
            use_cache = False
        out = self.bert(input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds,
                        encoder_hidden_states, encoder_attention_mask, past_key_values, use_cache,
                        output_attentions=flags.output_attentions, output_hidden_states=flags.output_hidden_states,
                        return_dict=True)
        logits = self.cls(out.last_hidden_state)
        loss = None if labels is None else _cross_entropy(logits[:, :-1].float(), labels[:, 1:])
        return returned(CausalLMOutputWithCrossAttentions(
            loss=loss, logits=logits, past_key_values=out.past_key_values, hidden_states=out.hidden_states,
            attentions=out.attentions, cross_attentions=out.cross_attentions), flags.return_dict)


class BertForPreTraining(_BertHead):
    """BERT with both pretraining heads (`cls.predictions`, tied to the word embeddings, and `cls.seq_relationship`):
    `BertForPreTrainingOutput`; with `labels` (masked LM, -100 ignored) and `next_sentence_label`, `loss` is the sum
    of both cross-entropies.

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertForPreTraining
        >>> m = BertForPreTraining(BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2))
        >>> out = m(torch.tensor([[1, 2]]), labels=torch.tensor([[-100, 2]]), next_sentence_label=torch.tensor([0]))
        >>> out.prediction_logits.shape, out.seq_relationship_logits.shape, out.loss.dim()
        (torch.Size([1, 2, 20]), torch.Size([1, 2]), 0)
    """

    _tied_weights_keys = ["cls.predictions.decoder.weight", "cls.predictions.decoder.bias"]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertPreTrainingHeads(config)
        self.post_init()

    get_output_embeddings = BertForMaskedLM.get_output_embeddings
    set_output_embeddings = BertForMaskedLM.set_output_embeddings

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, next_sentence_label: torch.Tensor | None = None,
                output_attentions: bool | None = None, output_hidden_states: bool | None = None,
                return_dict: bool | None = None) -> BertForPreTrainingOutput | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds)
        prediction_logits, relationship_logits = self.cls(out.last_hidden_state, out.pooler_output)
        loss = None
        if labels is not None and next_sentence_label is not None:
            loss = _cross_entropy(prediction_logits, labels) + _cross_entropy(relationship_logits, next_sentence_label)
        return returned(BertForPreTrainingOutput(
            loss=loss, prediction_logits=prediction_logits, seq_relationship_logits=relationship_logits,
            hidden_states=out.hidden_states, attentions=out.attentions), flags.return_dict)


class BertForNextSentencePrediction(_BertHead):
    """BERT with the next-sentence head (`cls.seq_relationship` on the pooled output): `NextSentencePredictorOutput`
    (`logits (batch, 2)`, index 0: B follows A); `loss` with `labels` (v4's older `next_sentence_label` is accepted
    too).

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertForNextSentencePrediction
        >>> cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
        >>> BertForNextSentencePrediction(cfg)(torch.tensor([[1, 2]]), labels=torch.tensor([1])).logits.shape
        torch.Size([1, 2])
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        self.cls = BertOnlyNSPHead(config)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, output_attentions: bool | None = None,
                output_hidden_states: bool | None = None, return_dict: bool | None = None,
                next_sentence_label: torch.Tensor | None = None) -> NextSentencePredictorOutput | tuple[Any, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        labels = next_sentence_label if labels is None else labels
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds)
        logits = self.cls(out.pooler_output)
        loss = None if labels is None else _cross_entropy(logits, labels)
        return returned(NextSentencePredictorOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                    attentions=out.attentions), flags.return_dict)


class BertForTokenClassification(_BertHead):
    """BERT with a per-token classifier (`classifier`, after dropout): `TokenClassifierOutput` (`logits (batch, seq,
    num_labels)`; `loss`, cross-entropy over the tokens whose label is not -100, with `labels`).

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertForTokenClassification
        >>> cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, num_labels=5)
        >>> BertForTokenClassification(cfg)(torch.tensor([[1, 2]]), labels=torch.tensor([[4, -100]])).logits.shape
        torch.Size([1, 2, 5])
    """

    _keys_to_ignore_on_load_unexpected = [r"pooler"]

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, output_attentions: bool | None = None,
                output_hidden_states: bool | None = None, return_dict: bool | None = None
                ) -> TokenClassifierOutput | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds)
        logits = self.classifier(self.dropout(out.last_hidden_state))
        loss = None if labels is None else _cross_entropy(logits, labels)
        return returned(TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                              attentions=out.attentions), flags.return_dict)


class BertForQuestionAnswering(_BertHead):
    """BERT with a span head (`qa_outputs`, `config.num_labels` must be 2): `QuestionAnsweringModelOutput`
    (`start_logits`, `end_logits`, each `(batch, seq)`); with `start_positions` and `end_positions`, the mean of both
    cross-entropies (positions clamped to `[0, seq]`, a position of `seq` ignored), as v4.

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertForQuestionAnswering
        >>> cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
        >>> out = BertForQuestionAnswering(cfg)(torch.tensor([[1, 2, 3]]), start_positions=torch.tensor([1]),
        ...                                     end_positions=torch.tensor([2]))
        >>> out.loss.dim(), out.start_logits.shape
        (0, torch.Size([1, 3]))
    """

    _keys_to_ignore_on_load_unexpected = [r"pooler"]

    def __init__(self, config: BertConfig) -> None:
        check_question_answering_labels(config, type(self).__name__)
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                start_positions: torch.Tensor | None = None, end_positions: torch.Tensor | None = None,
                output_attentions: bool | None = None, output_hidden_states: bool | None = None,
                return_dict: bool | None = None) -> QuestionAnsweringModelOutput | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        out = self._encode(flags, input_ids, attention_mask, token_type_ids, position_ids, head_mask, inputs_embeds)
        start_logits, end_logits = (t.squeeze(-1).contiguous() for t in self.qa_outputs(out.last_hidden_state)
                                    .split(1, dim=-1))
        loss = None
        if start_positions is not None and end_positions is not None:
            ignored = start_logits.shape[1]
            start, end = (p.reshape(-1).clamp(0, ignored) for p in (start_positions, end_positions))
            loss = (_cross_entropy(start_logits, start, ignored) + _cross_entropy(end_logits, end, ignored)) / 2
        return returned(QuestionAnsweringModelOutput(
            loss=loss, start_logits=start_logits, end_logits=end_logits, hidden_states=out.hidden_states,
            attentions=out.attentions), flags.return_dict)


class BertForMultipleChoice(_BertHead):
    """BERT scoring each choice (`classifier` on the pooled output): inputs `(batch, num_choices, seq)`, flattened
    to `(batch * num_choices, seq)` for the encoder; `MultipleChoiceModelOutput` (`logits (batch, num_choices)`,
    `loss` with `labels` (batch,) the right choice).

    Example:
        >>> import torch
        >>> from pretrained.models.bert import BertConfig, BertForMultipleChoice
        >>> cfg = BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
        >>> BertForMultipleChoice(cfg)(torch.tensor([[[1, 2], [3, 4], [5, 6]]]), labels=torch.tensor([2])).logits.shape
        torch.Size([1, 3])
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__(config)
        self.bert = BertModel(config)
        dropout = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(self, input_ids: torch.Tensor | None = None, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                head_mask: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, output_attentions: bool | None = None,
                output_hidden_states: bool | None = None, return_dict: bool | None = None
                ) -> MultipleChoiceModelOutput | tuple[torch.Tensor, ...]:
        flags = output_flags(self.config, output_attentions, output_hidden_states, return_dict)
        num_choices = multiple_choice_count(input_ids, inputs_embeds)

        def flat(tensor: torch.Tensor | None) -> torch.Tensor | None:
            return None if tensor is None else tensor.reshape(-1, *tensor.shape[2:])

        out = self._encode(flags, flat(input_ids), flat(attention_mask), flat(token_type_ids), flat(position_ids),
                           head_mask, flat(inputs_embeds))
        logits = self.classifier(self.dropout(out.pooler_output)).reshape(-1, num_choices)
        loss = None if labels is None else _cross_entropy(logits, labels)
        return returned(MultipleChoiceModelOutput(loss=loss, logits=logits, hidden_states=out.hidden_states,
                                                  attentions=out.attentions), flags.return_dict)


__all__ = [
    "BertForMultipleChoice",
    "BertLMHeadModel",
    "BertForNextSentencePrediction",
    "BertForPreTraining",
    "BertForQuestionAnswering",
    "BertForTokenClassification",
]
