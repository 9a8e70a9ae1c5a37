"""torch <-> Flax on the canonical checkpoint: save in one, load in the other, equal outputs; saving the same
weights from either side gives identical tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("flax")

from safetensors.numpy import load_file  # noqa: E402

from pretrained.models.bert import (  # noqa: E402
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    FlaxBertForMaskedLM,
    FlaxBertForSequenceClassification,
)
from pretrained.models.resnet import (  # noqa: E402
    FlaxResnetModelForImageClassification,
    ResnetConfig,
    ResnetModelForImageClassification,
)

ATOL = 1e-4


def bert_config(**kwargs) -> BertConfig:
    return BertConfig(**{**dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=37, max_position_embeddings=32, num_labels=3), **kwargs})


INPUTS = {
    "input_ids": np.array([[5, 6, 7, 8, 9, 10, 98], [12, 13, 14, 15, 16, 0, 0]]),
    "attention_mask": np.array([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]]),
    "token_type_ids": np.array([[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1]]),
}
HEAD_MASK = np.array([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.5, 1.0]], np.float32)


def torch_out(model, **extra) -> dict[str, np.ndarray]:
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in {**INPUTS, **extra}.items()})
    return {k: v.numpy() for k, v in out.items() if isinstance(v, torch.Tensor)}


def flax_out(model, **extra) -> dict[str, np.ndarray]:
    out = model(**INPUTS, **extra)
    return {k: np.asarray(v) for k, v in out.items() if not isinstance(v, tuple)}


def assert_same_outputs(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=ATOL, rtol=0, err_msg=key)


def assert_same_files(a: Path, b: Path) -> None:
    left, right = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype, key
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)


@pytest.mark.parametrize(("torch_class", "flax_class"), [(BertForMaskedLM, FlaxBertForMaskedLM),
                                                         (BertForSequenceClassification,
                                                          FlaxBertForSequenceClassification)])
def test_bert_torch_to_flax_and_back(torch_class, flax_class, tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = torch_class(bert_config()).eval()
    reference.save_pretrained(tmp_path / "pt")
    model, info = flax_class.from_pretrained(tmp_path / "pt", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert_same_outputs(torch_out(reference), flax_out(model))
    assert_same_outputs(torch_out(reference, head_mask=HEAD_MASK), flax_out(model, head_mask=HEAD_MASK))
    model.save_pretrained(tmp_path / "flax")
    assert_same_files(tmp_path / "pt", tmp_path / "flax")
    back = torch_class.from_pretrained(tmp_path / "flax").eval()
    assert_same_outputs(torch_out(reference), torch_out(back))


def test_bert_flax_to_torch_after_resize_and_pruning(tmp_path: Path) -> None:
    model = FlaxBertForMaskedLM(bert_config()).eval()
    model.resize_token_embeddings(101)
    model.prune_heads({0: [1, 3], -1: [0]})
    model.save_pretrained(tmp_path / "flax")
    loaded = BertForMaskedLM.from_pretrained(tmp_path / "flax").eval()
    assert loaded.config.vocab_size == 101 and loaded.config.pruned_heads == {0: [1, 3], -1: [0]}
    assert_same_outputs(flax_out(model), torch_out(loaded))
    loaded.save_pretrained(tmp_path / "pt")
    assert_same_files(tmp_path / "flax", tmp_path / "pt")


def test_bert_torch_resized_and_pruned_to_flax(tmp_path: Path) -> None:
    torch.manual_seed(1)
    reference = BertForMaskedLM(bert_config()).eval()
    reference.resize_token_embeddings(104, mean_resizing=False)
    reference.prune_heads({1: [2]})
    reference.save_pretrained(tmp_path)
    model = FlaxBertForMaskedLM.from_pretrained(tmp_path)
    assert model.get_input_embeddings().num_embeddings == 104
    assert model.bert.encoder.layer[1].attention.self.num_attention_heads == 3
    assert_same_outputs(torch_out(reference), flax_out(model))


def test_resnet_both_ways(tmp_path: Path) -> None:
    config = ResnetConfig(block_type="bottleneck", layers=[1, 1, 1, 1], stem_type="deep", stem_width=16,
                          avg_down=True, num_classes=5)
    torch.manual_seed(0)
    reference = ResnetModelForImageClassification(config).eval()
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(1.0, 2.0)
                module.weight.uniform_(0.5, 1.0)
    reference.save_pretrained(tmp_path / "pt")
    model = FlaxResnetModelForImageClassification.from_pretrained(tmp_path / "pt")
    pixels = np.random.default_rng(0).normal(size=(1, 3, 40, 40)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(pixels)).logits.numpy()
    np.testing.assert_allclose(np.asarray(model(pixels).logits), expected, atol=ATOL, rtol=0)
    model.save_pretrained(tmp_path / "flax")
    assert_same_files(tmp_path / "pt", tmp_path / "flax")
    back = ResnetModelForImageClassification.from_pretrained(tmp_path / "flax").eval()
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(pixels)).logits.numpy(), expected, atol=1e-6, rtol=0)
