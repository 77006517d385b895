"""Child processes for throwaway servers (``hub demo``'s and the test suite's): free ports, start with a log file,
wait until ready, stop cleanly.

A server that cannot be started raises ServerUnavailableError with a message saying what is missing and how to
install it; ``hub demo`` prints it, the test fixtures turn it into a test failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path


class ServerUnavailableError(RuntimeError):
    """A server could not be started; the message says what is missing and how to get it."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def require_binary(name: str, hint: str) -> str:
    """Path of an executable on PATH (or an absolute path), else an error naming the install hint."""
    path = name if os.path.isabs(name) and os.access(name, os.X_OK) else shutil.which(name)
    if not path:
        raise ServerUnavailableError(f"{name} not found; {hint}")
    return path


class ManagedProcess:
    """A server child process with its output in a log file; ``stop()`` signals, waits, then kills."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.stop_signal = stop_signal
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})},
                start_new_session=True,
            )
        finally:
            log.close()

    def wait_ready(self, ready: Callable[[], bool], timeout_s: float) -> None:
        """Poll ``ready`` until it is true; a process that exits or a timeout raises with the log's tail."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerUnavailableError(
                    f"{self.name} exited with code {self.process.returncode} while starting:\n" + self.log_tail()
                )
            with contextlib.suppress(Exception):
                if ready():
                    return
            time.sleep(0.05)
        raise ServerUnavailableError(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, self.stop_signal)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_s)


def run_checked(argv: Sequence[str], what: str, *, timeout_s: float = 120.0) -> None:
    """Run a set-up command; failure raises ServerUnavailableError with its output."""
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False)
    if result.returncode != 0:
        raise ServerUnavailableError(
            f"{what} failed (exit {result.returncode}): {result.stdout}{result.stderr}".strip()
        )


def venv_binary(name: str, hint: str) -> str:
    """An executable installed next to this Python (the project's venv), else on PATH."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or require_binary(name, hint)


class LocalServer:
    """A server process with its files in a fresh temporary directory; ``stop()`` ends it and removes them."""

    prefix = "hub-test-"

    def __init__(self) -> None:
        self.base_dir: Path | None = None
        self.process: ManagedProcess | None = None

    def launch(
        self,
        name: str,
        argv: Sequence[str],
        ready: Callable[[], bool],
        *,
        timeout_s: float = 60,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        """Start ``argv`` (its output in ``server.log`` of the base directory) and wait until ``ready``."""
        assert self.base_dir is not None
        self.process = ManagedProcess(name, argv, self.base_dir / "server.log", stop_signal=stop_signal)
        self.process.start()
        self.process.wait_ready(ready, timeout_s=timeout_s)

    def make_base_dir(self) -> Path:
        self.base_dir = Path(tempfile.mkdtemp(prefix=self.prefix))
        return self.base_dir

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
