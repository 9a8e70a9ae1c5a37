"""A loopback Hugging Face Hub (read + write API) for tests, standard library only.

It serves the routes ``huggingface_hub`` 2.x uses: repo creation/deletion, preupload, the git-lfs batch API (uploads
land on this server), ndjson commits (also as PRs), ``/resolve`` downloads with ``Range`` support, repo info, tree,
paths-info, refs, branches, tags, commit history and whoami. Repos and commits are stored on disk by
:class:`~pretrained.testing.hub._store.HubStore`.

Example:
    >>> from pretrained.testing import LocalHub
    >>> with LocalHub() as hub:
    ...     from huggingface_hub import HfApi, hf_hub_download
    ...     api = HfApi()
    ...     _ = api.create_repo("tiny")
    ...     _ = api.upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id="local-user/tiny")
    ...     open(hf_hub_download("local-user/tiny", "config.json")).read()
    '{}'

Standalone: ``python -m pretrained.testing.hub --root DIR --port 8080``.

Modules: ``_store`` (repos, refs, commits and blobs on disk), ``_http`` (routes, fault injection, the Hub's response
formats), ``_env`` (pointing ``huggingface_hub`` at the server and back) and ``_server`` (``LocalHub``, ``main``).
"""

from ._http import ROUTES, Fault, HubHTTPServer
from ._server import LocalHub, main
from ._store import HubStore

__all__ = ["ROUTES", "Fault", "HubHTTPServer", "HubStore", "LocalHub", "main"]
