"""Pieces the bench/_save_<backend>.py modules share."""

from __future__ import annotations

import os
from collections.abc import Callable

Save = Callable[[str], None]


def with_fsync(save: Save) -> Save:
    """`save(target)`, then fsync every file it wrote and the directory: the raw save made as durable as ours."""

    def durable(target: str) -> None:
        save(target)
        for name in os.listdir(target):
            fd = os.open(os.path.join(target, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    return durable
