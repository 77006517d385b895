"""An Elasticsearch-API server for tests: noida-db with only its Elasticsearch service.

noida-db speaks the Elasticsearch REST API (the official client works against it) but is not Elasticsearch:
docs/testing.md lists what it does not cover. It stops on SIGINT.
"""

from __future__ import annotations

import json
import signal
import time
import urllib.request

from tests.harness.process import LocalServer, ServerUnavailableError, free_port, venv_binary
from tests.harness.servers import ORIGIN_LOCAL, HttpServer

INSTALL_HINT = "install the test extra: pip install -e '.[test]' (noida-db)"


class LocalSearch(LocalServer):
    """Owns one ``noida-db start --only elasticsearch`` process on 127.0.0.1."""

    prefix = "hub-test-search-"

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


class LocalOpenSearch(LocalServer):
    """Owns one ``osmem-server`` process (an in-memory OpenSearch-API server, PyPI ``osmem-server``) on 127.0.0.1.

    Like noida-db it answers the API, not OpenSearch's internals: docs/testing.md says what it does not cover.
    """

    prefix = "hub-test-opensearch-"

    def start(self) -> HttpServer:
        try:
            from osmem_server import resolve_binary
        except ImportError:
            raise ServerUnavailableError("install the test extra: pip install -e '.[test]' (osmem-server)") from None
        began = time.monotonic()
        self.make_base_dir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            with urllib.request.urlopen(url + "/", timeout=1) as response:
                return "version" in json.loads(response.read())

        argv = [resolve_binary(), "-addr", f"127.0.0.1:{port}", "-no-stdin-watch", "-no-ja"]
        self.launch("osmem-server", argv, answers)
        return HttpServer(name="opensearch", url=url, origin=ORIGIN_LOCAL, startup_s=time.monotonic() - began)
