"""Signed worker-to-worker requests (KIP-507) between real `hub worker` processes whose REST API needs a login:
task configs still reach the leader, and `PUT /connectors/NAME/tasks` is refused unless signed with the session
key the leader distributes (and rotates) through the config topic."""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.runtime.request_signing import SessionKey, signature_headers
from tests.harness.hub import HubServer
from tests.runtime.distributed.signing import session_keys
from tests.runtime.distributed.test_cluster import _start_worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOGIN = ("ops", "s3cret")
KEY_TTL_MS = 4000


@dataclass
class Group:
    urls: list[str]
    bootstrap: str
    config_topic: str


@pytest.fixture
def group(hub_server: HubServer, tmp_path: Path) -> Iterator[Group]:
    name = f"signed-{uuid.uuid4().hex[:6]}"
    credentials = tmp_path / "credentials.json"
    digest = hashlib.sha256(LOGIN[1].encode()).hexdigest()
    credentials.write_text(json.dumps({"users": [{"name": LOGIN[0], "password_sha256": digest, "role": "admin"}]}))
    properties = tmp_path / "worker.properties"
    properties.write_text(
        f"config.storage.topic={name}-configs\noffset.storage.topic={name}-offsets\nstatus.storage.topic={name}-status\n"
        f"session.timeout.ms=4000\nheartbeat.interval.ms=500\nscheduled.rebalance.max.delay.ms=0\n"
        f"rest.auth.file={credentials}\nrest.auth.health.public=true\ninter.worker.key.ttl.ms={KEY_TTL_MS}\n"
    )
    started = [_start_worker(tmp_path, hub_server.bootstrap, name, properties) for _ in range(2)]
    try:
        yield Group([worker.url for worker in started], hub_server.bootstrap, f"{name}-configs")
    finally:
        for worker in started:
            worker.process.send_signal(signal.SIGTERM)
        for worker in started:
            assert worker.process.wait(60) == 0


def _session_keys(group: Group) -> list[SessionKey]:
    return session_keys(group.bootstrap, group.config_topic)


def _put_tasks(url: str, name: str, body: bytes, headers: dict[str, str], **kwargs: Any) -> httpx.Response:
    return httpx.put(
        f"{url}/connectors/{name}/tasks",
        content=body,
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
        **kwargs,
    )


def _tasks_of(url: str, name: str) -> int:
    return len(httpx.get(f"{url}/connectors/{name}", auth=LOGIN, timeout=10).json().get("tasks", []))


def test_task_configs_travel_signed_and_unsigned_ones_are_refused(group: Group) -> None:
    names = [f"gen{i}" for i in range(4)]  # some connectors run on the worker that is not the leader
    for name in names:
        config = {"connector.class": "Datagen", "topic": f"signed-{name}", "rate": "5", "tasks.max": "2"}
        answer = httpx.post(
            f"{group.urls[0]}/connectors", json={"name": name, "config": config}, auth=LOGIN, timeout=60
        )
        assert answer.status_code == 201, answer.text
    deadline = time.monotonic() + 60
    while any(_tasks_of(group.urls[0], name) != 2 for name in names):
        assert time.monotonic() < deadline, "task configs generated on the other worker never reached the leader"
        time.sleep(0.25)

    body = json.dumps([{"task.class": "evil"}]).encode()
    for url in group.urls:
        unsigned = _put_tasks(url, "gen0", body, {})  # no credentials either: signatures replace them
        assert unsigned.status_code == 400, unsigned.text
        assert unsigned.json()["message"] == "Internal request missing required signature"
        logged_in = _put_tasks(url, "gen0", body, {}, auth=LOGIN)
        assert logged_in.status_code == 400, "a login is not a worker's signature"
        forged = signature_headers(SessionKey(b"x" * 32, "HmacSHA256", 0), "HmacSHA256", body)
        assert _put_tasks(url, "gen0", body, forged).status_code == 403
        weak = {**forged, "X-Connect-Request-Signature-Algorithm": "HmacSHA1"}
        refused = _put_tasks(url, "gen0", body, weak)
        assert refused.status_code == 400
        assert "HmacSHA1" in refused.json()["message"]
        garbled = {**forged, "X-Connect-Authorization": "not base64!"}
        assert _put_tasks(url, "gen0", body, garbled).status_code == 400
    assert _tasks_of(group.urls[0], "gen0") == 2

    # Whoever holds the key (any reader of the config topic) is a worker: the request is taken, forwarded if needed.
    key = _session_keys(group)[-1]
    one_task = json.dumps([{"topic": "signed-gen0", "rate": "5"}]).encode()
    signed = _put_tasks(group.urls[1], "gen0", one_task, signature_headers(key, "HmacSHA256", one_task))
    assert signed.status_code == 204, signed.text
    tampered = json.dumps([{"topic": "elsewhere"}]).encode()
    assert (
        _put_tasks(group.urls[0], "gen0", tampered, signature_headers(key, "HmacSHA256", one_task)).status_code == 403
    )


def test_the_leader_rotates_the_session_key_and_old_signatures_stop_working(group: Group, tmp_path: Path) -> None:
    first = _session_keys(group)
    assert first, "no session key in the config topic"
    old = first[-1]
    deadline = time.monotonic() + 30
    while (keys := _session_keys(group))[-1] == old:
        assert time.monotonic() < deadline, "the session key was never rotated"
    assert keys[-1].created_ms >= old.created_ms + KEY_TTL_MS
    assert keys[-1].key != old.key
    body = b"[]"
    for url in group.urls:
        # Each worker reads the new key from the config topic when it gets there: accepted (404: no such
        # connector) from then on, and the old one refused.
        deadline = time.monotonic() + 30
        while _put_tasks(url, "missing", body, signature_headers(keys[-1], "HmacSHA256", body)).status_code != 404:
            assert time.monotonic() < deadline, f"{url} never took the new session key"
            time.sleep(0.1)
        assert _put_tasks(url, "missing", body, signature_headers(old, "HmacSHA256", body)).status_code == 403
    logs = "".join(path.read_text() for path in tmp_path.glob("worker-*.log"))
    assert "new session key" in logs
    for key in keys:
        assert base64.b64encode(key.key).decode() not in logs
