"""A small HTTP proxy in front of the search server that injects faults: answer the next bulk requests with 429 or
503 instead of forwarding them, answer every item of one with a version conflict (as when another writer changed
the document meanwhile), or stop listening altogether (the server is "down") and come back on the same port."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FaultProxy:
    """Forwards to ``target``; ``fail_bulk(n, status)`` and ``down()`` / ``up()`` inject failures."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self.host, self.port_to = parts.hostname or "127.0.0.1", parts.port or 80
        self.failures: list[int] = []
        self.delays: list[float] = []
        self.conflicts = 0
        self.bulk_requests = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()  # connections being served, cut by down()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_bulk(self, count: int, status: int) -> None:
        with self._lock:
            self.failures += [status] * count

    def conflict_bulk(self, count: int) -> None:
        """The next ``count`` bulk requests are not forwarded: each item is answered 409 version conflict."""
        with self._lock:
            self.conflicts += count

    def delay_bulk(self, count: int, seconds: float) -> None:
        """The next ``count`` bulk requests are forwarded only after ``seconds`` (a slow server)."""
        with self._lock:
            self.delays += [seconds] * count

    def up(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._open.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._open.discard(self.connection)
                super().finish()

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if "_bulk" in self.path:
                    with proxy._lock:
                        proxy.bulk_requests += 1
                        status = proxy.failures.pop(0) if proxy.failures else None
                        if status is not None:
                            proxy.failed += 1
                    with proxy._lock:
                        delay = proxy.delays.pop(0) if proxy.delays and status is None else 0.0
                        conflict = status is None and proxy.conflicts > 0
                        if conflict:
                            proxy.conflicts -= 1
                    if conflict:
                        self._answer(200, _conflicts(body or b""))
                        return
                    time.sleep(delay)
                    if status is not None:
                        payload = (
                            b'{"error":{"type":"injected","reason":"fault injected by the test"},"status":%d}' % status
                        )
                        self._answer(status, payload)
                        return
                upstream = http.client.HTTPConnection(proxy.host, proxy.port_to, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            def _answer(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Elastic-Product", "Elasticsearch")  # the Elasticsearch client checks it
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _relay  # noqa: N815 (http.server's names)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True, name="fault-proxy").start()

    def down(self) -> None:
        """Stops listening and cuts open connections: the server is unreachable until ``up()``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            for connection in list(self._open):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self._open.clear()

    def close(self) -> None:
        self.down()


def _conflicts(body: bytes) -> bytes:
    """A bulk answer refusing every operation of ``body`` (NDJSON) with a version conflict, as the server words it."""
    items = []
    lines = iter(line for line in body.splitlines() if line.strip())
    for line in lines:
        [(action, meta)] = json.loads(line).items()
        if action != "delete":
            next(lines)  # the document
        reason = f"[{meta.get('_id')}]: version conflict, current version [2] is different than the one provided [1]"
        error = {"type": "version_conflict_engine_exception", "reason": reason}
        items.append({action: {"_index": meta.get("_index"), "_id": meta.get("_id"), "status": 409, "error": error}})
    return json.dumps({"took": 1, "errors": True, "items": items}).encode()
