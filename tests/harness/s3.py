"""An S3 server for tests: moto's standalone server (path-style addressing, any access key)."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.harness.process import ManagedProcess, free_port, require_binary
from tests.harness.servers import ORIGIN_LOCAL, S3Server

INSTALL_HINT = "install the test extra: pip install -e '.[test]' (moto[server])"


class LocalS3:
    """Owns one ``moto_server`` process on 127.0.0.1."""

    def __init__(self) -> None:
        self.base_dir: Path | None = None
        self.process: ManagedProcess | None = None

    def start(self) -> S3Server:
        binary = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or require_binary(
            "moto_server", INSTALL_HINT
        )
        began = time.monotonic()
        self.base_dir = Path(tempfile.mkdtemp(prefix="hub-test-s3-"))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.process = ManagedProcess(
            "moto_server", [binary, "-H", "127.0.0.1", "-p", str(port)], self.base_dir / "server.log"
        )
        self.process.start()
        self.process.wait_ready(lambda: urllib.request.urlopen(url + "/", timeout=1).status == 200, timeout_s=60)
        return S3Server(
            url=url,
            access_key="test",
            secret_key="test",
            origin=ORIGIN_LOCAL,
            startup_s=time.monotonic() - began,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
