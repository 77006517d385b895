"""The one line ``hub start`` prints on stdout once its worker takes writes: where the REST API and the Kafka
listener are, where the data is, and a command to try next. Logs go to stderr, so this is the only line on stdout
and it is printed only when true (when the worker's ``/health`` would answer healthy).
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

#: How often readiness is checked while the worker starts.
POLL_S = 0.05


class HasHealth(Protocol):
    def health(self) -> tuple[str, str]: ...


def hub_command() -> str:
    """How to run this ``hub`` from the current directory: ``hub`` when it is the one on PATH, else the console
    script that was run (or the one next to this Python, a venv's), relative to the current directory when below
    it."""
    invoked = Path(sys.argv[0])
    found = str(invoked) if invoked.name == "hub" else shutil.which("hub", path=str(Path(sys.executable).parent))
    if found is None:
        return "hub"
    path = Path(found).absolute()
    on_path = shutil.which("hub")
    if on_path is not None and Path(on_path).absolute() == path:
        return "hub"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def ready_line(rest_url: str, kafka_listener: tuple[str, int], data_dir: Path, default_rest_url: str) -> str:
    """``Hub ready: REST API …, Kafka listener …, data in …; try: hub plugins``."""
    url_flag = "" if rest_url == default_rest_url else f" --url {rest_url}"
    host, port = kafka_listener
    listener = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return (
        f"Hub ready: REST API {rest_url}, Kafka listener {listener}, data in {data_dir.resolve()}; "
        f"try: {hub_command()} plugins{url_flag}"
    )


def announce_when_ready(worker: HasHealth, line: str, echo: Callable[[str], None], timeout_s: float) -> None:
    """Print ``line`` from a background thread once ``worker`` is healthy; nothing if it is not within
    ``timeout_s`` (its logs say why)."""

    def wait_then_print() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if worker.health()[0] == "healthy":
                echo(line)
                return
            time.sleep(POLL_S)

    threading.Thread(target=wait_then_print, name="hub-ready-line", daemon=True).start()
