"""An OpenSearch-API server for tests: osmem-server. (The Elasticsearch-API one, noida-db, ships with Hub for
``hub demo``: hub.demo.search.)"""

from __future__ import annotations

import json
import time
import urllib.request

from hub.demo.process import LocalServer, ServerUnavailableError, free_port
from hub.demo.servers import ORIGIN_LOCAL, HttpServer


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
