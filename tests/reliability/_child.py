"""Subprocess side of the reliability tests: save / push / load a BERT model, optionally pausing at a named point.

    python _child.py save DIR --seed 1 [--layers 5] [--small] [--shard 50MB] [--pause POINT] [--go FILE] [--repeat N]
    python _child.py push REPO_ID --seed 1 [--pause POINT]
    python _child.py load NAME [--go FILE] [--local-files-only]
    python _child.py fsize DIR --limit BYTES --seed 1

    python _child.py loop DIR --backend core|torch|tf|flax --seed START --log FILE [--in-place]   # _loop.py

Pause points (the child prints `PAUSED <point>` and sleeps until the parent SIGKILLs it): see `PAUSE_POINTS`.
`--in-place` turns the directory exchange off (the fallback commit).
With `--go FILE` the child prints `PAUSED ready` once set up, then waits for FILE to exist before it starts.
Results are printed as one `RESULT <json>` line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import signal
import sys
import time


def pause(point: str) -> None:
    print(f"PAUSED {point}", flush=True)
    time.sleep(3600)
    sys.exit(3)  # never reached: the parent kills us


# named pause points -> (crash point of pretrained.checkpoint._commit, which occurrence)
PAUSE_POINTS = {
    "before-first-shard": ("before-first-shard", 1),  # config.json staged, no shard written yet
    "between-shards": ("shard", 2),  # two shards written and fsynced, the third about to start
    "index": ("index", 1),  # every shard and the index written, nothing switched yet
    "commit": ("commit", 1),  # under the directory lock, about to switch (exchange or renames)
    "config": ("config", 1),  # in place only: config.json renamed, the weights not yet switched
    "cleanup": ("cleanup", 1),  # switched; the replaced files not yet removed
}


def install_pause(point: str | None) -> None:
    if not point:
        return
    from pretrained.checkpoint import _commit

    if point not in PAUSE_POINTS:
        raise SystemExit(f"unknown pause point {point!r}")
    target, nth = PAUSE_POINTS[point]
    calls = {"n": 0}

    def hook(name: str) -> None:
        if name == target:
            calls["n"] += 1
            if calls["n"] == nth:
                pause(point)

    _commit._crash_hook = hook


def digests(model) -> dict[str, str]:
    out = {}
    for key, tensor in model.state_dict().items():
        array = tensor.detach().cpu().contiguous().numpy()
        out[key] = hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()
    return out


def build(seed: int, layers: int, small: bool = False):
    import torch

    from pretrained.models.bert import BertConfig, BertModel

    torch.manual_seed(seed)
    sizes = {"vocab_size": 5000, "hidden_size": 256, "intermediate_size": 1024, "num_attention_heads": 4} if small else {}
    return BertModel(BertConfig(num_hidden_layers=layers, **sizes))


def wait_for(go: str | None) -> None:
    if go:
        print("PAUSED ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.002)


def result(payload) -> None:
    print("RESULT " + json.dumps(payload), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["save", "push", "load", "fsize", "loop"])
    parser.add_argument("target")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--shard", default="50MB")
    parser.add_argument("--pause")
    parser.add_argument("--go")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--local-files-only", action="store_true")
    parser.add_argument("--small", action="store_true", help="vocab 5000, hidden 256: about 4 MB per layer")
    parser.add_argument("--repeat", type=int, default=1, help="save this many times in a row")
    parser.add_argument("--in-place", action="store_true", help="commit in place (no directory exchange)")
    parser.add_argument("--backend", default="torch", choices=["core", "torch", "tf", "flax"], help="for loop")
    parser.add_argument("--log", help="for loop: the BEGIN / DONE log file")
    args = parser.parse_args()
    if args.in_place:
        from pretrained.checkpoint import _commit

        _commit.USE_EXCHANGE = False
    if args.mode == "loop":
        from _loop import loop

        loop(args.target, args.seed, args.backend, args.log)
        return

    if args.mode == "load":
        from pretrained.models.bert import BertModel

        wait_for(args.go)
        model = BertModel.from_pretrained(args.target, local_files_only=args.local_files_only)
        result(digests(model))
        return

    model = build(args.seed, args.layers, args.small)
    if args.pause:
        result({"planned": digests(model)})  # what a completed save would hold
    install_pause(args.pause)
    if args.mode == "save":
        wait_for(args.go)
        for _ in range(args.repeat):
            model.save_pretrained(args.target, max_shard_size=args.shard)
        result(digests(model))
    elif args.mode == "push":
        info = model.push_to_hub(args.target, max_shard_size=args.shard)
        result({"oid": info.oid, "tensors": digests(model)})
    elif args.mode == "fsize":
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.limit, args.limit))
        try:
            model.save_pretrained(args.target, max_shard_size=args.shard)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which judges it
            result({"raised": True, "type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__],
                    "message": str(exc)})
        else:
            result({"raised": False})


if __name__ == "__main__":
    main()
