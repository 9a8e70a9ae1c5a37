"""`set_seed`: Python, NumPy and every installed framework repeat after the same seed."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pretrained import set_seed
from pretrained.utils.seed import default_seed


def draws() -> list[float]:
    values = [random.random(), float(np.random.rand())]
    torch = pytest.importorskip("torch")
    values.append(float(torch.rand(())))
    tf = pytest.importorskip("tensorflow")
    values.append(float(tf.random.uniform(())))
    return values


def test_same_seed_same_draws_in_every_installed_framework():
    set_seed(11)
    first = draws()
    set_seed(11)
    assert draws() == first
    set_seed(12)
    assert all(a != b for a, b in zip(draws(), first))
    assert default_seed() == 12
    set_seed(0)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="set_seed.*expects an int, got str"):
        set_seed("1")
    with pytest.raises(ValueError, match=r"unknown backend\(s\) \['mxnet'\]"):
        set_seed(1, backends=("torch", "mxnet"))
