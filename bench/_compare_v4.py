"""transformers v4 (4.57.6) workloads for bench/compare.py; runs in .venv-anchor only.

The ResNet classes are the transformers custom-models guide's `ResnetConfig` / `ResnetModelForImageClassification`
(timm's ResNet as `self.model`), so the state dict is identical to `pretrained.models.resnet`'s.
v4's TF and Flax classes load the PyTorch-format checkpoint with `from_pt=True`; their saves use
`safe_serialization=True` (safetensors in v4's own TF / Flax layout, the closest to a like-for-like write).
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

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # v4's TF classes run on tf-keras (Keras 2)
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def guide_resnet_classes() -> tuple[type, type]:
    """The custom-models guide's classes, verbatim in substance."""
    import torch  # noqa: I001 (ruff's first-party guess for torch/jax/flax follows tests/<name>/ folders)
    from timm.models.resnet import BasicBlock, Bottleneck, ResNet
    from transformers import PretrainedConfig, PreTrainedModel

    class ResnetConfig(PretrainedConfig):
        model_type = "resnet"

        def __init__(self, block_type="bottleneck", layers=[3, 4, 6, 3], num_classes=1000,  # noqa: B006
                     input_channels=3, cardinality=1, base_width=64, stem_width=64, stem_type="",
                     avg_down=False, **kwargs):
            self.block_type = block_type
            self.layers = layers
            self.num_classes = num_classes
            self.input_channels = input_channels
            self.cardinality = cardinality
            self.base_width = base_width
            self.stem_width = stem_width
            self.stem_type = stem_type
            self.avg_down = avg_down
            super().__init__(**kwargs)

    blocks = {"basic": BasicBlock, "bottleneck": Bottleneck}

    class ResnetModelForImageClassification(PreTrainedModel):
        config_class = ResnetConfig

        def __init__(self, config):
            super().__init__(config)
            self.model = ResNet(blocks[config.block_type], config.layers, num_classes=config.num_classes,
                                in_chans=config.input_channels, cardinality=config.cardinality,
                                base_width=config.base_width, stem_width=config.stem_width,
                                stem_type=config.stem_type, avg_down=config.avg_down)

        def forward(self, tensor, labels=None):
            logits = self.model(tensor)
            if labels is not None:
                return {"loss": torch.nn.functional.cross_entropy(logits, labels), "logits": logits}
            return {"logits": logits}

    return ResnetConfig, ResnetModelForImageClassification


def _torch_tensors(model: Any) -> list[Any]:
    return [*model.parameters(), *model.buffers()]


def resnet_load(checkpoint: str, scratch: str) -> Action:
    """The guide's ResNet-50d: `from_pretrained` + one read of every weight."""
    _, cls = guide_resnet_classes()
    warm_torch()
    return lambda: load_and_read(lambda: cls.from_pretrained(checkpoint), lambda m: read_torch(_torch_tensors(m)))


def bert_load_torch(checkpoint: str, scratch: str) -> Action:
    from transformers import BertModel

    warm_torch()
    return lambda: load_and_read(lambda: BertModel.from_pretrained(checkpoint),
                                 lambda m: read_torch(_torch_tensors(m)))


def bert_load_tf(checkpoint: str, scratch: str) -> Action:
    from transformers import TFBertModel

    warm_tf()
    return lambda: load_and_read(lambda: TFBertModel.from_pretrained(checkpoint, from_pt=True),
                                 lambda m: read_tf(m.weights))


def bert_load_flax(checkpoint: str, scratch: str) -> Action:
    import jax
    from transformers import FlaxBertModel

    warm_jax()
    return lambda: load_and_read(lambda: FlaxBertModel.from_pretrained(checkpoint, from_pt=True),
                                 lambda m: read_arrays(jax.tree_util.tree_leaves(m.params)))


def _save(model: Any, scratch: str) -> Action:
    target = os.path.join(scratch, "saved")

    def action() -> dict[str, Any]:
        _, save_s = timed(lambda: model.save_pretrained(target, safe_serialization=True))
        return {"save_s": save_s, "written_bytes": written_bytes(target)}

    return action


def bert_save_torch(checkpoint: str, scratch: str) -> Action:
    from transformers import BertModel

    return _save(BertModel.from_pretrained(checkpoint), scratch)


def bert_save_tf(checkpoint: str, scratch: str) -> Action:
    from transformers import TFBertModel

    return _save(TFBertModel.from_pretrained(checkpoint, from_pt=True), scratch)


def bert_save_flax(checkpoint: str, scratch: str) -> Action:
    from transformers import FlaxBertModel

    return _save(FlaxBertModel.from_pretrained(checkpoint, from_pt=True), scratch)


WORKLOADS: dict[str, Setup] = {
    "resnet_load": resnet_load,
    "bert_load_torch": bert_load_torch,
    "bert_load_tf": bert_load_tf,
    "bert_load_flax": bert_load_flax,
    "bert_save_torch": bert_save_torch,
    "bert_save_tf": bert_save_tf,
    "bert_save_flax": bert_save_flax,
}
