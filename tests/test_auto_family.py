"""transformers v4's Auto family exists in every backend, works with register_for_auto_class and
trust_remote_code, and maps GPT-2 / BERT / ResNet."""

from __future__ import annotations

import importlib
import textwrap
import uuid
from pathlib import Path

import pytest

import pretrained
from pretrained.auto_names import MODEL_MAPPING_NAMES, backend_auto_names
from pretrained.dynamic import check_auto_class

TASKS = ("AutoModel", "AutoModelForCausalLM", "AutoModelForMaskedLM", "AutoModelForSequenceClassification",
         "AutoModelForTokenClassification", "AutoModelForQuestionAnswering", "AutoModelForMultipleChoice",
         "AutoModelForPreTraining", "AutoModelForNextSentencePrediction", "AutoModelForImageClassification")


@pytest.mark.parametrize("prefix", ["", "TF", "Flax"])
def test_every_task_in_every_backend(prefix):
    assert set(TASKS) == set(MODEL_MAPPING_NAMES)
    for task in TASKS:
        name = prefix + task
        assert check_auto_class(name) == name  # register_for_auto_class accepts it
        assert name in backend_auto_names({"": "torch", "TF": "tf", "Flax": "flax"}[prefix])
        assert name in pretrained.__all__
    assert getattr(pretrained, prefix + "AutoModelForCausalLM").__name__ == prefix + "AutoModelForCausalLM"


def test_gpt2_in_the_mappings():
    from pretrained import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForPreTraining

    config = AutoConfig.for_model("gpt2", vocab_size=20, n_embd=8, n_layer=1, n_head=2)
    assert type(AutoModelForCausalLM.from_config(config)).__name__ == "GPT2LMHeadModel"
    assert type(AutoModelForPreTraining.from_config(config)).__name__ == "GPT2LMHeadModel"
    assert type(AutoModel.from_config(config)).__name__ == "GPT2Model"
    with pytest.raises(ValueError, match="Unrecognized configuration class"):
        pretrained.AutoModelForTokenClassification.from_config(config)


MODELING = '''
from pretrained.models.gpt2 import GPT2Config, GPT2LMHeadModel


class ShoutConfig(GPT2Config):
    model_type = "{model_type}"


class ShoutLM(GPT2LMHeadModel):
    """A GPT-2 whose logits favour token 3 (so the shipped code is visibly the one that ran)."""

    config_class = ShoutConfig

    def forward(self, *args, **kwargs):
        out = super().forward(*args, **kwargs)
        out["logits"] = out["logits"].index_add(-1, __import__("torch").tensor([3]),
                                                __import__("torch").full(out["logits"].shape[:-1] + (1,), 1e4))
        return out
'''


def test_register_for_causal_lm_ships_code_that_trust_remote_code_loads(tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("PRETRAINED_MODULES_CACHE", str(tmp_path / "modules"))
    package = f"shout_{uuid.uuid4().hex[:8]}"
    (tmp_path / "src" / package).mkdir(parents=True)
    (tmp_path / "src" / package / "__init__.py").write_text("")
    model_type = f"shout-{uuid.uuid4().hex[:6]}"
    (tmp_path / "src" / package / "modeling_shout.py").write_text(textwrap.dedent(MODELING.format(
        model_type=model_type)))
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    module = importlib.import_module(f"{package}.modeling_shout")
    module.ShoutConfig.register_for_auto_class()
    module.ShoutLM.register_for_auto_class("AutoModelForCausalLM")
    config = module.ShoutConfig(vocab_size=20, n_embd=8, n_layer=1, n_head=2, eos_token_id=None)
    module.ShoutLM(config).save_pretrained(tmp_path / "saved")
    assert (Path(tmp_path / "saved") / "modeling_shout.py").exists()
    with pytest.raises(ValueError, match="trust_remote_code"):
        pretrained.AutoModelForCausalLM.from_pretrained(tmp_path / "saved", trust_remote_code=False)
    loaded = pretrained.AutoModelForCausalLM.from_pretrained(tmp_path / "saved", trust_remote_code=True)
    assert type(loaded).__name__ == "ShoutLM" and loaded.can_generate()
    assert loaded.generate(torch.tensor([[1, 2]]), max_new_tokens=3).tolist() == [[1, 2, 3, 3, 3]]
