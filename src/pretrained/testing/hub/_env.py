"""Point ``huggingface_hub`` (this process and its subprocesses) at a local endpoint, and undo it exactly.

``huggingface_hub`` reads most of its configuration from the environment ONCE, at import time, into
``huggingface_hub.constants``, and a few modules copy those values again (``from ..constants import X``, the
module-level ``HfApi()`` behind ``huggingface_hub.upload_file`` & co, the module-level ``HfFileSystem()``...).
Setting ``HF_ENDPOINT`` after import therefore does nothing in-process: every such copy has to be patched.

Example:
    >>> import tempfile
    >>> env = HubEnvironment("http://127.0.0.1:9", tempfile.mkdtemp(), token="hf_local")
    >>> env.apply()
    >>> import huggingface_hub.constants as constants
    >>> constants.ENDPOINT
    'http://127.0.0.1:9'
    >>> env.restore()
    >>> constants.ENDPOINT != 'http://127.0.0.1:9'
    True
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["HubEnvironment"]

_MISSING = object()

# Environment variables removed while the local Hub is active (they would redirect or override it in subprocesses).
_UNSET_ENV = (
    "HUGGINGFACE_CO_STAGING",  # staging mode overrides HF_ENDPOINT
    "HF_TOKEN_PATH",
    "HF_XET_CACHE",
    "HF_OIDC_RESOURCE",  # would trigger an OIDC token exchange with the real Hub
    "HUGGINGFACE_HUB_CACHE",
    "HUGGINGFACE_ASSETS_CACHE",
)


class HubEnvironment:
    """Environment variables + in-process patches that send every ``huggingface_hub`` call to ``endpoint``.

    Args:
        endpoint: Base URL of the Hub to use, e.g. ``"http://127.0.0.1:8080"``.
        hf_home: Directory used as ``HF_HOME`` (the download cache goes to ``hf_home/hub``).
        token: Value for ``HF_TOKEN``.

    Example:
        >>> import tempfile
        >>> env = HubEnvironment("http://127.0.0.1:9", tempfile.mkdtemp())
        >>> env.apply(); import os; os.environ["HF_ENDPOINT"]
        'http://127.0.0.1:9'
        >>> env.restore()
    """

    def __init__(self, endpoint: str, hf_home: str | os.PathLike[str], token: str = "hf_local") -> None:
        self.endpoint = endpoint.rstrip("/")
        self.hf_home = str(Path(hf_home).resolve())
        self.token = token
        self._saved_env: dict[str, str | None] | None = None
        self._saved_attrs: list[tuple[Any, str, Any]] = []

    # ------------------------------------------------------------------ values
    def env_values(self) -> dict[str, str]:
        """The environment variables set while active (inherited by subprocesses)."""
        return {
            "HF_ENDPOINT": self.endpoint,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_UPDATE_CHECK": "1",
            "HF_HUB_OFFLINE": "0",
            "HF_TOKEN": self.token,
            "HF_HOME": self.hf_home,
            "HF_HUB_CACHE": os.path.join(self.hf_home, "hub"),
            "HF_ASSETS_CACHE": os.path.join(self.hf_home, "assets"),
        }

    def constant_values(self) -> dict[str, Any]:
        """Values for ``huggingface_hub.constants`` attributes derived from the environment at import time."""
        home = self.hf_home
        host = urlsplit(self.endpoint).hostname or ""
        return {
            "ENDPOINT": self.endpoint,
            "HUGGINGFACE_CO_URL_TEMPLATE": self.endpoint + "/{repo_id}/resolve/{revision}/{filename}",
            "HF_URL_HOSTS": frozenset({"hf.co", "huggingface.co", "hub-ci.huggingface.co", host.lower()} - {""}),
            "_staging_mode": False,
            "HF_HOME": home,
            "default_cache_path": os.path.join(home, "hub"),
            "default_assets_cache_path": os.path.join(home, "assets"),
            "HUGGINGFACE_HUB_CACHE": os.path.join(home, "hub"),
            "HUGGINGFACE_ASSETS_CACHE": os.path.join(home, "assets"),
            "HF_HUB_CACHE": os.path.join(home, "hub"),
            "HF_ASSETS_CACHE": os.path.join(home, "assets"),
            "HF_TOKEN_PATH": os.path.join(home, "token"),
            "HF_STORED_TOKENS_PATH": os.path.join(home, "stored_tokens"),
            "CHECK_FOR_UPDATE_DONE_PATH": os.path.join(home, ".check_for_update_done"),
            "CHECK_FOR_SKILL_UPDATE_DONE_PATH": os.path.join(home, ".check_for_skill_update_done"),
            "AGENT_HARNESSES_PATH": os.path.join(home, ".agent_harnesses.json"),
            "default_xet_cache_path": os.path.join(home, "xet"),
            "HF_XET_CACHE": os.path.join(home, "xet"),
            "HF_HUB_DISABLE_XET": True,
            "HF_HUB_DISABLE_TELEMETRY": True,
            "HF_HUB_DISABLE_UPDATE_CHECK": True,
            "HF_HUB_OFFLINE": False,
        }

    # ------------------------------------------------------------------ apply / restore
    def _set(self, obj: Any, name: str, value: Any, only_if_present: bool = True) -> None:
        old = getattr(obj, name, _MISSING)
        if old is _MISSING and only_if_present:
            return
        self._saved_attrs.append((obj, name, old))
        setattr(obj, name, value)

    def apply(self) -> None:
        """Set the environment and patch ``huggingface_hub`` in-process. Idempotent per instance."""
        if self._saved_env is not None:
            return
        values = self.env_values()
        self._saved_env = {k: os.environ.get(k) for k in (*values, *_UNSET_ENV)}
        for key in _UNSET_ENV:
            os.environ.pop(key, None)
        os.environ.update(values)

        constants = importlib.import_module("huggingface_hub.constants")
        for name, value in self.constant_values().items():
            self._set(constants, name, value)

        # Modules that copied constants by value (`from ..constants import X`): import them now so that a later
        # first import cannot capture the patched value forever.
        copies = {
            "huggingface_hub.utils._cache_manager": {"HF_HUB_CACHE": constants.HF_HUB_CACHE},
            "huggingface_hub.utils._cache_assets": {"HF_ASSETS_CACHE": constants.HF_ASSETS_CACHE},
            "huggingface_hub.utils._git_credential": {"ENDPOINT": self.endpoint},
        }
        for module_name, attrs in copies.items():
            module = _try_import(module_name)
            for name, value in attrs.items():
                if module is not None:
                    self._set(module, name, value)

        http = _try_import("huggingface_hub.utils._http")
        if http is not None and hasattr(http, "_HUB_ORIGINS") and hasattr(http, "_url_origin"):
            self._set(http, "_HUB_ORIGINS", frozenset(http._HUB_ORIGINS) | {http._url_origin(self.endpoint)})

        hf_api = _try_import("huggingface_hub.hf_api")
        if hf_api is not None and hasattr(hf_api, "api"):
            self._set(hf_api.api, "endpoint", self.endpoint)  # behind huggingface_hub.upload_file, model_info, ...

        fs = _try_import("huggingface_hub.hf_file_system")
        if fs is not None and hasattr(fs, "hffs"):
            self._set(fs.hffs, "endpoint", self.endpoint)
            if hasattr(fs.hffs, "_api"):
                self._set(fs.hffs._api, "endpoint", self.endpoint)
            if isinstance(getattr(fs.HfFileSystem, "_cache", None), dict):
                self._set(fs.HfFileSystem, "_cache", {})  # fsspec instance cache: instances keep their endpoint
        self._clear_caches()

    def restore(self) -> None:
        """Undo :meth:`apply` exactly (environment variables and attributes)."""
        if self._saved_env is None:
            return
        for obj, name, old in reversed(self._saved_attrs):
            if old is _MISSING:
                delattr(obj, name)
            else:
                setattr(obj, name, old)
        self._saved_attrs.clear()
        for key, old_value in self._saved_env.items():
            if old_value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old_value
        self._saved_env = None
        self._clear_caches()

    @staticmethod
    def _clear_caches() -> None:
        uris = _try_import("huggingface_hub.utils._hf_uris")
        parse = getattr(uris, "parse_hf_uri", None)
        if parse is not None and hasattr(parse, "cache_clear"):
            parse.cache_clear()  # lru_cache'd, and its result depends on constants.HF_URL_HOSTS


def _try_import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
