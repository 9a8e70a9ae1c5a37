"""The backend tester mixins' cross check against twin classes found by name: it passes for honest twins and
catches a square weight stored the other way round (which loads with a clean report)."""

from __future__ import annotations

import os
import sys
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
from torch import nn  # noqa: E402

from pretrained import PretrainedConfig  # noqa: E402
from pretrained.testing.cross_mixin import find_twin  # noqa: E402
from pretrained.testing.torch_mixin import TorchModelTesterMixin  # noqa: E402
from pretrained.tf import TFPreTrainedModel  # noqa: E402


class SquareConfig(PretrainedConfig):
    model_type = "twin-square"

    def __init__(self, vocab_size=9, hidden_size=6, **kwargs):
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        super().__init__(**kwargs)


def _module(name: str, wrong_layout: bool) -> types.ModuleType:
    """A user module holding `SquareModel` (torch) and `TFSquareModel`, as a package's modeling file would."""
    module = types.ModuleType(name)

    from pretrained.torch import PreTrainedModel

    class SquareModel(PreTrainedModel):
        config_class = SquareConfig

        def __init__(self, config):
            super().__init__(config)
            self.wte = nn.Embedding(config.vocab_size, config.hidden_size)
            self.mix = nn.Linear(config.hidden_size, config.hidden_size, bias=False)
            self.post_init()

        def forward(self, input_ids):
            return self.mix(self.wte(input_ids))

    class TFMix(keras.layers.Dense):
        canonical_layout = {"kernel": ("weight", "identity")} if wrong_layout else {}

    class TFSquareModel(TFPreTrainedModel):
        config_class = SquareConfig

        def __init__(self, config, **kwargs):
            super().__init__(config, **kwargs)
            self.wte = keras.layers.Embedding(config.vocab_size, config.hidden_size)
            self.mix = TFMix(config.hidden_size, use_bias=False)

        def call(self, input_ids, training=False):
            return self.mix(self.wte(input_ids))

    for cls in (SquareModel, TFSquareModel):
        cls.__module__ = name
        setattr(module, cls.__name__, cls)
    sys.modules[name] = module
    return module


def _tester(module: types.ModuleType) -> TorchModelTesterMixin:
    class Tester(TorchModelTesterMixin):
        all_model_classes = (module.SquareModel,)
        base_model_class = module.SquareModel

        def get_config(self):
            return SquareConfig()

        def get_inputs(self, config):
            return {"input_ids": np.array([[1, 2, 3]])}

    return Tester()


def test_twins_are_found_by_name_and_agree(tmp_path):
    module = _module("user_square_ok", wrong_layout=False)
    assert find_twin(module.SquareModel, "tf") is module.TFSquareModel
    assert find_twin(module.SquareModel, "flax") is None
    _tester(module).test_equivalence_with_other_backends(tmp_path)


def test_a_square_weight_stored_transposed_is_caught(tmp_path):
    module = _module("user_square_wrong", wrong_layout=True)
    with pytest.raises(AssertionError, match="SquareModel -> TFSquareModel"):
        _tester(module).test_equivalence_with_other_backends(tmp_path)
