"""`hub start` takes writes as soon as its REST API answers: a client script that waits for GET /connectors, as
Connect users' scripts do, may create a connector right away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.harness.process import free_port

pytestmark = pytest.mark.integration


def test_a_connector_created_as_soon_as_the_api_answers_is_created(tmp_path: Path) -> None:
    rest_port = free_port()
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "start",
        "--data-dir",
        str(tmp_path / "data"),
        "--rest-listener",
        f"127.0.0.1:{rest_port}",
        "--kafka-listener",
        f"127.0.0.1:{free_port()}",
    ]
    log_path = tmp_path / "hub.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{rest_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the REST API never answered"
            try:
                if httpx.get(url + "/connectors", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        config = {"connector.class": "Datagen", "topic": "first", "rate": "1"}
        created = httpx.post(url + "/connectors", json={"name": "first", "config": config}, timeout=60)
        assert created.status_code == 201, created.text
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0, log_path.read_text()[-3000:]
