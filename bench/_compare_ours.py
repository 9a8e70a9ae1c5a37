"""`pretrained` workloads for bench/compare.py (runs in the project's .venv): the same steps as `_compare_v4.py`.

Every backend reads the one canonical checkpoint without a flag and writes it back in the same format.
"""

from __future__ import annotations

import os
from typing import Any

from _compare_common import (
    Action,
    Setup,
    load_and_read,
    read_arrays,
    read_tf,
    read_torch,
    timed,
    warm_jax,
    warm_tf,
    warm_torch,
    written_bytes,
)

os.environ.setdefault("PRETRAINED_DISABLE_PROGRESS_BARS", "1")


def _torch_tensors(model: Any) -> list[Any]:
    return [*model.parameters(), *model.buffers()]


def _nnx_arrays(model: Any) -> list[Any]:
    import jax  # noqa: I001 (ruff's first-party guess for torch/jax/flax follows tests/<name>/ folders)
    from flax import nnx

    return jax.tree_util.tree_leaves(nnx.state(model))


def resnet_load(checkpoint: str, scratch: str) -> Action:
    """ResNet-50d (timm wrapper): `from_pretrained` + one read of every weight."""
    from pretrained.models.resnet import ResnetModelForImageClassification as cls

    warm_torch()
    return lambda: load_and_read(lambda: cls.from_pretrained(checkpoint), lambda m: read_torch(_torch_tensors(m)))


def bert_load_torch(checkpoint: str, scratch: str) -> Action:
    from pretrained.models.bert import BertModel

    warm_torch()
    return lambda: load_and_read(lambda: BertModel.from_pretrained(checkpoint),
                                 lambda m: read_torch(_torch_tensors(m)))


def bert_load_tf(checkpoint: str, scratch: str) -> Action:
    from pretrained.models.bert import TFBertModel

    warm_tf()
    return lambda: load_and_read(lambda: TFBertModel.from_pretrained(checkpoint), lambda m: read_tf(m.weights))


def bert_load_flax(checkpoint: str, scratch: str) -> Action:
    from pretrained.models.bert import FlaxBertModel

    warm_jax()
    return lambda: load_and_read(lambda: FlaxBertModel.from_pretrained(checkpoint),
                                 lambda m: read_arrays(_nnx_arrays(m)))


def _save(model: Any, scratch: str) -> Action:
    target = os.path.join(scratch, "saved")

    def action() -> dict[str, Any]:
        _, save_s = timed(lambda: model.save_pretrained(target))
        return {"save_s": save_s, "written_bytes": written_bytes(target)}

    return action


def bert_save_torch(checkpoint: str, scratch: str) -> Action:
    from pretrained.models.bert import BertModel

    return _save(BertModel.from_pretrained(checkpoint), scratch)


def bert_save_tf(checkpoint: str, scratch: str) -> Action:
    from pretrained.models.bert import TFBertModel

    return _save(TFBertModel.from_pretrained(checkpoint), scratch)


def bert_save_flax(checkpoint: str, scratch: str) -> Action:
    from pretrained.models.bert import FlaxBertModel

    return _save(FlaxBertModel.from_pretrained(checkpoint), scratch)


WORKLOADS: dict[str, Setup] = {
    "resnet_load": resnet_load,
    "bert_load_torch": bert_load_torch,
    "bert_load_tf": bert_load_tf,
    "bert_load_flax": bert_load_flax,
    "bert_save_torch": bert_save_torch,
    "bert_save_tf": bert_save_tf,
    "bert_save_flax": bert_save_flax,
}
