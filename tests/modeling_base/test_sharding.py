"""The framework-free shard plan (modeling_base/_sharding.py): splits, slices, and every bad plan's error."""

from __future__ import annotations

import pytest

from pretrained.errors import ConfigError
from pretrained.layout import CanonicalVariable
from pretrained.modeling_base import plan_shards, tp_plan_rules

VARIABLES = {
    "layer.0.fc.weight": CanonicalVariable("layer.0.fc.weight", (8, 6), "float32", path=("layer", "0", "fc")),
    "layer.0.fc.bias": CanonicalVariable("layer.0.fc.bias", (8,), "float32"),
    "layer.0.out.weight": CanonicalVariable("layer.0.out.weight", (6, 8), "float32"),
    "emb.weight": CanonicalVariable("emb.weight", (10, 6), "float32"),
}


def test_first_matching_rule_wins_and_slices_cover_the_tensor():
    plan = plan_shards(VARIABLES, [(r"fc\.weight", ("tp", None)), (r"weight", ())], {"tp": 2}, option="rules")
    assert list(plan) == ["layer.0.fc.weight"]
    split = plan["layer.0.fc.weight"]
    assert [split.index({"tp": r}, {"tp": 2}) for r in range(2)] == [[(0, 4), (0, 6)], [(4, 8), (0, 6)]]


def test_kernel_layout_specs_become_canonical_dimensions():
    kernel = {"fc.weight": CanonicalVariable("fc.weight", (6, 8), "float32", transform="kernel")}
    split = plan_shards(kernel, [("fc", (None, "tp"))], {"tp": 4}, option="rules")["fc.weight"]
    assert split.shape == (8, 6) and split.axes == (("tp",), ()) and split.backend_spec() == (None, ("tp",))
    assert split.canonical_index([(0, 6), (2, 4)]) == [(2, 4), (0, 6)]


def test_two_axes_on_one_dimension():
    split = plan_shards(VARIABLES, [("fc.weight", (("dp", "tp"), None))], {"dp": 2, "tp": 2}, option="r")
    assert split["layer.0.fc.weight"].index({"dp": 1, "tp": 0}, {"dp": 2, "tp": 2})[0] == (4, 6)


def test_tp_plan_styles():
    keys = list(VARIABLES)
    rules = tp_plan_rules({"layer.*.fc": "colwise", "layer.*.out": "rowwise", "emb": "colwise"}, keys, axis="tp",
                          embeddings=["emb"])
    plan = plan_shards(VARIABLES, rules, {"tp": 2}, option="tp_plan")
    assert {k: s.axes for k, s in plan.items()} == {
        "layer.0.fc.weight": (("tp",), ()), "layer.0.fc.bias": (("tp",),), "layer.0.out.weight": ((), ("tp",)),
        "emb.weight": ((), ("tp",))}


def test_tp_plan_patterns_may_omit_the_base_model_prefix():
    rules = tp_plan_rules({"layer.*.fc": "colwise"}, ["bert.layer.0.fc.weight"], axis="tp", prefix="bert")
    assert len(rules) == 1


@pytest.mark.parametrize(("rules", "sizes", "message"), [
    ([("nothing", ("tp",))], {"tp": 2}, "rules: rule 'nothing' matches no parameter of the model"),
    ([("fc.weight", ("model",))], {"tp": 2}, "rules: rule 'fc.weight' names mesh axis 'model', but the mesh has "
                                             "the axes ['tp']"),
    ([("fc.weight", ("tp",))], {"tp": 3}, "rules: rule 'fc.weight' splits dimension 0 of layer.0.fc.weight (shape "
                                          "(8, 6)) 3 ways over mesh axes ['tp']; 8 is not divisible by 3"),
    ([("fc.bias", ("tp", None))], {"tp": 2}, "rules: rule 'fc.bias' gives layer.0.fc.bias (shape (8,)) a spec of 2"),
    ([("fc.weight", ("tp", "tp"))], {"tp": 2}, "rules: rule 'fc.weight' uses mesh axis 'tp' twice"),
    ([("(", ())], {"tp": 2}, "rules: rule '(' is not a regular expression"),
])
def test_bad_rules_are_named(rules, sizes, message):
    with pytest.raises(ConfigError) as info:
        plan_shards(VARIABLES, rules, sizes, option="rules")
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize(("plan", "message"), [
    ({"layer.*.nothing": "colwise"}, "tp_plan: module pattern 'layer.*.nothing' matches no parameter of the model"),
    ({"layer.*.fc": "sideways"}, "tp_plan: 'layer.*.fc' has style 'sideways'; expected one of ['colwise', "),
])
def test_bad_tp_plans_are_named(plan, message):
    with pytest.raises(ConfigError) as info:
        tp_plan_rules(plan, list(VARIABLES), axis="tp")
    assert str(info.value).startswith(message), str(info.value)
