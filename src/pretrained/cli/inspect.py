"""`pretrained inspect`: a checkpoint summarised from its headers (config, parameters by module, dtypes, files)."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from typing import Any

from ..layout import is_num_batches_tracked
from ._common import Source, human_count, human_size, locate

HELP = "summarise a checkpoint from its headers"

# config.json fields every model has: left out of the summary unless they say something
_BASE_FIELDS = {
    "return_dict", "output_hidden_states", "output_attentions", "torchscript", "use_bfloat16", "tf_legacy_loss",
    "pruned_heads", "tie_word_embeddings", "chunk_size_feed_forward", "is_encoder_decoder", "is_decoder",
    "cross_attention_hidden_size", "add_cross_attention", "tie_encoder_decoder", "finetuning_task", "id2label",
    "label2id", "tokenizer_class", "prefix", "bos_token_id", "pad_token_id", "eos_token_id", "sep_token_id",
    "decoder_start_token_id", "task_specific_params", "problem_type", "transformers_version", "_name_or_path",
    "_commit_hash", "_attn_implementation_autoset", "model_type", "architectures", "dtype", "torch_dtype",
    "pretrained_version",
}


def inspect_source(source: Source) -> dict[str, Any]:
    """Everything `pretrained inspect` reports, as a JSON-ready dict (headers only for safetensors)."""
    config = source.config_dict()
    with source.open() as reader:
        infos = [reader.info(key) for key in reader.keys()]
        metadata = dict(getattr(reader, "metadata", {}) or {})
    params = [i for i in infos if not is_num_batches_tracked(i.key)]
    dtypes: dict[str, dict[str, int]] = {}
    for info in params:
        entry = dtypes.setdefault(info.dtype, {"tensors": 0, "parameters": 0, "bytes": 0})
        entry["tensors"] += 1
        entry["parameters"] += math.prod(info.shape)
        entry["bytes"] += info.nbytes
    return {
        "source": source.name,
        "format": source.kind,
        "metadata_format": metadata.get("format") if source.kind == "safetensors" else None,
        "files": [p.name for p in source.files],
        "sharded": len(source.files) > 1 or source.index_path is not None,
        "size_on_disk": source.size_on_disk(),
        "config": _config_summary(config),
        "num_tensors": len(infos),
        "num_parameters": sum(math.prod(i.shape) for i in params),
        "parameters_by_module": _by_module(params),
        "dtypes": dtypes,
    }


def _config_summary(config: dict[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    fields = {k: v for k, v in config.items() if k not in _BASE_FIELDS and not k.startswith("_")}
    summary = {"model_type": config.get("model_type"), "architectures": config.get("architectures"),
               "dtype": config.get("dtype", config.get("torch_dtype"))}
    summary.update({k: v for k, v in fields.items() if isinstance(v, (int, float, str, bool, list)) or v is None})
    return summary


def _by_module(infos: list[Any]) -> dict[str, int]:
    """Parameters per top-level module; one level deeper when everything sits under one module."""
    def group(depth: int) -> dict[str, int]:
        out: dict[str, int] = {}
        for info in infos:
            parts = info.key.split(".")
            name = ".".join(parts[: max(1, min(depth, len(parts) - 1))])
            out[name] = out.get(name, 0) + math.prod(info.shape)
        return out

    top = group(1)
    return group(2) if len(top) == 1 and infos else top


def format_inspect(report: dict[str, Any]) -> str:
    """The human-readable form of [`inspect_source`][pretrained.cli.inspect.inspect_source]'s report."""
    lines = [f"{report['source']}"]
    fmt = report["format"] + (f" (metadata format: {report['metadata_format']})" if report["metadata_format"] else "")
    if report["format"] in ("bin", "msgpack"):
        fmt += " - legacy; `pretrained convert` writes canonical safetensors"
    lines.append(f"  format:      {fmt}")
    shards = f"{len(report['files'])} file(s)" + (", sharded" if report["sharded"] else "")
    lines.append(f"  files:       {shards}, {human_size(report['size_on_disk'])} on disk")
    config = report["config"]
    if config is None:
        lines.append("  config:      (no config.json)")
    else:
        lines.append(f"  model_type:  {config.get('model_type')}   architectures: {config.get('architectures')}")
        extra = {k: v for k, v in config.items() if k not in ("model_type", "architectures")}
        lines.append("  config:      " + ", ".join(f"{k}={v}" for k, v in extra.items()))
    lines.append(f"  parameters:  {human_count(report['num_parameters'])} ({report['num_parameters']:,}) in "
                 f"{report['num_tensors']} tensors")
    for name, count in report["parameters_by_module"].items():
        lines.append(f"    {name:<40} {human_count(count):>8}")
    for dtype, entry in report["dtypes"].items():
        lines.append(f"  dtype {dtype:<9} {entry['tensors']} tensors, {human_count(entry['parameters'])} parameters, "
                     f"{human_size(entry['bytes'])}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="PATH_OR_REPO")
    parser.add_argument("--revision", help="branch, tag or commit of a Hub repo")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")


def run(args: argparse.Namespace, echo: Callable[[str], None]) -> int:
    report = inspect_source(locate(args.source, revision=args.revision))
    echo(json.dumps(report, indent=2) if args.json else format_inspect(report))
    return 0
