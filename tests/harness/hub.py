"""Hub's own Kafka listener (`hub log serve`) as a subprocess on a free port of 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.harness.process import port_open

FAST_GROUPS = ["-o", "group.initial.rebalance.delay.ms=0", "-o", "group.min.session.timeout.ms=1000"]


@dataclass
class HubServer:
    """A `hub log serve` process; ``start`` again after ``kill`` or ``stop`` reuses its data directory and port."""

    data_dir: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "hub.cli",
            "log",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--listener",
            self.bootstrap,
            *FAST_GROUPS,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        deadline = time.monotonic() + 30
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hub log serve did not start:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)
