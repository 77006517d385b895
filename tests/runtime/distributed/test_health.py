"""/health of a distributed worker follows its group membership: healthy while the coordinator confirms it,
unhealthy (500, as Connect's) once it has not for longer than the session timeout, healthy again after rejoining."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import httpx
import pytest

from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.runtime.distributed.test_cluster import _start_worker, _wait

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_health_goes_unhealthy_while_the_coordinator_is_unreachable(tmp_path: Path) -> None:
    store = HubServer(tmp_path / "store", free_port(), tmp_path / "store.log")
    store.start()
    properties = tmp_path / "worker.properties"
    properties.write_text("session.timeout.ms=2000\nheartbeat.interval.ms=300\nrebalance.timeout.ms=5000\n")
    group = f"health-{uuid.uuid4().hex[:6]}"
    worker = _start_worker(tmp_path, store.bootstrap, group, properties)
    try:
        assert httpx.get(worker.url + "/health", timeout=5).json()["status"] == "healthy"
        store.kill()

        def unhealthy() -> httpx.Response | None:
            answer = httpx.get(worker.url + "/health", timeout=5)
            return answer if answer.status_code == 500 else None

        answer = _wait(unhealthy, "unhealthy", 60)
        body = answer.json()
        assert body["status"] == "unhealthy"
        assert group in body["message"]
        assert httpx.get(worker.url + "/connectors", timeout=5).status_code == 200  # reads still answer
        store.start()
        _wait(lambda: httpx.get(worker.url + "/health", timeout=5).status_code == 200, "healthy again", 90)
    finally:
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(90)
        if store.process is not None and store.process.poll() is None:
            store.stop()
