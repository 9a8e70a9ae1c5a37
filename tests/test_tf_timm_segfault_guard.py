"""TensorFlow imported before timm/torchvision must not crash (torch's `triton` + TensorFlow segfault together).

Runs in a subprocess: a segfault there fails this test instead of killing the test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("timm")

CODE = textwrap.dedent(
    """
    import tensorflow as tf
    import timm, torch
    model = timm.create_model("resnet18", pretrained=False, num_classes=3).eval()
    with torch.no_grad():
        out = model(torch.ones(1, 3, 32, 32))
    conv = tf.nn.conv2d(tf.ones((1, 8, 8, 3)), tf.ones((3, 3, 3, 4)), strides=1, padding="VALID")
    print(tuple(out.shape), tuple(conv.shape), float(conv[0, 0, 0, 0]))
    """
)


def test_tensorflow_then_timm_runs_a_convolution():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, (
        f"exit code {result.returncode} (-11 is the triton segfault: `pip uninstall -y triton`)\n{result.stderr[-3000:]}"
    )
    assert result.stdout.strip().splitlines()[-1] == "(1, 3) (1, 6, 6, 4) 27.0"
