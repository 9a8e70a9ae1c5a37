"""PyTorch <-> TensorFlow on the canonical checkpoint: save in one, load in the other, same outputs; the same weights
saved from either backend give identical tensors."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")

from safetensors.numpy import load_file  # noqa: E402

from pretrained.models import bert, resnet  # noqa: E402

ATOL = 1e-4


def bert_config(**overrides):
    values = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return bert.BertConfig(**{**values, **overrides})


def bert_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    ids = rng.integers(1, 99, size=(2, 6))
    mask = np.ones_like(ids)
    mask[0, 4:] = 0
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.array([[0, 0, 0, 1, 1, 1]] * 2)}


def run_torch(model, **inputs):
    with torch.no_grad():
        return model(**{k: torch.as_tensor(v) for k, v in inputs.items()})


def assert_same(torch_out, tf_out, names):
    for name in names:
        np.testing.assert_allclose(np.asarray(tf_out[name]), torch_out[name].numpy(), atol=ATOL, rtol=0,
                                   err_msg=name)


def assert_identical_files(a, b):
    left, right = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert left.keys() == right.keys()
    for key in left:
        assert left[key].dtype == right[key].dtype, key
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)


@pytest.mark.parametrize(
    ("torch_class", "tf_class", "outputs"),
    [
        ("BertModel", "TFBertModel", ("last_hidden_state", "pooler_output")),
        ("BertForMaskedLM", "TFBertForMaskedLM", ("logits",)),
        ("BertForSequenceClassification", "TFBertForSequenceClassification", ("logits",)),
    ],
)
def test_bert_torch_to_tf_and_back(torch_class, tf_class, outputs, tmp_path):
    torch.manual_seed(0)
    pt_model = getattr(bert, torch_class)(bert_config()).eval()
    pt_model.save_pretrained(tmp_path / "pt")
    tf_model, info = getattr(bert, tf_class).from_pretrained(tmp_path / "pt", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    inputs = bert_inputs()
    assert_same(run_torch(pt_model, **inputs), tf_model(**inputs), outputs)
    head_mask = np.array([[1, 0, 1, 1], [0, 1, 1, 0]], np.float32)  # with a head mask too
    assert_same(run_torch(pt_model, **inputs, head_mask=head_mask), tf_model(**inputs, head_mask=head_mask), outputs)
    # TF saves the very same tensors, and torch loads them back
    tf_model.save_pretrained(tmp_path / "tf")
    assert_identical_files(tmp_path / "pt", tmp_path / "tf")
    back = getattr(bert, torch_class).from_pretrained(tmp_path / "tf").eval()
    assert_same(run_torch(back, **inputs), tf_model(**inputs), outputs)


def test_bert_tf_to_torch_after_resize_and_prune(tmp_path):
    tf_model = bert.TFBertForMaskedLM(bert_config())
    tf_model.resize_token_embeddings(103, pad_to_multiple_of=8)
    tf_model.prune_heads({0: [1, 3], 1: [0]})
    tf_model.save_pretrained(tmp_path)
    pt_model, info = bert.BertForMaskedLM.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == []
    assert pt_model.config.vocab_size == 104 and pt_model.config.pruned_heads == {0: [1, 3], 1: [0]}
    inputs = bert_inputs()
    inputs["input_ids"][1, 1] = 102  # a new token
    assert_same(run_torch(pt_model.eval(), **inputs), tf_model(**inputs), ("logits",))


def test_bert_torch_to_tf_after_resize_and_prune(tmp_path):
    torch.manual_seed(1)
    pt_model = bert.BertForMaskedLM(bert_config()).eval()
    pt_model.resize_token_embeddings(110)
    pt_model.prune_heads({1: [2]})
    pt_model.save_pretrained(tmp_path)
    tf_model = bert.TFBertForMaskedLM.from_pretrained(tmp_path)
    assert tf_model.bert.encoder.layer[1].attention.pruned_heads == {2}
    inputs = bert_inputs()
    inputs["input_ids"][0, 2] = 109
    assert_same(run_torch(pt_model, **inputs), tf_model(**inputs), ("logits",))


def test_resnet_torch_to_tf_and_back(tmp_path):
    config = resnet.ResnetConfig(block_type="bottleneck", layers=[1, 2, 1, 1], stem_type="deep-tiered", stem_width=16,
                                 avg_down=True, cardinality=4, base_width=16, num_classes=7)
    torch.manual_seed(0)
    pt_model = resnet.ResnetModelForImageClassification(config).eval()
    with torch.no_grad():  # real BatchNorm statistics and non-zero last-BN weights
        for name, tensor in pt_model.state_dict().items():
            if name.endswith(("running_mean", "bias")):
                tensor.normal_(0, 0.1)
            elif name.endswith(("running_var", "bn1.weight", "bn2.weight", "bn3.weight")):
                tensor.uniform_(0.5, 1.0)
    pt_model.save_pretrained(tmp_path / "pt")
    tf_model = resnet.TFResnetModelForImageClassification.from_pretrained(tmp_path / "pt")
    pixels = np.random.default_rng(0).normal(size=(2, 3, 48, 48)).astype(np.float32)
    expected = run_torch(pt_model, pixel_values=pixels)
    assert_same(expected, tf_model(pixels), ("logits",))
    tf_model.save_pretrained(tmp_path / "tf")
    assert_identical_files(tmp_path / "pt", tmp_path / "tf")
    back = resnet.ResnetModel.from_pretrained(tmp_path / "tf").eval()
    with torch.no_grad():
        features = back(torch.as_tensor(pixels)).last_hidden_state.numpy()
    np.testing.assert_allclose(resnet.TFResnetModel.from_pretrained(tmp_path / "tf")(pixels)[0].numpy(), features,
                               atol=ATOL)
