"""`set_seed`: one seed for Python's `random`, NumPy, and every installed framework (PyTorch, TensorFlow / Keras, JAX),
as transformers v4's `set_seed` (which covered Python, NumPy, PyTorch and TensorFlow).

JAX has no global random state: the seed is remembered here, and Flax models built without `rngs=` draw their
initial weights from it ([`default_seed`][pretrained.utils.seed.default_seed]). A framework that is not installed
is skipped; one that is installed is imported (seeding TensorFlow imports it, as v4 did).

Example:
    >>> import random
    >>> from pretrained import set_seed
    >>> set_seed(42, backends=()); a = random.random()
    >>> set_seed(42, backends=()); a == random.random()
    True
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import random
from collections.abc import Iterable

import numpy as np

BACKENDS = ("torch", "tf", "jax")
_STATE = {"seed": 0}


def default_seed() -> int:
    """The seed of the last `set_seed` call (0 before any): the default `rngs` of Flax models.

    >>> set_seed(7, backends=()); default_seed()
    7
    >>> set_seed(0, backends=())
    """
    return _STATE["seed"]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def set_seed(seed: int, *, deterministic: bool = False, backends: Iterable[str] = BACKENDS) -> None:
    """Seed `random`, NumPy and each framework of `backends` that is installed (`"torch"`, `"tf"`, `"jax"`), so
    weight initialisation, dropout and shuffling repeat from run to run.

    `deterministic=True` also asks PyTorch (`torch.use_deterministic_algorithms`) and TensorFlow
    (`tf.config.experimental.enable_op_determinism`) for deterministic kernels, as in v4.

    >>> set_seed(3, backends=()); int(np.random.randint(1000)) == (set_seed(3, backends=()) or np.random.randint(1000))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_seed(seed=...) expects an int, got {type(seed).__name__}: {seed!r}")
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown:
        raise ValueError(f"set_seed(backends=...): unknown backend(s) {unknown}; choose from {list(BACKENDS)}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _STATE["seed"] = seed
    if "torch" in backends and _installed("torch"):
        torch = importlib.import_module("torch")
        torch.manual_seed(seed)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(seed)
        if deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
    if "tf" in backends and _installed("tensorflow"):
        tf = importlib.import_module("tensorflow")
        tf.random.set_seed(seed)
        if _installed("keras"):
            importlib.import_module("keras").utils.set_random_seed(seed)
        if deterministic:
            tf.config.experimental.enable_op_determinism()
