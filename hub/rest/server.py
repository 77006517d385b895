"""RestServer: the REST application served by uvicorn on its own thread (and event loop), over HTTP or HTTPS."""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger("hub.rest")


class RestServer:
    """Serves ``app`` on ``host:port`` until ``stop()``; with a certificate and key, over TLS."""

    def __init__(
        self,
        app: Starlette,
        host: str,
        port: int,
        *,
        certfile: Path | None = None,
        keyfile: Path | None = None,
    ) -> None:
        self.host = host
        self.scheme = "https" if certfile else "http"
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
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
        self._socket.close()
