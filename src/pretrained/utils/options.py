"""Keyword-option helpers shared by every public entry point: typo suggestions and v4's deprecated spellings.

Example:
    >>> from pretrained.utils.options import check_unknown_options
    >>> check_unknown_options({"max_shard_sise": "1KB"}, ["max_shard_size", "variant"], call="save_pretrained")
    Traceback (most recent call last):
    ...
    TypeError: save_pretrained() got an unexpected keyword argument 'max_shard_sise'; did you mean 'max_shard_size'?
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable
from typing import Any


def check_unknown_options(unknown: Iterable[str], valid: Iterable[str], *, call: str) -> None:
    """Raise `TypeError` for the first name of `unknown`, naming the closest name of `valid` when one is close.

    >>> check_unknown_options([], ["a"], call="f")
    """
    unknown = list(unknown)
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, sorted(set(valid)), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    others = f" (also: {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else ""
    raise TypeError(f"{call}() got an unexpected keyword argument {name!r}{hint}{others}")


def pop_deprecated_token(kwargs: dict[str, Any], token: Any = None) -> Any:
    """The token to use given v4's deprecated `use_auth_token=` in `kwargs` (popped, with a `FutureWarning`) and
    the `token` passed explicitly.

    >>> pop_deprecated_token({}, "hf_x")
    'hf_x'
    """
    if "use_auth_token" not in kwargs:
        return token
    legacy = kwargs.pop("use_auth_token")
    warnings.warn("`use_auth_token` is deprecated (as in transformers v4): pass `token` instead.", FutureWarning,
                  stacklevel=3)
    if token is not None and legacy is not None and token != legacy:
        raise ValueError("`token` and `use_auth_token` are both given and differ: pass only `token`")
    return legacy if token is None else token
