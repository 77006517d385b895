"""RestServer: the REST application served by uvicorn on its own thread (and event loop), over HTTP or HTTPS.

Stopping is graceful and prompt: requests in flight finish, then every connection closes. Over TLS, closing a
connection means sending our close_notify; asyncio then waits for the peer's close_notify (up to 30 s) before it
lets the connection go, and an idle keep-alive client never sends one because it reads nothing until its next
request. TLS does not require the closing side to wait for that reply, so at shutdown a closing TLS connection
stops reading: asyncio's TLS close then ends at once, after what was written (the rest of a response, our
close_notify) has been flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("hub.rest")


class ShutdownReadyH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 connection, whose TLS close at shutdown does not wait for the peer's close_notify.

    Invariant: once the server shuts down, a connection that is closing (idle, its keep-alive expired, or its last
    response sent) reads nothing more. Runs on the server's event loop only.
    """

    _shutting_down = False
    _tls_socket: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.scheme == "https":  # kept: a TLS transport closed twice no longer reaches its socket
            self._tls_socket = transport.get_extra_info("socket")

    def shutdown(self) -> None:
        self._shutting_down = True
        super().shutdown()  # closes an idle connection; one with a request in flight closes after its response
        self._stop_reading_if_closing()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._shutting_down:
            self._stop_reading_if_closing()

    def _stop_reading_if_closing(self) -> None:
        if self._tls_socket is None or not self.transport.is_closing():
            return
        # The end of reading is an EOF to asyncio's TLS close, which then flushes what is written and closes.
        with contextlib.suppress(OSError):  # the peer may have gone already
            self._tls_socket.shutdown(socket.SHUT_RD)


class RestServer:
    """Serves ``app`` on ``host:port`` until ``stop()``; with a certificate and key, over TLS. ``on_stop`` runs
    once the server has stopped serving (to release what its requests used)."""

    def __init__(
        self,
        app: Starlette,
        host: str,
        port: int,
        *,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.host = host
        self._on_stop = on_stop
        self.scheme = "https" if certfile else "http"
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            http=ShutdownReadyH11Protocol,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        self._server = uvicorn.Server(config)
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))  # bound here, so a port in use fails the start with a clear error
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="hub-rest", daemon=True)

    def _run(self) -> None:
        self._server.run(sockets=[self._socket])

    def start(self, timeout_s: float = 30.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"the REST API did not start on {self.host}:{self.port}")
            time.sleep(0.02)
        log.info("REST API on %s://%s:%d", self.scheme, self.host, self.port)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(30)
        if self._thread.is_alive():
            log.warning("the REST API on %s:%d did not stop within 30 s", self.host, self.port)
        self._socket.close()
        if self._on_stop is not None:
            self._on_stop()
