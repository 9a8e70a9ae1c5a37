"""pytest plugin (entry point ``pretrained``): the ``local_hub`` fixture.

Registered through ``[project.entry-points.pytest11]`` so any test in an environment where `pretrained` is installed
can request it, without a conftest.

Example:
    >>> # in a test module
    >>> def test_upload(local_hub):
    ...     from huggingface_hub import HfApi
    ...     HfApi().create_repo("tiny")
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .hub import LocalHub


@pytest.fixture
def local_hub(tmp_path: Path) -> Iterator[LocalHub]:
    """A started :class:`~pretrained.testing.LocalHub` storing under ``tmp_path``.

    Repos go to ``tmp_path / "hub"`` and ``HF_HOME`` (hence the download cache) to ``tmp_path / "hf_home"``; every
    ``huggingface_hub`` call made during the test (subprocesses included) talks to it, and the environment is
    restored afterwards.

    Example:
        >>> def test_roundtrip(local_hub):
        ...     assert local_hub.endpoint.startswith("http://127.0.0.1:")
    """
    from .hub import LocalHub

    with LocalHub(root=tmp_path / "hub", hf_home=tmp_path / "hf_home") as hub:
        yield hub
