"""`LocalHub`: the loopback Hub's HTTP server in a daemon thread plus the environment that points `huggingface_hub`
at it; `main` runs a standalone server (`python -m pretrained.testing.hub`)."""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
from pathlib import Path

from ._env import HubEnvironment
from ._http import ROUTES, Fault, HubHTTPServer
from ._store import HubStore

__all__ = ["LocalHub", "main"]


class LocalHub:
    """A local Hub server on 127.0.0.1 plus the environment that makes ``huggingface_hub`` use it.

    Args:
        root: Where repos/commits/blobs are stored (a temporary directory, deleted on stop, if omitted).
        hf_home: ``HF_HOME`` while active (a temporary directory, deleted on stop, if omitted).
        port: Port to bind (0: a free one).
        token: Dummy token put in ``HF_TOKEN``.
        patch_environment: Set env vars / patch ``huggingface_hub`` while running (default True).

    Example:
        >>> hub = LocalHub().start()
        >>> hub.endpoint.startswith("http://127.0.0.1:")
        True
        >>> hub.stop()
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        hf_home: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "hf_local",
        patch_environment: bool = True,
        verbose: bool = False,
    ) -> None:
        self._root_arg, self._home_arg = root, hf_home
        self.host, self.port, self.token = host, port, token
        self.patch_environment, self.verbose = patch_environment, verbose
        self._server: HubHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._env: HubEnvironment | None = None
        self._temp_dirs: list[str] = []
        self.root: Path | None = None
        self.hf_home: Path | None = None
        self.store: HubStore | None = None
        self._requests: list[tuple[str, str]] = []

    def start(self) -> LocalHub:
        """Start serving (in a daemon thread) and patch the environment; returns ``self``.

        Example:
            >>> hub = LocalHub().start(); hub.stop()
        """
        if self._server is not None:
            return self
        self.root = Path(self._root_arg) if self._root_arg is not None else Path(self._mkdtemp("localhub-root-"))
        self.hf_home = Path(self._home_arg) if self._home_arg is not None else Path(self._mkdtemp("localhub-home-"))
        self.hf_home.mkdir(parents=True, exist_ok=True)
        self.store = HubStore(self.root)
        self._server = HubHTTPServer(self.store, self.host, self.port, verbose=self.verbose)
        self._requests = self._server.requests
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="LocalHub", daemon=True
        )
        self._thread.start()
        if self.patch_environment:
            self._env = HubEnvironment(self.endpoint, self.hf_home, token=self.token)
            self._env.apply()
        return self

    def stop(self) -> None:
        """Stop the server, restore the environment exactly, delete temporary directories.

        Example:
            >>> hub = LocalHub().start(); hub.stop(); hub.stop()  # idempotent
        """
        if self._server is None:
            return
        if self._env is not None:
            self._env.restore()
            self._env = None
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None
        try:  # pooled keep-alive connections of huggingface_hub's shared client point to a dead server now
            from huggingface_hub.utils import _http

            _http.close_session()
        except Exception:  # noqa: BLE001
            pass
        for path in self._temp_dirs:
            shutil.rmtree(path, ignore_errors=True)
        self._temp_dirs.clear()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _mkdtemp(self, prefix: str) -> str:
        path = tempfile.mkdtemp(prefix=prefix)
        self._temp_dirs.append(path)
        return path

    def _require(self) -> HubHTTPServer:
        if self._server is None:
            raise RuntimeError("LocalHub is not running: call start() or use it as a context manager")
        return self._server

    @property
    def endpoint(self) -> str:
        """``"http://127.0.0.1:PORT"``."""
        return self._require().endpoint

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Live list of ``(method, path)`` received (path without query string), for assertions; kept after stop.

        Example:
            >>> with LocalHub() as hub:
            ...     import huggingface_hub
            ...     _ = huggingface_hub.HfApi().whoami()
            ...     ("GET", "/api/whoami-v2") in hub.requests
            True
        """
        return self._requests

    def fail_next(
        self, route: str, status: int = 500, times: int = 1, *, drop_connection: bool = False, method: str | None = None
    ) -> None:
        """Make the next ``times`` requests on ``route`` fail with ``status`` (or a dropped connection).

        Routes: ``"commit"``, ``"preupload"``, ``"lfs_upload"``, ``"resolve"``, ``"lfs_batch"``, ``"lfs_verify"``,
        ``"repo_info"``, ``"tree"``, ``"paths_info"``, ``"create_repo"``, ... (see ``ROUTES``). With
        ``drop_connection=True`` the socket is closed mid-response (``resolve`` GET: after half the bytes) or
        mid-upload (after reading half the request body). ``method`` restricts the fault to one HTTP method; a
        dropping ``resolve`` fault applies to ``GET`` only unless ``method`` says otherwise.

        Example:
            >>> with LocalHub() as hub:
            ...     hub.fail_next("whoami", status=503)
            ...     import huggingface_hub
            ...     try:
            ...         huggingface_hub.HfApi().whoami()
            ...     except huggingface_hub.errors.HfHubHTTPError as e:
            ...         print(e.response.status_code)
            503
        """
        if route not in ROUTES:
            raise ValueError(f"Unknown route {route!r}; expected one of {sorted(ROUTES)}")
        self._require().add_fault(route, Fault(status, drop_connection, method.upper() if method else None, times))


def main(argv: list[str] | None = None) -> None:
    """Run a standalone server until Ctrl-C: ``python -m pretrained.testing.hub --root DIR --port N``."""
    parser = argparse.ArgumentParser(description="Local Hugging Face Hub server for tests")
    parser.add_argument("--root", default=None, help="storage directory (default: a temporary one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    root = args.root or tempfile.mkdtemp(prefix="localhub-root-")
    server = HubHTTPServer(HubStore(root), args.host, args.port, verbose=args.verbose)
    print(f"LocalHub serving {server.endpoint} (root: {root})", flush=True)
    print(f"  export HF_ENDPOINT={server.endpoint} HF_HUB_DISABLE_XET=1 HF_TOKEN=hf_local", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()

