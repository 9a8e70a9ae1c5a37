"""One generation benchmark run in a fresh process (started by bench/generate.py); prints one JSON line.

    python bench/_generate_child.py --library ours|v4 --backend torch|tf|flax --mode eager|compiled \
        --checkpoint DIR --prompt 8 --new-tokens 32 --repeats 3

`ours` runs in the project's virtual environment (pretrained on PYTHONPATH), `v4` in `.venv-anchor` (transformers
4.57.6). Both load the same checkpoint (written once by bench/generate.py) and decode greedily, batch 1, exactly
`--new-tokens` tokens (no end-of-sequence token). The first call (compilation included) is timed apart; the
reported time is the median of `--repeats` further calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _timed(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    start = time.perf_counter()
    first = fn()
    first_s = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"first_s": first_s, "times_s": times, "median_s": statistics.median(times), "tokens": first}


def _ours(backend: str, mode: str, checkpoint: str, prompt: list[list[int]], new: int) -> Callable[[], Any]:
    settings = dict(max_new_tokens=new, eos_token_id=None, pad_token_id=0)
    if backend == "torch":
        import torch

        from pretrained.models.gpt2 import GPT2LMHeadModel

        model = GPT2LMHeadModel.from_pretrained(checkpoint)
        ids = torch.tensor(prompt)
        return lambda: model.generate(ids, **settings)[0, -new:].tolist()
    if backend == "tf":
        import tensorflow as tf

        from pretrained.models.gpt2 import TFGPT2LMHeadModel

        model = TFGPT2LMHeadModel.from_pretrained(checkpoint)
        ids = tf.constant(prompt)
        generate = tf.function(lambda x: model.generate(x, **settings), jit_compile=True) if mode == "compiled" \
            else (lambda x: model.generate(x, **settings))
        return lambda: generate(ids).numpy()[0, -new:].tolist()
    import jax.numpy as jnp

    from pretrained.models.gpt2 import FlaxGPT2LMHeadModel

    model = FlaxGPT2LMHeadModel.from_pretrained(checkpoint)
    ids = jnp.asarray(prompt)
    return lambda: [int(t) for t in model.generate(ids, trace=mode == "compiled", **settings).sequences[0, -new:]]


def _v4(backend: str, mode: str, checkpoint: str, prompt: list[list[int]], new: int) -> Callable[[], Any]:
    settings = dict(max_new_tokens=new, eos_token_id=None, pad_token_id=0)
    if backend == "torch":
        import torch
        from transformers import GPT2LMHeadModel

        model = GPT2LMHeadModel.from_pretrained(checkpoint).eval()
        ids = torch.tensor(prompt)
        return lambda: model.generate(ids, attention_mask=torch.ones_like(ids), **settings)[0, -new:].tolist()
    if backend == "tf":
        import tensorflow as tf
        from transformers import TFGPT2LMHeadModel

        model = TFGPT2LMHeadModel.from_pretrained(checkpoint, from_pt=True)
        ids = tf.constant(prompt)
        generate = tf.function(lambda x: model.generate(x, **settings), jit_compile=True) if mode == "compiled" \
            else (lambda x: model.generate(x, **settings))
        return lambda: generate(ids).numpy()[0, -new:].tolist()
    import jax
    import jax.numpy as jnp
    from transformers import FlaxGPT2LMHeadModel

    model = FlaxGPT2LMHeadModel.from_pretrained(checkpoint, from_pt=True)
    ids = jnp.asarray(prompt)
    if mode == "compiled":  # v4's Flax generate traces on every call: its docs wrap it in jax.jit
        generate = jax.jit(lambda x: model.generate(x, **settings).sequences)
        return lambda: [int(t) for t in generate(ids)[0, -new:]]
    return lambda: [int(t) for t in model.generate(ids, trace=False, **settings).sequences[0, -new:]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", choices=["ours", "v4"], required=True)
    parser.add_argument("--backend", choices=["torch", "tf", "flax"], required=True)
    parser.add_argument("--mode", choices=["eager", "compiled"], required=True)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--prompt", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    prompt = [[(17 * i + 5) % 50000 + 1 for i in range(args.prompt)]]
    build = _ours if args.library == "ours" else _v4
    start = time.perf_counter()
    run = build(args.backend, args.mode, args.checkpoint, prompt, args.new_tokens)
    load_s = time.perf_counter() - start
    result = _timed(run, args.repeats)
    result.update(library=args.library, backend=args.backend, mode=args.mode, load_s=load_s,
                  new_tokens=args.new_tokens, tokens_per_s=args.new_tokens / result["median_s"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
