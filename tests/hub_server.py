"""A local stand-in for the Hugging Face Hub's file API, so download tests never touch the internet.

It answers ``HEAD``/``GET /{org}/{repo}/resolve/{revision}/{filename}`` the way the Hub answers for an LFS file:
a 302 redirect to a storage host with ``X-Repo-Commit``, ``X-Linked-Etag`` (the file's sha256), ``X-Linked-Size``
and ``ETag``; the storage host (a second port, so another origin, as the Hub's CDN is) serves the bytes with
``Content-Length`` and honours ``Range``. Unknown repositories, revisions and files get
the Hub's 404s with ``X-Error-Code``. Every request is logged in ``requests``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAIN_COMMIT = "1111111111111111111111111111111111111111"


@dataclass
class HubFile:
    """A file of a fake repository: its bytes, and the commits it exists at (the first is 'main')."""

    data: bytes
    commits: tuple[str, ...] = (MAIN_COMMIT,)
    corrupt: bool = False  # serve the right size with one byte flipped (a broken mirror or transfer)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class FakeHub:
    """The files served, keyed by (repo_id, filename), and the request log."""

    files: dict[tuple[str, str], HubFile]
    port: int = 0
    cdn_port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def resolve_requests(self) -> list[str]:
        return [path for _, path in self.requests if "/resolve/" in path]


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _send(self, status: int, headers: dict[str, str], payload: bytes = b"", body: bool = True) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body and payload:
                self.wfile.write(payload)

        def _answer(self, body: bool) -> None:
            hub.requests.append((self.command, self.path))
            path = self.path.split("?")[0]
            if path.startswith("/cdn/"):
                return self._cdn(path.removeprefix("/cdn/"), body)
            parts = path.strip("/").split("/")
            if len(parts) < 5 or parts[2] != "resolve":
                return self._send(404, {"X-Error-Code": "RepoNotFound"}, b"not found", body)
            repo_id, revision, filename = "/".join(parts[:2]), parts[3], "/".join(parts[4:])
            if not any(repo == repo_id for repo, _ in hub.files):
                return self._send(401, {"X-Error-Code": "RepoNotFound"}, b"Repository not found", body)
            entry = hub.files.get((repo_id, filename))
            commits = entry.commits if entry else (MAIN_COMMIT,)
            commit = commits[0] if revision == "main" else revision
            if commit not in commits:
                return self._send(404, {"X-Error-Code": "RevisionNotFound"}, b"Invalid rev id", body)
            if entry is None:
                return self._send(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit}, b"no entry", body)
            self._send(
                302,
                {
                    "Location": f"http://127.0.0.1:{hub.cdn_port}/cdn/{entry.sha256}",
                    "X-Repo-Commit": commit,
                    "X-Linked-Etag": f'"{entry.sha256}"',
                    "X-Linked-Size": str(len(entry.data)),
                    "ETag": f'"{hashlib.sha1(entry.data).hexdigest()}"',
                },
                b"",
                body,
            )

        def _cdn(self, sha: str, body: bool) -> None:
            entry = next((f for f in hub.files.values() if f.sha256 == sha), None)
            if entry is None:
                return self._send(404, {}, b"no such object", body)
            data = bytearray(entry.data)
            if entry.corrupt:
                data[len(data) // 2] ^= 0xFF
            start = 0
            header = self.headers.get("Range", "")
            if header.startswith("bytes=") and header[6:].split("-")[0].isdigit():
                start = int(header[6:].split("-")[0])
            chunk = bytes(data[start:])
            headers = {
                "Content-Length": str(len(chunk)),
                "Content-Type": "application/octet-stream",
                "ETag": f'"{sha}"',
            }
            if start:
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            self._send(206 if start else 200, headers, chunk, body)

    return Handler


@contextmanager
def serve(files: dict[tuple[str, str], HubFile]) -> Iterator[FakeHub]:
    """Run the fake Hub (and its storage host) on 127.0.0.1 at free ports for the duration of the ``with`` block."""
    hub = FakeHub(files)
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub)) for _ in range(2)]
    hub.port, hub.cdn_port = (s.server_address[1] for s in servers)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    try:
        yield hub
    finally:
        for s, t in zip(servers, threads, strict=True):
            s.shutdown()
            s.server_close()
            t.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connections to it are refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
