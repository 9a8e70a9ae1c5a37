"""HTTP layer of the local Hub: routing, request bodies, fault injection and the Hub's response formats.

The Hub semantics (repos, refs, commits, LFS decisions) live in :mod:`._store`; this module only translates
``huggingface_hub`` 2.x requests into store calls and store results/errors into the exact responses (status,
``X-Error-Code``, ``X-Repo-Commit``, ``ETag``...) the client expects.

Example:
    >>> import tempfile, threading
    >>> server = HubHTTPServer(HubStore(tempfile.mkdtemp()))
    >>> server.endpoint.startswith("http://127.0.0.1:")
    True
    >>> server.server_close()
"""

from __future__ import annotations

import json
import re
import socket
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ._store import DEFAULT_USER, CommitRecord, HubStore, HubStoreError

__all__ = ["ROUTES", "Fault", "HubHTTPServer"]

ROUTES = frozenset(
    "whoami create_repo delete_repo validate_yaml list_repos repo_info tree paths_info preupload commit commits refs "
    "branch tag lfs_batch lfs_upload lfs_verify resolve".split()
)
_TYPE_PLURALS = {"models": "model", "datasets": "dataset", "spaces": "space"}
_URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_SUBROUTES = {"revision", "tree", "paths-info", "preupload", "commit", "commits", "refs", "branch", "tag"}


@dataclass
class Fault:
    """A pending injected failure (see ``LocalHub.fail_next``)."""

    status: int
    drop_connection: bool
    method: str | None
    remaining: int


class _Request:
    """Parsed request line: method, raw path, unquoted segments and query."""

    def __init__(self, method: str, raw_path: str) -> None:
        split = urlsplit(raw_path)
        self.method = method
        self.path = split.path
        self.segments = [unquote(s) for s in split.path.split("/")[1:]]
        self.query = parse_qs(split.query, keep_blank_values=True)

    def flag(self, name: str) -> bool:
        return any(v.lower() in ("1", "true", "yes") for v in self.query.get(name, []))


class HubHTTPServer(ThreadingHTTPServer):
    """The threading HTTP server: owns the store, the fault queue and the request log."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, store: HubStore, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        super().__init__((host, port), _HubHandler)
        self.store = store
        self.verbose = verbose
        self.requests: list[tuple[str, str]] = []
        self._faults: dict[str, list[Fault]] = {}
        self._faults_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """``http://HOST:PORT`` of this server."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def add_fault(self, route: str, fault: Fault) -> None:
        with self._faults_lock:
            self._faults.setdefault(route, []).append(fault)

    def take_fault(self, route: str, method: str) -> Fault | None:
        with self._faults_lock:
            for fault in self._faults.get(route, []):
                wanted = fault.method or ("GET" if route == "resolve" and fault.drop_connection else None)
                if wanted is None or wanted == method:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults[route].remove(fault)
                    return fault
        return None

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def close_connections(self) -> None:
        """Shut down open keep-alive connections so handler threads exit."""
        with self._conn_lock:
            conns, self._connections = list(self._connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _DropConnection(Exception):
    """Raised by a handler to cut the connection without answering."""


class _HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HubHTTPServer
    server_version = "LocalHub/1.0"

    # ------------------------------------------------------------------ plumbing
    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def _handle(self) -> None:
        self._dispatch(self.command)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _handle

    def _iter_body(self, chunk_size: int = 1 << 20, limit: int | None = None) -> Iterator[bytes]:
        """Stream the request body (Content-Length or chunked); stops after ``limit`` bytes if given."""
        if getattr(self, "_body_done", False):
            return
        self._body_done = True
        sent = 0
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                while size > 0:
                    data = self.rfile.read(min(size, chunk_size))
                    if not data:
                        raise ConnectionError("client closed the connection mid-body")
                    size -= len(data)
                    sent += len(data)
                    yield data
                    if limit is not None and sent >= limit:
                        return
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            data = self.rfile.read(min(remaining, chunk_size))
            if not data:
                raise ConnectionError("client closed the connection mid-body")
            remaining -= len(data)
            sent += len(data)
            yield data
            if limit is not None and sent >= limit:
                return

    def _body(self) -> bytes:
        return b"".join(self._iter_body())

    def _json_body(self) -> Any:
        raw = self._body()
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except ValueError as e:
            raise HubStoreError(400, f"Invalid JSON body: {e}") from e

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, ctype: str = "") -> None:
        self.send_response(status)
        all_headers = {"Content-Type": ctype or "application/json", "Content-Length": str(len(body))}
        all_headers.update(headers or {})
        for key, value in all_headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _send_json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers)

    def _send_error(self, status: int, message: str, code: str | None = None, extra: dict[str, str] | None = None):
        headers = {"X-Error-Message": message.replace("\n", " ")[:500], **(extra or {})}
        if code:
            headers["X-Error-Code"] = code
        self._send_json({"error": message}, status, headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, method: str) -> None:
        req = _Request(method, self.path)
        self.server.requests.append((method, req.path))
        self._body_done = False
        try:
            route, handler, args = self._route(req)
            fault = self.server.take_fault(route, method) if route else None
            if fault is not None:
                self._inject(fault, route, handler, args)
            elif handler is None:
                self._body()
                self._send_error(404, f"No route for {method} {req.path}")
            else:
                handler(*args)
        except HubStoreError as e:
            self._finish_body_then(e.status, e.message, e.error_code, getattr(e, "headers", None))
        except _DropConnection:
            self._drop()
        except (TimeoutError, ConnectionError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - report server bugs to the client as 500s
            traceback.print_exc()
            self._finish_body_then(500, f"LocalHub internal error: {e!r}")
        else:
            if not self._body_done:
                self._body()

    def _finish_body_then(self, status: int, message: str, code: str | None, extra: dict[str, str] | None = None):
        """Consume what is left of the request body (keep-alive), then answer an error."""
        try:
            if not self._body_done:
                self._body()
            self._send_error(status, message, code, extra)
        except OSError:
            self.close_connection = True

    def _inject(self, fault: Fault, route: str, handler: Any, args: tuple[Any, ...]) -> None:
        if not fault.drop_connection:
            self._body()
            self._send_error(fault.status, f"Injected failure on route {route!r} (LocalHub.fail_next)")
        elif route == "resolve" and handler is not None and self.command == "GET":
            handler(*args, drop_midway=True)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            for _ in self._iter_body(chunk_size=64 * 1024, limit=max(1, length // 2)):
                pass
            raise _DropConnection

    def _route(self, req: _Request) -> tuple[str | None, Any, tuple[Any, ...]]:
        seg, m = req.segments, req.method
        if seg[:1] == ["api"]:
            simple = {
                ("GET", "whoami-v2"): ("whoami", self._whoami),
                ("POST", "repos/create"): ("create_repo", self._create_repo),
                ("DELETE", "repos/delete"): ("delete_repo", self._delete_repo),
                ("POST", "validate-yaml"): ("validate_yaml", self._validate_yaml),
                ("GET", "agent-harnesses"): ("", self._agent_harnesses),
            }
            key = (m, "/".join(seg[1:]))
            if key in simple:
                route, fn = simple[key]
                return route, fn, ()
            if len(seg) == 4 and seg[1:3] == ["lfs", "objects"] and m == "PUT":
                return "lfs_upload", self._lfs_upload, (seg[3], req)
            if len(seg) == 5 and seg[1:3] == ["lfs", "objects"] and seg[4] == "verify" and m == "POST":
                return "lfs_verify", self._lfs_verify, ()
            if len(seg) == 2 and seg[1] in _TYPE_PLURALS and m == "GET":
                return "list_repos", self._list_repos, (_TYPE_PLURALS[seg[1]], req)
            if len(seg) >= 3 and seg[1] in _TYPE_PLURALS:
                return self._route_repo_api(req, _TYPE_PLURALS[seg[1]], seg[2:])
            return None, None, ()
        repo_type, rest = ("model", seg)
        if seg and seg[0] in ("datasets", "spaces"):
            repo_type, rest = _TYPE_PLURALS[seg[0]], seg[1:]
        if len(rest) >= 5 and rest[-4:] == ["info", "lfs", "objects", "batch"] and rest[-5].endswith(".git"):
            repo_id = "/".join([*rest[:-5], rest[-5][: -len(".git")]])
            return ("lfs_batch", self._lfs_batch, (repo_type, repo_id)) if m == "POST" else (None, None, ())
        for i in (2, 1):
            if len(rest) > i + 1 and rest[i] == "resolve" and m in ("GET", "HEAD"):
                return "resolve", self._resolve, (repo_type, "/".join(rest[:i]), rest[i + 1], "/".join(rest[i + 2 :]))
        return None, None, ()

    def _route_repo_api(self, req: _Request, repo_type: str, rest: list[str]) -> tuple[str | None, Any, tuple]:
        store, m = self.server.store, req.method
        two = len(rest) >= 2 and (store.repo_exists(repo_type, "/".join(rest[:2])) or rest[1] not in _SUBROUTES)
        repo_id, sub = ("/".join(rest[:2]), rest[2:]) if two else (rest[0], rest[1:])
        base = (repo_type, repo_id)
        name = sub[0] if sub else ""
        table: dict[tuple[str, str], tuple[str, Any, tuple[Any, ...]]] = {
            ("GET", ""): ("repo_info", self._repo_info, (*base, None, req)),
            ("GET", "revision"): ("repo_info", self._repo_info, (*base, "/".join(sub[1:]), req)),
            ("GET", "tree"): ("tree", self._tree, (*base, sub[1] if len(sub) > 1 else "main", "/".join(sub[2:]), req)),
            ("POST", "paths-info"): ("paths_info", self._paths_info, (*base, "/".join(sub[1:]), req)),
            ("POST", "preupload"): ("preupload", self._preupload, (*base, "/".join(sub[1:]))),
            ("POST", "commit"): ("commit", self._commit, (*base, "/".join(sub[1:]), req)),
            ("GET", "commits"): ("commits", self._commits, (*base, "/".join(sub[1:]) or "main")),
            ("GET", "refs"): ("refs", self._refs, (*base, req)),
            ("POST", "branch"): ("branch", self._create_branch, (*base, "/".join(sub[1:]))),
            ("DELETE", "branch"): ("branch", self._delete_branch, (*base, "/".join(sub[1:]))),
            ("POST", "tag"): ("tag", self._create_tag, (*base, "/".join(sub[1:]))),
            ("DELETE", "tag"): ("tag", self._delete_tag, (*base, "/".join(sub[1:]))),
        }
        return table.get((m, name), (None, None, ()))

    # ------------------------------------------------------------------ helpers
    def _base_url(self) -> str:
        """The URL the client used to reach us (so hrefs work through any bound address)."""
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.endpoint

    def _repo_url(self, repo_type: str, repo_id: str) -> str:
        return f"{self._base_url()}/{_URL_PREFIX[repo_type]}{repo_id}"

    def _file_json(self, path: str, commit: CommitRecord, expand: bool, repo: tuple[str, str]) -> dict[str, Any]:
        if path in commit.files:
            entry = commit.files[path]
            item: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
            if entry.lfs:
                item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
        else:
            item = {"type": "directory", "oid": commit.tree_oid(path), "size": 0, "path": path}
        if expand:
            last = self.server.store.last_commit_for(*repo, commit.id, path)
            item["lastCommit"] = {"id": last.id, "title": last.title, "date": last.date}
        return item

    def _commit_for(self, repo_type: str, repo_id: str, revision: str) -> CommitRecord:
        store = self.server.store
        return store.get_commit(repo_type, repo_id, store.resolve(repo_type, repo_id, revision))

    # ------------------------------------------------------------------ account / repos
    def _whoami(self) -> None:
        if not self.headers.get("Authorization"):
            raise HubStoreError(401, "Invalid credentials in Authorization header")
        token = {"displayName": "local", "role": "write", "createdAt": "2024-01-01T00:00:00.000Z"}
        self._send_json({
            "type": "user", "id": "000000000000000000000001", "name": DEFAULT_USER, "fullname": "Local User",
            "email": "local-user@localhost", "emailVerified": True, "canPay": False, "isPro": False, "orgs": [],
            "avatarUrl": "", "auth": {"type": "access_token", "accessToken": token},
        })

    def _agent_harnesses(self) -> None:
        self._send_json({"standardEnvVars": [], "harnesses": {}})

    def _validate_yaml(self) -> None:
        self._body()
        self._send_json({"errors": [], "warnings": []})

    def _create_repo(self) -> None:
        body = self._json_body()
        repo_type = body.get("type") or "model"
        if repo_type not in _URL_PREFIX or not body.get("name"):
            raise HubStoreError(400, f"Invalid repo type or name: {body!r}")
        repo_id = f"{body.get('organization') or DEFAULT_USER}/{body['name']}"
        private = body.get("visibility", "private" if body.get("private") else "public") != "public"
        extra = {k: body[k] for k in ("sdk",) if k in body}
        url = self._repo_url(repo_type, repo_id)
        try:
            self.server.store.create_repo(repo_type, repo_id, private=private, extra=extra)
        except HubStoreError as e:
            if e.status != 409:
                raise
            # like the Hub, a 409 still carries the url: create_repo(exist_ok=True) reads it from the error body
            self._send_json({"error": e.message, "url": url}, 409, {"X-Error-Message": e.message})
            return
        self._send_json({"url": url, "name": repo_id, "id": repo_id})

    def _delete_repo(self) -> None:
        body = self._json_body()
        repo_type = body.get("type") or "model"
        self.server.store.delete_repo(repo_type, f"{body.get('organization') or DEFAULT_USER}/{body.get('name')}")
        self._send_json({})

    def _repo_summary(self, meta: dict[str, Any], commit: CommitRecord | None) -> dict[str, Any]:
        repo_id, repo_type = meta["id"], meta["type"]
        data: dict[str, Any] = {
            "_id": repo_id, "id": repo_id, "author": repo_id.split("/")[0] if "/" in repo_id else None,
            "private": meta["private"], "gated": False, "disabled": False, "downloads": 0, "likes": 0, "tags": [],
            "createdAt": meta["createdAt"], "lastModified": commit.date if commit else meta["lastModified"],
        }
        if commit is not None:
            data["sha"] = commit.id
        if repo_type == "model":
            data["modelId"] = repo_id
        if repo_type == "space":
            data["sdk"] = meta.get("extra", {}).get("sdk")
        return data

    def _list_repos(self, repo_type: str, req: _Request) -> None:
        search = (req.query.get("search") or [""])[0].lower()
        author = (req.query.get("author") or [None])[0]
        metas = [
            m for m in self.server.store.list_repos(repo_type)
            if search in m["id"].lower() and (author is None or m["id"].split("/")[0] == author)
        ]
        self._send_json([self._repo_summary(m, None) for m in metas])

    def _repo_info(self, repo_type: str, repo_id: str, revision: str | None, req: _Request) -> None:
        store = self.server.store
        meta = store.get_repo(repo_type, repo_id)
        commit = self._commit_for(repo_type, repo_id, revision or "main")
        data = self._repo_summary(meta, commit)
        blobs = req.flag("blobs")
        siblings = []
        for path, entry in sorted(commit.files.items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling.update(size=entry.size, blobId=entry.oid)
                if entry.lfs:
                    sibling["lfs"] = {"sha256": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
            siblings.append(sibling)
        data["siblings"] = siblings
        data["usedStorage"] = sum(e.size for e in commit.files.values())
        self._send_json(data)

    # ------------------------------------------------------------------ listing
    def _tree(self, repo_type: str, repo_id: str, revision: str, path: str, req: _Request) -> None:
        commit = self._commit_for(repo_type, repo_id, revision)
        path = path.strip("/")
        dirs = commit.directories()
        if path and path not in dirs:
            raise HubStoreError(404, f"Entry not found: {path}", "EntryNotFound")
        prefix = f"{path}/" if path else ""
        recursive = req.flag("recursive")
        entries = []
        for candidate in sorted(dirs | set(commit.files)):
            if not candidate.startswith(prefix):
                continue
            if recursive or "/" not in candidate[len(prefix) :]:
                entries.append(candidate)
        entries.sort(key=lambda p: (p not in dirs, p))
        repo = (repo_type, repo_id)
        self._send_json([self._file_json(p, commit, req.flag("expand"), repo) for p in entries])

    def _paths_info(self, repo_type: str, repo_id: str, revision: str, req: _Request) -> None:
        raw = self._body()
        if "json" in self.headers.get("Content-Type", ""):
            body = json.loads(raw or b"{}")
            paths, expand = body.get("paths", []), bool(body.get("expand"))
        else:
            form = parse_qs(raw.decode(), keep_blank_values=True)
            paths, expand = form.get("paths", []), any(v.lower() == "true" for v in form.get("expand", []))
        commit = self._commit_for(repo_type, repo_id, revision or "main")
        dirs = commit.directories()
        wanted = [p.strip("/") for p in ([paths] if isinstance(paths, str) else paths)]
        found = [p for p in wanted if p in commit.files or p in dirs]
        self._send_json([self._file_json(p, commit, expand, (repo_type, repo_id)) for p in found])

    def _commits(self, repo_type: str, repo_id: str, revision: str) -> None:
        history = self.server.store.history(repo_type, repo_id, revision)
        self._send_json([
            {"id": c.id, "title": c.title, "message": c.message, "date": c.date,
             "authors": [{"user": a, "avatar": ""} for a in c.authors]}
            for c in history
        ])

    def _refs(self, repo_type: str, repo_id: str, req: _Request) -> None:
        refs = self.server.store.refs(repo_type, repo_id)
        data: dict[str, Any] = {
            "branches": [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": s} for n, s in refs["branches"].items()],
            "converts": [],
            "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": s} for n, s in refs["tags"].items()],
        }
        if req.flag("include_prs"):
            prs = sorted(refs["prs"].items(), key=lambda kv: int(kv[0]))
            data["pullRequests"] = [{"name": n, "ref": f"refs/pr/{n}", "targetCommit": s} for n, s in prs]
        self._send_json(data)

    def _create_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        body = self._json_body()
        self.server.store.create_branch(repo_type, repo_id, branch, body.get("startingPoint"))
        self._send_json({})

    def _delete_branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        self.server.store.delete_branch(repo_type, repo_id, branch)
        self._send_json({})

    def _create_tag(self, repo_type: str, repo_id: str, revision: str) -> None:
        body = self._json_body()
        self.server.store.create_tag(repo_type, repo_id, body.get("tag", ""), revision or "main", body.get("message"))
        self._send_json({})

    def _delete_tag(self, repo_type: str, repo_id: str, tag: str) -> None:
        self.server.store.delete_tag(repo_type, repo_id, tag)
        self._send_json({})

    # ------------------------------------------------------------------ upload
    def _preupload(self, repo_type: str, repo_id: str, revision: str) -> None:
        body = self._json_body()
        files = self.server.store.preupload(repo_type, repo_id, revision, body.get("files", []), body.get("gitIgnore"))
        self._send_json({"files": files, "commitOid": self.server.store.resolve(repo_type, repo_id, revision)})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        body = self._json_body()
        store = self.server.store
        store.get_repo(repo_type, repo_id)
        objects = []
        for obj in body.get("objects", []):
            oid, size = str(obj.get("oid")), int(obj.get("size", 0))
            item: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if not re.fullmatch(r"[0-9a-f]{64}", oid):
                item["error"] = {"code": 422, "message": f"Invalid oid {oid!r}"}
            elif not store.has_blob(oid, size):
                href = f"{self._base_url()}/api/lfs/objects/{oid}"
                item["actions"] = {"upload": {"href": f"{href}?size={size}"}, "verify": {"href": f"{href}/verify"}}
            objects.append(item)
        self._send_json({"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
                        headers={"Content-Type": "application/vnd.git-lfs+json"})

    def _lfs_upload(self, oid: str, req: _Request) -> None:
        size = int(req.query["size"][0]) if req.query.get("size") else None
        self.server.store.put_blob(self._iter_body(), sha256=oid, size=size)
        self._send_json({})

    def _lfs_verify(self) -> None:
        body = self._json_body()
        if not self.server.store.has_blob(str(body.get("oid")), body.get("size")):
            raise HubStoreError(404, f"LFS object {body.get('oid')} not found (or wrong size)")
        self._send_json({"message": "Verified"})

    def _commit(self, repo_type: str, repo_id: str, revision: str, req: _Request) -> None:
        raw = self._body()
        lines = [json.loads(line) for line in raw.splitlines() if line.strip()]
        header = next((item.get("value", {}) for item in lines if item.get("key") == "header"), None)
        if header is None:
            raise HubStoreError(400, "Missing commit header line (expected application/x-ndjson)")
        ops = [item for item in lines if item.get("key") != "header"]
        create_pr = req.flag("create_pr")
        result = self.server.store.commit(repo_type, repo_id, revision or "main", header, ops, create_pr=create_pr)
        url = self._repo_url(repo_type, repo_id)
        data: dict[str, Any] = {"success": True, "commitOid": result.oid, "commitUrl": f"{url}/commit/{result.oid}"}
        data["pullRequestUrl"] = f"{url}/discussions/{result.pr_num}" if result.pr_num is not None else None
        self._send_json(data)

    # ------------------------------------------------------------------ download
    def _resolve(self, repo_type: str, repo_id: str, revision: str, path: str, drop_midway: bool = False) -> None:
        store = self.server.store
        sha = store.resolve(repo_type, repo_id, revision)
        commit = store.get_commit(repo_type, repo_id, sha)
        entry = commit.files.get(path)
        if entry is None:
            error = HubStoreError(404, f"Entry not found: {path}", "EntryNotFound")
            error.headers = {"X-Repo-Commit": sha}  # type: ignore[attr-defined]
            raise error
        headers = {"X-Repo-Commit": sha, "ETag": f'"{entry.etag}"', "Accept-Ranges": "bytes",
                   "Content-Disposition": f'inline; filename="{path.rsplit("/", 1)[-1]}"'}
        if entry.lfs:
            headers.update({"X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size)})
        start, end, status = 0, entry.size, 200
        range_header = self.headers.get("Range")
        if range_header:
            match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", range_header)
            if match and match[1]:
                start, end = int(match[1]), min(entry.size, int(match[2]) + 1) if match[2] else entry.size
            elif match and match[2]:
                start = max(0, entry.size - int(match[2]))
            if not match or start >= entry.size or start >= end:
                headers["Content-Range"] = f"bytes */{entry.size}"
                raise_416 = HubStoreError(416, f"Range not satisfiable: {range_header}")
                raise_416.headers = headers  # type: ignore[attr-defined]
                raise raise_416
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
        self.send_response(status)
        headers.update({"Content-Type": "application/octet-stream", "Content-Length": str(end - start)})
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = start + max(1, (end - start) // 2) if drop_midway else end
        for chunk in store.iter_blob(entry.sha256, start, cut):
            self.wfile.write(chunk)
        if drop_midway:
            raise _DropConnection
