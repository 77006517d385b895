"""A `hub start` process for the REST tests, and an HTTP client pointed at it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.harness.process import free_port


@dataclass
class HubStart:
    process: subprocess.Popen[bytes]
    url: str
    kafka: str
    log_path: Path
    work_dir: Path


def start_hub(
    work_dir: Path, *extra: str, config: str = "", scheme: str = "http", auth: tuple[str, str] | None = None
) -> HubStart:
    rest_port, kafka_port = free_port(), free_port()
    worker = work_dir / "worker.properties"
    worker.write_text("offset.flush.interval.ms=200\n" + config)
    argv = [sys.executable, "-m", "hub.cli", "start", "--data-dir", str(work_dir / "data"),
            "--rest-listener", f"127.0.0.1:{rest_port}", "--kafka-listener", f"127.0.0.1:{kafka_port}",
            "--config", str(worker), *extra]  # fmt: skip
    log_path = work_dir / "hub.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"{scheme}://127.0.0.1:{rest_port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/health", verify=False, timeout=2, auth=auth).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"hub start did not come up:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return HubStart(process, url, f"127.0.0.1:{kafka_port}", log_path, work_dir)


def stop_hub(hub: HubStart) -> None:
    hub.process.send_signal(signal.SIGTERM)
    assert hub.process.wait(60) == 0, hub.log_path.read_text()[-3000:]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStart]:
    started = start_hub(tmp_path_factory.mktemp("hub-rest"))
    yield started
    stop_hub(started)


@pytest.fixture
def api(hub: HubStart) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        yield client
