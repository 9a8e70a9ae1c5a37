"""`ModelOutput`: what every backend's model returns — a dict with attribute access.

Example:
    >>> from pretrained.outputs import ModelOutput
    >>> out = ModelOutput(logits=[1.0, 2.0])
    >>> out.logits == out["logits"]
    True
    >>> out.loss is None, "loss" in out
    (True, False)
"""

from __future__ import annotations

from typing import Any

# fields a model may return; reading one that was not returned gives None, as in transformers v4
KNOWN_FIELDS = frozenset(
    {"loss", "logits", "last_hidden_state", "pooler_output", "hidden_states", "attentions", "pooled_output"}
)


class ModelOutput(dict):
    """A dict of outputs whose values are also attributes; `to_tuple()` gives the values in insertion order."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name in KNOWN_FIELDS:
                return None
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (fields: {list(self)})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(self.values())
