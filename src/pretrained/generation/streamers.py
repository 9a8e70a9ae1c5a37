"""Streamers: `generate(..., streamer=...)` hands them the tokens as they are produced.

`streamer.put(value)` receives the prompt first (batch, prompt_length), then each step's new tokens (batch,), as
the backend's tensors; `streamer.end()` is called once generation finishes (transformers v4's protocol). Under
TensorFlow's `tf.function` a streamer cannot run (refused); Flax calls it from inside the compiled loop.

Example:
    >>> from pretrained.generation.streamers import TokenStreamer
    >>> seen = []
    >>> streamer = TokenStreamer(on_token=lambda tokens: seen.append(tokens.tolist()))
    >>> streamer.put([[5, 6]]); streamer.put([7]); streamer.put([8]); streamer.end()
    >>> seen, streamer.generated_tokens().tolist(), streamer.finished
    ([[7], [8]], [[7, 8]], True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class BaseStreamer:
    """Base class of streamers: implement `put(value)` and `end()`."""

    def put(self, value: Any) -> None:
        """Receive the prompt (first call) or one step's tokens."""
        raise NotImplementedError

    def end(self) -> None:
        """Generation is over."""
        raise NotImplementedError


class TokenStreamer(BaseStreamer):
    """Collects the generated token ids as NumPy arrays and calls `on_token(tokens)` (one int per sequence) after
    every step (and once with the prompt, (batch, length), when `skip_prompt=False`). Works with every backend.
    """

    def __init__(self, on_token: Callable[[np.ndarray], Any] | None = None, *, skip_prompt: bool = True,
                 on_end: Callable[[], Any] | None = None) -> None:
        self.on_token = on_token
        self.on_end = on_end
        self.skip_prompt = skip_prompt
        self.prompt: np.ndarray | None = None
        self.steps: list[np.ndarray] = []
        self.finished = False

    def put(self, value: Any) -> None:
        array = np.asarray(value)
        if self.prompt is None and array.ndim == 2:
            self.prompt = array
            if not self.skip_prompt and self.on_token is not None:
                self.on_token(array)
            return
        self.steps.append(array.reshape(-1))
        if self.on_token is not None:
            self.on_token(array.reshape(-1))

    def end(self) -> None:
        self.finished = True
        if self.on_end is not None:
            self.on_end()

    def generated_tokens(self) -> np.ndarray:
        """(batch, steps) array of everything streamed after the prompt."""
        if not self.steps:
            return np.zeros((0 if self.prompt is None else len(self.prompt), 0), np.int64)
        return np.stack(self.steps, axis=1)


__all__ = ["BaseStreamer", "TokenStreamer"]
