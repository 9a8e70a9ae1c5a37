"""`BertConfig`: the fields (and defaults) of transformers' BERT config, so its config.json loads as is."""

from __future__ import annotations

from typing import Any

from pretrained.attention import attention_head_size
from pretrained.configuration import PretrainedConfig
from pretrained.errors import ConfigError
from pretrained.utils import logging

logger = logging.get_logger(__name__)

POSITION_EMBEDDING_TYPES = ("absolute",)


class BertConfig(PretrainedConfig):
    """Configuration of a BERT-layout encoder (BERT-base defaults).

    Structural constraints (the heads divide `hidden_size`, an `"absolute"` position embedding) are checked when a
    model is built, as in transformers v4, so any combination can be stored and edited.

    Example:
        >>> from pretrained.models.bert import BertConfig
        >>> config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)
        >>> config.hidden_size // config.num_attention_heads
        16
    """

    model_type = "bert"

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        pad_token_id: int = 0,
        position_embedding_type: str = "absolute",
        use_cache: bool = True,
        classifier_dropout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.hidden_act = hidden_act
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.position_embedding_type = position_embedding_type
        self.use_cache = use_cache
        self.classifier_dropout = classifier_dropout


    def validate_structure(self) -> None:
        """Heads that divide the hidden size (both positive integers) and a supported position embedding, checked
        when a model is built (as in v4).

        >>> BertConfig(hidden_size=37, num_attention_heads=4).validate_structure()
        Traceback (most recent call last):
        ...
        pretrained.errors.ConfigError: The hidden size (37) is not a multiple of the number of attention heads (4)
        """
        attention_head_size(self.hidden_size, self.num_attention_heads)
        check_position_embedding_type(self)

def check_position_embedding_type(config: BertConfig) -> None:
    """`ConfigError` unless the config asks for a supported position embedding (checked at model build).

    >>> check_position_embedding_type(BertConfig(position_embedding_type="relative_key"))
    Traceback (most recent call last):
    ...
    pretrained.errors.ConfigError: position_embedding_type='relative_key' is not supported by this BERT; supported: ['absolute']
    """
    kind = getattr(config, "position_embedding_type", "absolute")
    if kind not in POSITION_EMBEDDING_TYPES:
        raise ConfigError(f"position_embedding_type={kind!r} is not supported by this BERT; supported: "
                          f"{list(POSITION_EMBEDDING_TYPES)}")


def check_question_answering_labels(config: BertConfig, model_name: str) -> None:
    """`ConfigError` unless `config.num_labels == 2` (a start and an end logit per token), checked at model build.

    >>> check_question_answering_labels(BertConfig(num_labels=3), "BertForQuestionAnswering")
    Traceback (most recent call last):
    ...
    pretrained.errors.ConfigError: BertForQuestionAnswering needs config.num_labels == 2 (start and end logits), got 3
    """
    if config.num_labels != 2:
        raise ConfigError(f"{model_name} needs config.num_labels == 2 (start and end logits), got {config.num_labels}")


def multiple_choice_count(input_ids: Any, inputs_embeds: Any) -> int:
    """The number of choices of multiple-choice inputs: `input_ids` `(batch, num_choices, seq)` or `inputs_embeds`
    `(batch, num_choices, seq, hidden)`; a `ValueError` naming the expected shape otherwise.

    >>> import numpy as np
    >>> multiple_choice_count(np.zeros((2, 4, 7)), None)
    4
    >>> multiple_choice_count(np.zeros((2, 7)), None)
    Traceback (most recent call last):
    ...
    ValueError: multiple-choice input_ids must be (batch, num_choices, seq), got shape (2, 7)
    """
    if input_ids is not None:
        name, shape, rank = "input_ids", tuple(input_ids.shape), 3
    elif inputs_embeds is not None:
        name, shape, rank = "inputs_embeds", tuple(inputs_embeds.shape), 4
    else:
        raise ValueError("pass exactly one of input_ids and inputs_embeds")
    if len(shape) != rank:
        expected = "(batch, num_choices, seq)" if rank == 3 else "(batch, num_choices, seq, hidden)"
        raise ValueError(f"multiple-choice {name} must be {expected}, got shape {shape}")
    return int(shape[1])


def check_cross_attention(config: BertConfig) -> bool:
    """Whether the layers get cross-attention (`config.add_cross_attention`); v4's `ValueError` when the config is
    not a decoder's.

    >>> check_cross_attention(BertConfig(is_decoder=True, add_cross_attention=True))
    True
    >>> check_cross_attention(BertConfig(add_cross_attention=True))
    Traceback (most recent call last):
    ...
    ValueError: add_cross_attention=True needs is_decoder=True: cross-attention is for a decoder
    """
    if not config.add_cross_attention:
        return False
    if not config.is_decoder:
        raise ValueError("add_cross_attention=True needs is_decoder=True: cross-attention is for a decoder")
    return True


def missing_cross_attention_message(layer: Any) -> str:
    """v4's error for `encoder_hidden_states` given to a layer built without cross-attention."""
    return (f"encoder_hidden_states were passed, but {type(layer).__name__} has no cross-attention layers: build the "
            "model with config.add_cross_attention=True (and is_decoder=True)")


def warn_unless_decoder(config: BertConfig, model_name: str) -> None:
    """v4's warning when the causal LM head is built on a config that is not a decoder's (no causal mask)."""
    if not config.is_decoder:
        logger.warning(f"If you want to use `{model_name}` as a standalone, add `is_decoder=True.`")
