"""A throwaway Elasticsearch-API server: noida-db (PyPI ``noida-db``, Hub's ``demo`` extra) with only its
Elasticsearch service, data in a fresh temporary directory.

noida-db speaks the Elasticsearch REST API (the official client works against it) but is not Elasticsearch:
docs/testing.md lists what it does not cover. It stops on SIGINT.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.request

from hub.demo.process import LocalServer, free_port, venv_binary
from hub.demo.servers import ORIGIN_LOCAL, HttpServer

INSTALL_HINT = "install noida-db: pip install 'hub[demo]' (the test extra has it too)"


class LocalSearch(LocalServer):
    """Owns one ``noida-db start --only elasticsearch`` process on 127.0.0.1."""

    prefix = "hub-search-"

    def start(self) -> HttpServer:
        binary = venv_binary("noida-db", INSTALL_HINT)
        began = time.monotonic()
        base = self.make_base_dir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            with urllib.request.urlopen(url + "/", timeout=1) as response:
                return "version" in json.loads(response.read())

        self.launch(
            "noida-db",
            [
                binary,
                "start",
                "--data-dir",
                str(base / "data"),
                "--host",
                "127.0.0.1",
                "--only",
                "elasticsearch",
                "--elasticsearch-port",
                str(port),
            ],
            answers,
            stop_signal=signal.SIGINT,
        )
        return HttpServer(name="elasticsearch", url=url, origin=ORIGIN_LOCAL, startup_s=time.monotonic() - began)
