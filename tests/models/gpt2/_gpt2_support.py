"""Shared by the GPT-2 tests: the transformers-written checkpoint and the `generate()` cases recorded with
transformers 4.57.6 (see fixtures/make_fixture.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
CHECKPOINT = FIXTURES / "transformers_gpt2_tiny"
CASES: dict[str, Any] = json.loads((FIXTURES / "generate_cases.json").read_text())


def case(name: str) -> dict[str, Any]:
    """One recorded case: `prompt` (input_ids / attention_mask lists), `kwargs`, `sequences`, ..."""
    found = next(c for c in CASES["cases"] if c["name"] == name)
    return {**found, "inputs": CASES["prompts"][found["prompt"]]}


def tiny_numpy_inputs() -> dict[str, Any]:
    """A left-padded batch for the TF / Flax common tests."""
    import numpy as np

    return {"input_ids": np.array([[0, 0, 5, 6, 7], [8, 9, 10, 11, 12]], np.int32),
            "attention_mask": np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], np.int32)}


def tiny_config_kwargs(**overrides: Any) -> dict[str, Any]:
    values = dict(vocab_size=99, n_positions=32, n_embd=32, n_layer=2, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0,
                  attn_pdrop=0.0, pad_token_id=0, num_labels=3)
    return {**values, **overrides}
