"""An S3 server for tests: moto's standalone server (path-style addressing, any access key)."""

from __future__ import annotations

import time
import urllib.request

from tests.harness.process import LocalServer, free_port, venv_binary
from tests.harness.servers import ORIGIN_LOCAL, S3Server

INSTALL_HINT = "install the test extra: pip install -e '.[test]' (moto[server])"


class LocalS3(LocalServer):
    """Owns one ``moto_server`` process on 127.0.0.1."""

    prefix = "hub-test-s3-"

    def start(self) -> S3Server:
        binary = venv_binary("moto_server", INSTALL_HINT)
        began = time.monotonic()
        self.make_base_dir()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        self.launch(
            "moto_server",
            [binary, "-H", "127.0.0.1", "-p", str(port)],
            lambda: urllib.request.urlopen(url + "/", timeout=1).status == 200,
        )
        return S3Server(
            url=url, access_key="test", secret_key="test", origin=ORIGIN_LOCAL, startup_s=time.monotonic() - began
        )
