"""An Elasticsearch-API server for tests: noida-db with only its Elasticsearch service.

noida-db speaks the Elasticsearch REST API (the official client works against it) but is not Elasticsearch:
docs/testing.md lists what it does not cover. It stops on SIGINT.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.harness.process import ManagedProcess, free_port, require_binary
from tests.harness.servers import ORIGIN_LOCAL, HttpServer

INSTALL_HINT = "install the test extra: pip install -e '.[test]' (noida-db)"


class LocalSearch:
    """Owns one ``noida-db start --only elasticsearch`` process on 127.0.0.1."""

    def __init__(self) -> None:
        self.base_dir: Path | None = None
        self.process: ManagedProcess | None = None

    def start(self) -> HttpServer:
        binary = shutil.which("noida-db", path=str(Path(sys.executable).parent)) or require_binary(
            "noida-db", INSTALL_HINT
        )
        began = time.monotonic()
        self.base_dir = Path(tempfile.mkdtemp(prefix="hub-test-search-"))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.process = ManagedProcess(
            "noida-db",
            [
                binary,
                "start",
                "--data-dir",
                str(self.base_dir / "data"),
                "--host",
                "127.0.0.1",
                "--only",
                "elasticsearch",
                "--elasticsearch-port",
                str(port),
            ],
            self.base_dir / "server.log",
            stop_signal=signal.SIGINT,
        )
        self.process.start()

        def answers() -> bool:
            with urllib.request.urlopen(url + "/", timeout=1) as response:
                return "version" in json.loads(response.read())

        self.process.wait_ready(answers, timeout_s=60)
        return HttpServer(name="elasticsearch", url=url, origin=ORIGIN_LOCAL, startup_s=time.monotonic() - began)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
