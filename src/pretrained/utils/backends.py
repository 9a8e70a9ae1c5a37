"""Which extra installs which framework, and the one known clash between two of them. Framework-free."""

from __future__ import annotations

import importlib.util
import sys
import warnings

# top-level module -> the extra of `pretrained` that installs it
EXTRAS = {
    "torch": "torch", "torchvision": "torch", "timm": "torch",
    "tensorflow": "tf", "keras": "tf",
    "jax": "flax", "jaxlib": "flax", "flax": "flax",
}

TRITON_WARNING = (
    "pretrained: PyTorch's `triton` package is installed and TensorFlow shares this process; importing torchvision "
    "or timm after TensorFlow then crashes with a segmentation fault (both bundle LLVM). triton only serves "
    "torch.compile on GPUs: on a CPU machine remove it with `pip uninstall triton` (see the installation guide)."
)
_triton_warned = False


def extra_for(module: str | None) -> str | None:
    """The extra that installs `module` (a dotted name), or None when it is not a framework."""
    return EXTRAS.get((module or "").partition(".")[0])


def warn_if_triton_beside_tensorflow(loading: str) -> None:
    """Warn once when the torch or TF backend (`loading`: "torch" / "tensorflow") loads while the other framework
    is already imported and `triton` is installed: that process is one import away from a segfault."""
    global _triton_warned
    other = "tensorflow" if loading == "torch" else "torch"
    if _triton_warned or other not in sys.modules or importlib.util.find_spec("triton") is None:
        return
    _triton_warned = True
    warnings.warn(TRITON_WARNING, RuntimeWarning, stacklevel=3)
