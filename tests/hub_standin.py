"""A local stand-in for the Hugging Face Hub's HTTP API, for tests (there is no network here).

It implements what `huggingface_hub` and `datasets` call to create a dataset repo, commit files,
tag a commit, list refs and files, and download files at a revision: enough for
`HfApi.upload_folder`, `create_tag`, `list_repo_tree`, `snapshot_download` and
`load_dataset(repo_id, revision=...)`. Files are stored in memory per commit. The preupload
answer asks for every file as a regular (non-LFS) upload, so file bytes travel inside the commit
request and the tree listing reports git blob ids, as the Hub does for regular files.

Two test hooks: `token` (write requests without `Authorization: Bearer <token>` get 401) and
`fail_next(method, action, status, times)` (the next `times` requests of an action answer
`status`), plus `requests`, the log of (method, action) pairs served.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.duckdb filter=lfs diff=lfs merge=lfs -text\n"
API_ROUTE = re.compile(r"^/api/datasets/(?P<repo>[^/]+/[^/]+)/(?P<action>refs|revision|tree|paths-info|preupload"
                       r"|commit|tag)(?:/(?P<rev>[^/]+))?(?:/(?P<path>.*))?$")
RESOLVE_ROUTE = re.compile(r"^/datasets/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")


def blob_id(data: bytes) -> str:
    """git's object id of a file's bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    """A dataset repo: commits (sha -> {path: bytes}), branches and tags (name -> sha)."""

    private: bool
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    def commit(self, files: dict[str, bytes], parent: str | None, message: str) -> str:
        """Store a new commit on main; return its sha."""
        listing = "".join(f"{p}\0{blob_id(d)}\n" for p, d in sorted(files.items()))
        sha = hashlib.sha1(f"{parent}\n{message}\n{listing}".encode()).hexdigest()
        self.commits[sha] = dict(files)
        self.branches["main"] = sha
        return sha

    def resolve(self, rev: str) -> str | None:
        """The commit sha a branch, tag or sha names (None when unknown)."""
        if rev in self.commits:
            return rev
        return self.branches.get(rev) or self.tags.get(rev)


class HubStandIn(ThreadingHTTPServer):
    """The server; start with `start()`, its address is `endpoint`."""

    daemon_threads = True

    def __init__(self, token: str | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures: list[list] = []  # [method, action, status, times left]
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The base URL to give as HF_ENDPOINT or HfApi(endpoint=...)."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> "HubStandIn":
        """Serve in a background thread; return self."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()

    def fail_next(self, method: str, action: str, status: int, times: int = 1) -> None:
        """Answer the next `times` `method` requests of `action` (e.g. "commit", "repos/create")
        with HTTP `status`."""
        with self.lock:
            self.failures.append([method, action, status, times])

    def injected_failure(self, method: str, action: str) -> int | None:
        """Log the request; the status to answer instead when a failure is due, else None."""
        with self.lock:
            self.requests.append((method, action))
            for failure in self.failures:
                if failure[0] == method and failure[1] == action and failure[3] > 0:
                    failure[3] -= 1
                    return failure[2]
        return None


class _Handler(BaseHTTPRequestHandler):
    server: HubStandIn
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # keep test output quiet
        pass

    # --- answers ------------------------------------------------------------------------------

    def send(self, status: int, body: bytes = b"", headers: dict | None = None, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, data, status: int = 200, headers: dict | None = None):
        self.send(status, json.dumps(data).encode(), headers)

    def send_error_code(self, status: int, code: str, message: str):
        self.send_json({"error": message}, status, {"X-Error-Code": code, "X-Error-Message": message})

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def authorised(self) -> bool:
        token = self.server.token
        return token is None or self.headers.get("Authorization") == f"Bearer {token}"

    # --- routing ------------------------------------------------------------------------------

    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/api/repos/create":
            return self.guarded("repos/create", True, self.create_repo)
        if url.path == "/api/validate-yaml":
            self.body()
            return self.send_json({"errors": [], "warnings": []})
        match = API_ROUTE.match(url.path) or RESOLVE_ROUTE.match(url.path)
        if match is None:
            return self.send_error_code(404, "EndpointNotFound", f"no route for {url.path}")
        groups = match.groupdict()
        action = groups.get("action", "resolve")
        repo = self.server.repos.get(groups["repo"])
        if repo is None:
            return self.send_error_code(404, "RepoNotFound", f"Repository {groups['repo']} not found")
        rev = unquote(groups.get("rev") or "main")
        if action in ("refs",):
            return self.guarded(action, False, lambda: self.refs(repo))
        if action == "tag":
            return self.guarded(action, True, lambda: self.create_tag(repo, rev))
        sha = repo.resolve(rev)
        if sha is None:
            return self.send_error_code(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        path = unquote(groups.get("path") or "").strip("/")
        handlers = {
            "revision": lambda: self.info(groups["repo"], repo, sha),
            "tree": lambda: self.tree(repo.commits[sha], path, query.get("recursive", ["false"])[0] == "true"),
            "paths-info": lambda: self.paths_info(repo.commits[sha]),
            "preupload": lambda: self.preupload(repo.commits[sha]),
            "commit": lambda: self.commit(groups["repo"], repo, sha),
            "resolve": lambda: self.resolve(repo.commits[sha], sha, path),
        }
        self.guarded(action, action in ("preupload", "commit"), handlers[action])

    def guarded(self, action: str, write: bool, handler):
        status = self.server.injected_failure(self.command, action)
        if status is not None:
            self.body()
            return self.send_error_code(status, "Injected", f"injected {status} for {action}")
        if write and not self.authorised():
            self.body()
            return self.send_error_code(401, "Unauthorized", "Invalid credentials in Authorization header")
        handler()

    # --- endpoints ----------------------------------------------------------------------------

    def create_repo(self):
        payload = json.loads(self.body())
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{self.server.endpoint}/datasets/{repo_id}"
        if repo_id in self.server.repos:  # the Hub's answer names the repo too
            return self.send_json({"error": "You already created this dataset repo", "url": url}, 409)
        repo = Repo(private=payload.get("visibility") == "private" or bool(payload.get("private")))
        repo.commit({".gitattributes": GITATTRIBUTES}, None, "initial commit")
        self.server.repos[repo_id] = repo
        self.send_json({"url": url, "name": repo_id})

    def refs(self, repo: Repo):
        def ref(kind, name, sha):
            return {"name": name, "ref": f"refs/{kind}/{name}", "targetCommit": sha}
        self.send_json({"branches": [ref("heads", n, s) for n, s in sorted(repo.branches.items())],
                        "tags": [ref("tags", n, s) for n, s in sorted(repo.tags.items())],
                        "converts": []})

    def create_tag(self, repo: Repo, rev: str):
        payload = json.loads(self.body())
        sha = repo.resolve(rev)
        if sha is None:
            return self.send_error_code(404, "RevisionNotFound", f"Invalid rev id: {rev}")
        if payload["tag"] in repo.tags:
            return self.send_error_code(409, "Conflict", f"Tag {payload['tag']} already exists")
        repo.tags[payload["tag"]] = sha
        self.send_json({})

    def info(self, repo_id: str, repo: Repo, sha: str):
        files = repo.commits[sha]
        self.send_json({"id": repo_id, "author": repo_id.split("/")[0], "sha": sha, "private": repo.private,
                        "disabled": False, "gated": False, "tags": [], "downloads": 0, "likes": 0,
                        "lastModified": "2026-01-01T00:00:00.000Z",
                        "siblings": [{"rfilename": p, "size": len(d), "blobId": blob_id(d)}
                                     for p, d in sorted(files.items())]})

    def tree(self, files: dict[str, bytes], path: str, recursive: bool):
        prefix = f"{path}/" if path else ""
        if path and path in files:
            return self.send_error_code(400, "BadRequest", f"{path} is a file")
        entries, folders = [], set()
        for name, data in sorted(files.items()):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix):].split("/")
            for depth in range(1, len(rest)):
                if recursive or depth == 1:
                    folders.add(prefix + "/".join(rest[:depth]))
            if recursive or len(rest) == 1:
                entries.append(_file_entry(name, data))
        if path and not entries and not folders:
            return self.send_error_code(404, "EntryNotFound", f"{path} does not exist")
        entries += [{"type": "directory", "oid": blob_id(f.encode()), "size": 0, "path": f} for f in sorted(folders)]
        self.send_json(sorted(entries, key=lambda e: e["path"]))

    def paths_info(self, files: dict[str, bytes]):
        raw = self.body()
        if self.headers.get("Content-Type", "").startswith("application/json"):
            paths = json.loads(raw)["paths"]
        else:
            paths = parse_qs(raw.decode())["paths"]
        entries = []
        for path in paths:
            path = path.strip("/")
            if path in files:
                entries.append(_file_entry(path, files[path]))
            elif any(name.startswith(f"{path}/") for name in files):
                entries.append({"type": "directory", "oid": blob_id(path.encode()), "size": 0, "path": path})
        self.send_json(entries)

    def preupload(self, files: dict[str, bytes]):
        payload = json.loads(self.body())
        self.send_json({"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False,
                                   "oid": blob_id(files[f["path"]]) if f["path"] in files else None}
                                  for f in payload["files"]]})

    def commit(self, repo_id: str, repo: Repo, sha: str):
        files = dict(repo.commits[sha])
        message = ""
        for line in self.body().splitlines():
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                message = value["summary"]
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "deletedFile":
                files.pop(value["path"], None)
            elif key == "deletedFolder":
                files = {p: d for p, d in files.items() if not p.startswith(value["path"].rstrip("/") + "/")}
            else:
                return self.send_error_code(400, "BadRequest", f"the stand-in takes no {key} operations")
        new_sha = repo.commit(files, sha, message)
        self.send_json({"success": True, "commitOid": new_sha,
                        "commitUrl": f"{self.server.endpoint}/datasets/{repo_id}/commit/{new_sha}"})

    def resolve(self, files: dict[str, bytes], sha: str, path: str):
        if path not in files:
            return self.send_error_code(404, "EntryNotFound", f"{path} does not exist at {sha}")
        data = files[path]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{blob_id(data)}"', "Accept-Ranges": "bytes"}
        byte_range = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range", ""))
        if byte_range and self.command == "GET":
            start = int(byte_range.group(1))
            end = int(byte_range.group(2)) if byte_range.group(2) else len(data) - 1
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self.send(206, data[start:end + 1], headers, "application/octet-stream")
        self.send(200, data, headers, "application/octet-stream")


def _file_entry(path: str, data: bytes) -> dict:
    return {"type": "file", "oid": blob_id(data), "size": len(data), "path": path}
