"""Registering a class for an Auto class: `register_for_auto_class` checks the name and remembers, per config class,
the model classes whose code a save must ship."""

from __future__ import annotations

from ..auto_names import AutoModelClassMarker, auto_class_names

# config class -> model classes registered for an Auto class
_SHIPPED: dict[type, list[type]] = {}


def check_auto_class(auto_class: str | type) -> str:
    """The name of `auto_class` (a name or an Auto class), checked against the Auto classes that exist.

    Example:
        >>> check_auto_class("AutoModelForImageClassification")
        'AutoModelForImageClassification'
    """
    if isinstance(auto_class, type):
        if issubclass(auto_class, AutoModelClassMarker) or auto_class.__name__ == "AutoConfig":
            return auto_class.__name__
        raise ValueError(f"{auto_class.__name__} is not an Auto class.")
    if auto_class not in auto_class_names():
        raise ValueError(f"{auto_class!r} is not a valid auto class: use one of {', '.join(auto_class_names())}.")
    return auto_class


def register_for_auto_class(cls: type, auto_class: str | type) -> None:
    """What every `register_for_auto_class` classmethod does: validate the name, mark `cls` so `save_pretrained`
    ships its code, and remember it so saving any model of the same config ships it too (all backends at once).

    Example:
        >>> from pretrained import PretrainedConfig
        >>> class MyConfig(PretrainedConfig):
        ...     model_type = "my-doc-config"
        >>> register_for_auto_class(MyConfig, "AutoConfig")
        >>> MyConfig._auto_class
        'AutoConfig'
    """
    cls._auto_class = check_auto_class(auto_class)
    config_class = getattr(cls, "config_class", None)
    if isinstance(config_class, type):
        shipped = _SHIPPED.setdefault(config_class, [])
        if cls not in shipped:
            shipped.append(cls)


def registered_model_classes(config_class: type) -> list[type]:
    """The model classes registered for an Auto class whose `config_class` is `config_class` (all backends)."""
    return list(_SHIPPED.get(config_class, []))
