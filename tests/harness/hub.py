"""Hub's own Kafka listener (`hub log serve`) as a subprocess: on a free port of 127.0.0.1 by default, or on any
address with extra ``-o`` settings and a launcher prefix (e.g. ``ip netns exec NAME`` to run it in a namespace)."""

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
    """A `hub log serve` process; ``start`` again after ``kill`` or ``stop`` reuses its data directory and port.

    ``options`` are extra ``KEY=VALUE`` broker settings; ``launcher`` is an argv prefix that must exec the command
    (so the pid signalled is the server's own)."""

    data_dir: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    host: str = "127.0.0.1"
    options: tuple[str, ...] = ()
    launcher: tuple[str, ...] = ()

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout_s: float = 30) -> None:
        self.launch()
        self.wait_listening(timeout_s)

    def launch(self) -> None:
        """Start the process without waiting (nodes of a cluster may listen only once a quorum of them runs)."""
        argv = [
            *self.launcher,
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
            *(arg for option in self.options for arg in ("-o", option)),
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))

    def wait_listening(self, timeout_s: float = 30) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while not port_open(self.port, self.host):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hub log serve did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)
