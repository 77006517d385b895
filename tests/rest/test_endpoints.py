"""Every route of the REST API against a running `hub start`: status codes, bodies, errors, state changes."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient

import hub as hub_package
from hub import __version__
from hub.runtime.request_signing import signature_headers
from tests.rest.conftest import HubStart
from tests.runtime.distributed.signing import session_keys

pytestmark = pytest.mark.integration


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "message"}
    assert body["error_code"] == status
    return str(body["message"])


def _source(tmp: Path, name: str) -> dict[str, Any]:
    path = tmp / f"{name}.txt"
    path.write_text("a\nb\n")
    return {"connector.class": "FileStreamSource", "file": str(path), "topic": f"t-{name}"}


def _name() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


def test_root_health_and_openapi(api: httpx.Client, hub: HubStart) -> None:
    root = api.get("/").json()
    assert root["version"] == __version__
    meta = json.loads((hub.work_dir / "data" / "meta.json").read_text())
    assert root["kafka_cluster_id"] == meta["cluster_id"]
    # the same id in the Kafka listener's Metadata (librdkafka) and DescribeCluster (kafka-python)
    assert AdminClient({"bootstrap.servers": hub.kafka}).list_topics(timeout=10).cluster_id == meta["cluster_id"]
    admin = KafkaAdminClient(bootstrap_servers=hub.kafka, request_timeout_ms=10_000)
    try:
        assert admin.describe_cluster()["cluster_id"] == meta["cluster_id"]
    finally:
        admin.close()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False, cwd=Path(hub_package.__file__).parent
    )
    assert root["commit"] == (head.stdout.strip() if head.returncode == 0 else "unknown")
    assert api.get("/health").json()["status"] == "healthy"
    document = api.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/connectors/{name}/offsets" in document["paths"]


def test_connector_lifecycle(api: httpx.Client, hub: HubStart) -> None:
    name = _name()
    config = _source(hub.work_dir, name)
    created = api.post("/connectors", json={"name": name, "config": config})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/connectors/{name}"
    info = created.json()
    assert info["config"] == {**config, "name": name}
    assert (info["name"], info["type"]) == (name, "source")
    assert info["tasks"] in ([], [{"connector": name, "task": 0}])  # tasks may already be planned
    assert "already exists" in _error(api.post("/connectors", json={"name": name, "config": config}), 409)
    _wait(lambda: api.get(f"/connectors/{name}").json()["tasks"], "tasks")
    assert api.get(f"/connectors/{name}").json()["tasks"] == [{"connector": name, "task": 0}]
    assert api.get(f"/connectors/{name}/config").json()["topic"] == f"t-{name}"
    status = _wait(
        lambda: (
            (s := api.get(f"/connectors/{name}/status").json())["tasks"] and s["tasks"][0]["state"] == "RUNNING" and s
        ),
        "a running task",
    )
    assert status["connector"]["state"] == "RUNNING"
    assert status["type"] == "source"
    assert api.get(f"/connectors/{name}/tasks").json()[0]["id"] == {"connector": name, "task": 0}
    assert f"{name}-0" in api.get(f"/connectors/{name}/tasks-config").json()
    assert api.get(f"/connectors/{name}/tasks/0/status").json()["state"] == "RUNNING"
    _error(api.get(f"/connectors/{name}/tasks/7/status"), 404)
    listed = api.get("/connectors", params=[("expand", "status"), ("expand", "info")]).json()
    assert listed[name]["info"]["type"] == "source"
    assert name in api.get("/connectors").json()

    assert api.put(f"/connectors/{name}/pause").status_code == 202
    _wait(lambda: api.get(f"/connectors/{name}/status").json()["connector"]["state"] == "PAUSED", "paused")
    assert api.put(f"/connectors/{name}/resume").status_code == 202
    _wait(lambda: api.get(f"/connectors/{name}/status").json()["connector"]["state"] == "RUNNING", "resumed")
    assert api.post(f"/connectors/{name}/restart").status_code == 204
    plan = api.post(f"/connectors/{name}/restart", params={"includeTasks": "true"})
    assert plan.status_code == 202
    assert plan.json()["tasks"][0]["state"] == "RESTARTING"
    assert api.post(f"/connectors/{name}/tasks/0/restart").status_code == 204
    _wait(lambda: api.get(f"/connectors/{name}/topics").json() == {name: {"topics": [f"t-{name}"]}}, "topics")
    assert api.put(f"/connectors/{name}/topics/reset").status_code == 202

    updated = api.put(f"/connectors/{name}/config", json={**config, "batch.size": "10"})
    assert updated.status_code == 200
    patched = api.patch(f"/connectors/{name}/config", json={"batch.size": None, "tasks.max": 1})
    assert patched.status_code == 200
    assert "batch.size" not in patched.json()["config"]
    assert patched.json()["config"]["tasks.max"] == "1"

    assert "STOPPED" in _error(api.delete(f"/connectors/{name}/offsets"), 400)
    assert api.put(f"/connectors/{name}/stop").status_code == 204
    _wait(lambda: api.get(f"/connectors/{name}/status").json()["connector"]["state"] == "STOPPED", "stopped")
    offsets = _wait(lambda: api.get(f"/connectors/{name}/offsets").json()["offsets"], "offsets")
    assert offsets == [{"partition": {"filename": config["file"]}, "offset": {"position": 4}}]
    _error(api.patch(f"/connectors/{name}/offsets", json={"offsets": []}), 400)
    altered = api.patch(
        f"/connectors/{name}/offsets", json={"offsets": [{"partition": offsets[0]["partition"], "offset": None}]}
    )
    assert altered.status_code == 200
    assert "altered" in altered.json()["message"]
    assert api.delete(f"/connectors/{name}/offsets").json()["message"].endswith("reset successfully")
    assert api.delete(f"/connectors/{name}").status_code == 204
    assert "not found" in _error(api.get(f"/connectors/{name}"), 404)
    _error(api.delete(f"/connectors/{name}"), 404)


def test_put_config_creates_with_201_and_initial_state(api: httpx.Client, hub: HubStart) -> None:
    name = _name()
    created = api.put(f"/connectors/{name}/config", json=_source(hub.work_dir, name))
    assert created.status_code == 201
    assert created.headers["location"] == f"/connectors/{name}"
    paused = _name()
    response = api.post(
        "/connectors", json={"name": paused, "config": _source(hub.work_dir, paused), "initial_state": "PAUSED"}
    )
    assert response.status_code == 201
    _wait(lambda: api.get(f"/connectors/{paused}/status").json()["connector"]["state"] == "PAUSED", "paused")
    for each in (name, paused):
        api.delete(f"/connectors/{each}")


def test_bad_requests_are_refused_without_changing_state(api: httpx.Client, hub: HubStart) -> None:
    before = api.get("/connectors").json()
    _error(api.post("/connectors", content=b"{bad", headers={"content-type": "application/json"}), 400)
    _error(api.post("/connectors", content=b"{}", headers={"content-type": "text/plain"}), 415)
    _error(api.post("/connectors", json={"name": "x", "config": {}, "surprise": 1}), 400)
    _error(api.post("/connectors", json={"name": "a/b", "config": {"connector.class": "Datagen"}}), 400)
    _error(api.post("/connectors", json={"name": "a\x01b", "config": {"connector.class": "Datagen"}}), 400)
    _error(api.post("/connectors", json={"name": "n", "config": {"connector.class": {"nested": 1}}}), 400)
    message = _error(api.post("/connectors", json={"name": "n", "config": {"connector.class": "Nope"}}), 400)
    assert "unknown connector class 'Nope'" in message
    message = _error(
        api.post("/connectors", json={"name": "n", "config": {"connector.class": "FileStreamSink", "tasks.max": "x"}}),
        400,
    )
    assert "contains the following 2 error(s)" in message
    assert "tasks.max" in message
    assert "topics" in message
    big = b'{"name": "big", "config": {"x": "' + b"y" * (10 << 20) + b'"}}'
    _error(api.post("/connectors", content=big, headers={"content-type": "application/json"}), 413)
    _error(api.put("/connectors/other/config", json={"name": "mismatch", "connector.class": "Datagen"}), 400)
    _error(api.get("/no/such/route"), 404)
    _error(api.post("/connectors/x/restart", params={"includeTasks": "maybe"}), 400)
    assert api.get("/connectors").json() == before


def test_task_configs_a_worker_sends_are_written_by_the_leader(api: httpx.Client, hub: HubStart) -> None:
    name = _name()
    assert api.post("/connectors", json={"name": name, "config": _source(hub.work_dir, name)}).status_code == 201
    generated = _wait(lambda: api.get(f"/connectors/{name}/tasks").json(), "tasks")[0]["config"]
    changed = {**generated, "batch.size": "7"}
    assert "signature" in _error(api.put(f"/connectors/{name}/tasks", json=[changed]), 400)
    key = session_keys(hub.kafka, "connect-configs")[-1]

    def signed_put(connector: str, tasks: object) -> httpx.Response:
        body = json.dumps(tasks).encode()
        headers = {"Content-Type": "application/json", **signature_headers(key, "HmacSHA256", body)}
        return api.put(f"/connectors/{connector}/tasks", content=body, headers=headers)

    assert signed_put(name, [changed]).status_code == 204  # hub start is the leader
    assert api.get(f"/connectors/{name}/tasks").json()[0]["config"] == changed
    _error(signed_put("no-such-connector", [changed]), 404)
    _error(signed_put(name, {"0": changed}), 400)
    _error(signed_put(name, [changed, "x"]), 400)
    assert api.put(f"/connectors/{name}/stop").status_code == 204
    assert "stopped" in _error(signed_put(name, [changed]), 400)
    assert api.get(f"/connectors/{name}/tasks").json() == []
    assert api.delete(f"/connectors/{name}").status_code == 204


def test_plugins_config_and_validate(api: httpx.Client) -> None:
    connectors = api.get("/connector-plugins").json()
    assert {p["type"] for p in connectors} == {"source", "sink"}
    assert connectors[0]["type"] == "sink"  # Connect's order: sinks, sources, then the rest
    everything = api.get("/connector-plugins", params={"connectorsOnly": "false"}).json()
    assert {"transformation", "predicate", "converter", "header_converter"} <= {p["type"] for p in everything}
    keys = api.get("/connector-plugins/FileStreamSource/config").json()
    assert {"tasks.max", "file", "topic"} <= {k["name"] for k in keys}
    assert api.get("/connector-plugins/org.apache.kafka.connect.transforms.Filter/config").status_code == 200
    # Every plugin the listing shows describes its options, header converters too (none, for this one).
    for plugin in everything:
        assert api.get(f"/connector-plugins/{plugin['class']}/config").status_code == 200, plugin
    assert api.get("/connector-plugins/org.apache.kafka.connect.storage.SimpleHeaderConverter/config").json() == []
    _error(api.get("/connector-plugins/Nope/config"), 404)
    checked = api.put(
        "/connector-plugins/FileStreamSource/config/validate",
        json={"connector.class": "FileStreamSource", "name": "v", "tasks.max": "x"},
    )
    assert checked.status_code == 200
    body = checked.json()
    assert body["name"] == "connectors.file.source.FileStreamSourceConnector"
    assert body["error_count"] == 2
    assert "Common" in body["groups"]
    errors = {c["value"]["name"]: c["value"]["errors"] for c in body["configs"] if c["value"]["errors"]}
    assert set(errors) == {"tasks.max", "topic"}
    mismatch = api.put("/connector-plugins/FileStreamSink/config/validate", json={"connector.class": "Datagen"})
    assert "does not match" in _error(mismatch, 400)


def test_admin_loggers(api: httpx.Client) -> None:
    assert api.get("/admin/loggers").json()["root"]["level"] in ("INFO", "DEBUG", "WARN")
    changed = api.put("/admin/loggers/hub.runtime", json={"level": "DEBUG"})
    assert changed.status_code == 200
    assert "hub.runtime" in changed.json()
    level = api.get("/admin/loggers/hub.runtime").json()
    assert level["level"] == "DEBUG"
    assert isinstance(level["last_modified"], int)
    assert "invalid log level" in _error(api.put("/admin/loggers/hub.runtime", json={"level": "LOUD"}), 404)
    _error(api.put("/admin/loggers/hub.runtime", json={}), 400)
    api.put("/admin/loggers/hub.runtime", json={"level": "INFO"})
