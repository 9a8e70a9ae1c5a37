"""Comparing model outputs in tests: every array of an output (any framework) as NumPy, closeness, identity.

Example:
    >>> import numpy as np
    >>> from pretrained.testing._outputs import flat_outputs
    >>> [a.shape for a in flat_outputs({"logits": np.ones((1, 2)), "hidden": (np.ones(3), None)})]
    [(1, 2), (3,)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checkpoint import to_numpy


def flat_outputs(output: Any) -> list[np.ndarray]:
    """Every array of a model output (a `ModelOutput` / dict, a tuple or list, or one tensor of any framework), in
    order, as float32 NumPy arrays; `None` entries are skipped."""
    if output is None:
        return []
    if isinstance(output, dict):
        output = list(output.values())
    if isinstance(output, (list, tuple)):
        return [array for item in output for array in flat_outputs(item)]
    return [np.asarray(to_numpy(output)).astype(np.float32)]


def assert_outputs_close(expected: Any, actual: Any, *, atol: float = 1e-5, what: str = "outputs") -> None:
    """Two model outputs hold the same arrays: same count, shapes, and values within `atol`."""
    left, right = flat_outputs(expected), flat_outputs(actual)
    assert len(left) == len(right) and left, f"{what}: {len(left)} arrays vs {len(right)}"
    for index, (a, b) in enumerate(zip(left, right)):
        assert a.shape == b.shape, f"{what}: output {index} has shape {b.shape}, expected {a.shape}"
        np.testing.assert_allclose(b, a, atol=atol, rtol=0, err_msg=f"{what}: output {index}")


def assert_arrays_identical(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray], *,
                            what: str = "state") -> None:
    """Same keys, dtypes, shapes and bytes."""
    assert sorted(expected) == sorted(actual), f"{what}: keys differ: {sorted(set(expected) ^ set(actual))}"
    for key, value in expected.items():
        assert actual[key].dtype == value.dtype and actual[key].shape == value.shape, f"{what}: {key}"
        np.testing.assert_array_equal(actual[key], value, err_msg=f"{what}: {key}")
