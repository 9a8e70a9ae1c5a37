"""ModuleUtilsMixin: values of masks, counts and hooks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pretrained import PretrainedConfig
from pretrained.torch import ModuleUtilsMixin

MIN32 = torch.finfo(torch.float32).min


class Net(nn.Module, ModuleUtilsMixin):
    main_input_name = "input_ids"

    def __init__(self, is_decoder: bool = False) -> None:
        super().__init__()
        self.config = PretrainedConfig(is_decoder=is_decoder)
        self.embed = nn.Embedding(10, 3)
        self.linear = nn.Linear(3, 2)
        self.shared = self.linear  # a module registered twice: its parameters count once

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.linear(self.embed(input_ids))


def test_device_and_dtype():
    net = Net()
    assert net.device == torch.device("cpu") and net.dtype == torch.float32
    assert net.to(torch.bfloat16).dtype == torch.bfloat16


def test_encoder_extended_attention_mask_values():
    mask = Net().get_extended_attention_mask(torch.tensor([[1, 1, 0]]), (1, 3))
    assert mask.shape == (1, 1, 1, 3) and mask.dtype == torch.float32
    assert mask.flatten().tolist() == [0.0, 0.0, MIN32]


def test_3d_mask_and_dtype_argument():
    mask = Net().get_extended_attention_mask(torch.tensor([[[1, 0], [1, 1]]]), (1, 2), dtype=torch.float16)
    assert mask.shape == (1, 1, 2, 2) and mask.dtype == torch.float16
    assert mask[0, 0].tolist() == [[0.0, torch.finfo(torch.float16).min], [0.0, 0.0]]


def test_decoder_mask_is_causal_and_padded():
    mask = Net(is_decoder=True).get_extended_attention_mask(torch.tensor([[1, 1, 0]]), (1, 3))
    expected = torch.tensor([[0, MIN32, MIN32], [0, 0, MIN32], [0, 0, MIN32]])
    assert torch.equal(mask[0, 0], expected)


def test_decoder_mask_with_past_keys():
    causal = ModuleUtilsMixin.create_extended_attention_mask_for_decoder((1, 2), torch.ones(1, 4))
    assert causal[0, 0].tolist() == [[1, 1, 1, 0], [1, 1, 1, 1]]


def test_bad_mask_rank_is_refused():
    with pytest.raises(ValueError, match="2-D"):
        Net().get_extended_attention_mask(torch.ones(1, 1, 1, 3), (1, 3))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        Net().invert_attention_mask(torch.ones(3))


def test_invert_attention_mask_values():
    inverted = Net().invert_attention_mask(torch.tensor([[0, 1]]))
    assert inverted.shape == (1, 1, 1, 2) and inverted.flatten().tolist() == [MIN32, 0.0]


def test_head_mask_forms():
    net = Net()
    assert net.get_head_mask(None, 3) == [None, None, None]
    one = net.get_head_mask(torch.tensor([1.0, 0.0]), 3)
    assert one.shape == (3, 1, 2, 1, 1) and one[:, 0, :, 0, 0].tolist() == [[1.0, 0.0]] * 3
    per_layer = net.get_head_mask(torch.tensor([[1, 0], [0, 1]]), 2)
    assert per_layer.dtype == torch.float32 and per_layer[1, 0, :, 0, 0].tolist() == [0.0, 1.0]
    assert net.get_head_mask(torch.ones(2), 1, is_attention_chunked=True).dim() == 6
    with pytest.raises(ValueError, match="covers 3 layers"):
        net.get_head_mask(torch.ones(3, 2), 2)


def test_parameter_counts():
    net = Net()
    assert net.num_parameters() == 30 + 8
    assert net.num_parameters(exclude_embeddings=True) == 8
    net.linear.bias.requires_grad_(False)
    assert net.num_parameters(only_trainable=True) == 36


def test_tokens_and_flops(caplog):
    net = Net()
    assert net.estimate_tokens({"input_ids": torch.zeros(2, 5)}) == 10
    assert net.floating_point_ops({"input_ids": torch.zeros(2, 5)}) == 6 * 10 * 8
    assert net.floating_point_ops({"input_ids": torch.zeros(2, 5)}, exclude_embeddings=False) == 6 * 10 * 38
    assert net.estimate_tokens({"pixels": torch.zeros(1)}) == 0


def test_memory_hooks_accumulate_and_reset():
    net = Net()
    net.add_memory_hooks()
    net(torch.tensor([[1, 2]]))
    assert all(isinstance(m.mem_rss_diff, int) for m in net.modules())
    net.reset_memory_hooks_state()
    assert all(m.mem_rss_diff == 0 for m in net.modules())
