"""Shared pieces of bench/compare.py that run inside both environments (.venv and .venv-anchor).

Only the standard library and psutil are imported at module level: the frameworks are imported by the workload
modules' set-up step, before the measurement starts, so interpreter start and framework import never count.

A workload module exposes `WORKLOADS = {name: setup(checkpoint_dir, scratch_dir) -> action}`. `setup` does the
imports (and, for a save, the untimed load); `action()` is the measured part and returns a dict of extra
figures (e.g. `{"load_s": ..., "read_s": ...}`).
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

Action = Callable[[], dict[str, Any]]
Setup = Callable[[str, str], Action]


class PeakRSS:
    """Sample this process's RSS in a thread; `growth()` is the peak over the RSS when the sampler started.

    The kernel's `ru_maxrss` cross-checks the sampler: if it rose while sampling, it is the true peak.
    """

    def __init__(self, interval_s: float = 0.002) -> None:
        import psutil

        self._process = psutil.Process()
        self._interval_s = interval_s
        self.baseline = self._process.memory_info().rss
        self._maxrss_before = _maxrss()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory_info().rss)
            time.sleep(self._interval_s)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)
        maxrss = _maxrss()
        if maxrss > self._maxrss_before:
            self.peak = max(self.peak, maxrss)

    def growth(self) -> int:
        """Peak RSS minus the baseline, in bytes."""
        return self.peak - self.baseline


def _maxrss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def measure(setup: Setup, checkpoint: str, scratch: str) -> dict[str, Any]:
    """Run `setup` (untimed), then time `action()` and sample the peak RSS growth over the post-setup RSS."""
    action = setup(checkpoint, scratch)
    with PeakRSS() as rss:
        start = time.perf_counter()
        extra = action()
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "rss_growth": rss.growth(), "rss_baseline": rss.baseline, **extra}


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    """Call `function()`; return its result and the wall time in seconds."""
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def load_and_read(load: Callable[[], Any], read: Callable[[Any], int]) -> dict[str, Any]:
    """Time `load()` then `read(model)` separately (both inside the measured action)."""
    model, load_s = timed(load)
    n_values, read_s = timed(lambda: read(model))
    return {"load_s": load_s, "read_s": read_s, "n_tensors": n_values}


def written_bytes(directory: str) -> int:
    """Total size of the files a save wrote into `directory`."""
    import os

    return sum(os.path.getsize(os.path.join(directory, name)) for name in os.listdir(directory))


# ----------------------------------------------------------------------------- "read every weight once"
def read_torch(tensors: Iterable[Any]) -> int:
    """Sum every tensor (every byte is touched); returns how many were read."""
    import torch

    count = 0
    with torch.no_grad():
        for tensor in tensors:
            float(tensor.sum())
            count += 1
    return count


def read_tf(variables: Iterable[Any]) -> int:
    """`tf.reduce_sum` over every variable (Keras 2 `tf.Variable` or Keras 3 `keras.Variable`)."""
    import tensorflow as tf

    count = 0
    for variable in variables:
        float(tf.reduce_sum(tf.convert_to_tensor(variable)))
        count += 1
    return count


def read_arrays(arrays: Iterable[Any]) -> int:
    """NumPy sum over every array (a zero-copy host view for jax CPU arrays); no XLA compile is involved."""
    import numpy as np

    count = 0
    for array in arrays:
        float(np.asarray(array).sum())
        count += 1
    return count


def warm_torch() -> None:
    """Initialise torch's CPU kernels before the clock starts (the same for both libraries)."""
    import torch

    float(torch.ones(8).sum())


def warm_tf() -> None:
    """Initialise TensorFlow's eager context before the clock starts."""
    import tensorflow as tf

    float(tf.reduce_sum(tf.ones(8)))


def warm_jax() -> None:
    """Initialise the jax CPU backend before the clock starts."""
    import jax.numpy as jnp

    jnp.ones(8).block_until_ready()
