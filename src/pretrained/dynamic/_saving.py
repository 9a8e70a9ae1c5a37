"""Saving code with a checkpoint: the defining `.py` file of each registered class, and the same-folder files it
imports relatively, are copied next to the weights and recorded in `config.auto_map`."""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

from ..utils import logging
from ._parsing import parse_code_file, relative_imports
from ._registering import check_auto_class, registered_model_classes

logger = logging.get_logger(__name__)


def custom_object_save(obj: Any, save_directory: str | os.PathLike, config: Any = None) -> list[Path]:
    """Copy the code of `obj`'s class (and of the config class, and of sibling-backend classes registered for the
    same config) into `save_directory`, and record it in `config.auto_map`. Returns the files written.

    Classes defined in `__main__` cannot be shipped: a warning is logged and nothing is copied.

    Example:
        >>> import pathlib, sys
        >>> package = pathlib.Path("project", "my_model")  # a user's package: my_model/configuration_my.py
        >>> package.mkdir(parents=True)
        >>> _ = package.joinpath("configuration_my.py").write_text(
        ...     "from pretrained import PretrainedConfig\\n\\n"
        ...     "class MyConfig(PretrainedConfig):\\n    model_type = 'my-doc-shipped'\\n")
        >>> sys.path.insert(0, "project")
        >>> from my_model.configuration_my import MyConfig
        >>> MyConfig.register_for_auto_class()
        >>> config = MyConfig()
        >>> pathlib.Path("out").mkdir()  # save_pretrained's directory
        >>> custom_object_save(config, "out", config=config)
        [PosixPath('out/configuration_my.py')]
        >>> config.auto_map
        {'AutoConfig': 'configuration_my.MyConfig'}
        >>> sys.path.remove("project")
    """
    save_directory = Path(save_directory)
    entries: dict[str, str] = {}
    written: list[Path] = []
    for auto_class, klass in _classes_to_ship(obj, config):
        source = _defining_file(klass)
        if source is None:
            continue
        for path in _with_relative_imports(source):
            written.append(_copy_code_file(path, save_directory))
        entries[auto_class] = f"{source.stem}.{klass.__name__}"
    if config is not None and entries:
        current = config.auto_map if isinstance(config.auto_map, dict) else {}
        config.auto_map = {**current, **entries}
    return written


def _classes_to_ship(obj: Any, config: Any) -> list[tuple[str, type]]:
    obj_class = obj if isinstance(obj, type) else type(obj)
    candidates = [obj_class]
    if config is not None:
        candidates.append(type(config))
        candidates.extend(registered_model_classes(type(config)))
    found: list[tuple[str, type]] = []
    for klass in dict.fromkeys(candidates):
        auto_class = getattr(klass, "_auto_class", None)
        if auto_class is not None:
            found.append((check_auto_class(auto_class), klass))
    return found


def _defining_file(klass: type) -> Path | None:
    module = sys.modules.get(klass.__module__)
    filename = getattr(module, "__file__", None)
    if klass.__module__ == "__main__" or filename is None:
        logger.warning(
            "%s is defined in %s: its code cannot be saved with the checkpoint. Move it into a module file (e.g. "
            "modeling_my.py) and import it from there.", klass.__name__, klass.__module__,
        )
        return None
    path = Path(filename)
    if path.suffix != ".py" or path.stem == "__init__":
        logger.warning("%s is defined in %s: only classes defined in a module .py file can be saved.", klass, path)
        return None
    return path


def _with_relative_imports(source: Path) -> list[Path]:
    """`source` and the same-folder files it imports relatively, recursively."""
    found: dict[Path, None] = {}
    todo = [source]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found[path] = None
        same_folder, outside = relative_imports(parse_code_file(path))
        for text in outside:
            logger.warning(
                "%s: `%s` reaches outside its folder and cannot be shipped with the checkpoint; import library code "
                "absolutely (e.g. `from pretrained.torch import PreTrainedModel`).", path, text,
            )
        for name in same_folder:
            candidate = path.parent / f"{name}.py"
            if candidate.is_file():
                todo.append(candidate)
            elif (path.parent / name).is_dir():
                logger.warning("%s: subpackage %r cannot be shipped with the checkpoint; use module files", path, name)
    return list(found)


def _copy_code_file(path: Path, save_directory: Path) -> Path:
    destination = save_directory / path.name
    if destination.exists() and os.path.samefile(path, destination):
        return destination
    temp = save_directory / f".tmp-{uuid.uuid4().hex[:12]}-{path.name}"
    shutil.copyfile(path, temp)
    os.replace(temp, destination)
    return destination
