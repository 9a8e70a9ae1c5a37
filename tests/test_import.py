"""`import pretrained` imports no framework; public names resolve lazily; a missing framework says which extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

FRAMEWORKS = ("torch", "tensorflow", "jax", "flax", "keras")


def run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_pretrained_imports_no_framework():
    out = run(
        f"""
        import sys, pretrained
        pretrained.PretrainedConfig, pretrained.PushToHubMixin, pretrained.AutoConfig
        import pretrained.checkpoint, pretrained.layout, pretrained.loading, pretrained.hub
        import pretrained.models.resnet, pretrained.models.bert
        pretrained.models.resnet.ResnetConfig, pretrained.models.bert.BertConfig
        print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))
        """
    )
    assert out == "[]"


def test_backend_name_imports_only_its_framework():
    out = run(
        """
        import sys, pretrained
        pretrained.PreTrainedModel
        print("torch" in sys.modules, "tensorflow" in sys.modules, "jax" in sys.modules)
        """
    )
    assert out == "True False False"


def test_unknown_name_is_an_attribute_error():
    import pretrained

    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pretrained.Nope  # noqa: B018


def test_missing_framework_names_the_extra():
    out = run(
        """
        import sys
        sys.modules["torch"] = None  # as if torch were not installed
        import pretrained
        try:
            pretrained.PreTrainedModel
        except ImportError as exc:
            print(type(exc).__name__, "pretrained[torch]" in str(exc))
        """
    )
    assert out == "MissingBackendError True"
