"""The console's JSON API and assets over HTTP against a `hub start` (no browser): what the store holds, and a
clear 4xx for every input it cannot serve."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.rest.conftest import HubStart

pytestmark = pytest.mark.integration


def _topic_with_records(api: httpx.Client, hub: HubStart, count: int) -> str:
    from kafka.admin import KafkaAdminClient, NewTopic

    name = f"ui-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=hub.kafka, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    for n in range(count):
        sent = api.post(f"/ui/api/topics/{name}/messages", json={"key": f"k{n}", "value": str(n), "partition": 1})
        assert sent.status_code == 201, sent.text
        assert sent.json() == {"topic": name, "partition": 1, "offset": n}
    return name


def test_page_and_vendored_assets(api: httpx.Client) -> None:
    page = api.get("/ui")
    assert page.status_code == 200
    assert "/ui/static/vendor/uPlot.iife.min.js" in page.text
    assert "//cdn" not in page.text
    assert api.get("/ui/static/vendor/uPlot.iife.min.js").headers["content-type"].startswith("text/javascript")
    assert api.get("/ui/static/console.js").status_code == 200
    for missing in ("/ui/static/../api.py", "/ui/static/nothing.js", "/ui/static/vendor"):
        assert api.get(missing).status_code == 404, missing
    paths = api.get("/openapi.json").json()["paths"]
    assert "/ui/api/topics/{topic}/messages" in paths
    assert "/ui/api/dlq/{topic}/resend" in paths


def test_topics_messages_and_offsets(api: httpx.Client, hub: HubStart) -> None:
    name = _topic_with_records(api, hub, 5)
    listed = {t["name"]: t for t in api.get("/ui/api/topics").json()}
    described = api.get(f"/ui/api/topics/{name}").json()
    size = described["partitions"][1]["bytes"]  # the store's log size: the record batches' bytes
    assert size > 5 * len("k0") + 5 * len("0")
    assert listed[name] == {"name": name, "partitions": 2, "messages": 5, "bytes": size}
    assert described["bytes"] == size
    assert described["partitions"] == [
        {"partition": 0, "earliest": 0, "latest": 0, "bytes": 0},
        {"partition": 1, "earliest": 0, "latest": 5, "bytes": size},
    ]
    assert "cleanup.policy" in described["configs"]
    records = api.get(f"/ui/api/topics/{name}/messages", params={"partition": 1, "offset": 3}).json()
    assert [(r["offset"], r["key"], r["value"]) for r in records] == [(3, "k3", "3"), (4, "k4", "4")]
    assert len(api.get(f"/ui/api/topics/{name}/messages", params={"partition": 1, "limit": 2}).json()) == 2
    future = api.get(f"/ui/api/topics/{name}/messages", params={"partition": 1, "timestamp": 10**13})
    assert future.json() == []
    assert api.get(f"/ui/api/topics/{name}/messages", params={"partition": 0}).json() == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/ui/api/topics/no-such-topic", None, 404),
        ("GET", "/ui/api/topics/no-such-topic/messages", None, 404),
        ("GET", "/ui/api/topics/connect-configs/messages?partition=9", None, 404),
        ("GET", "/ui/api/topics/connect-configs/messages?partition=x", None, 400),
        ("GET", "/ui/api/topics/connect-configs/messages?offset=-1", None, 400),
        ("GET", "/ui/api/topics/connect-configs/messages?limit=0", None, 400),
        ("GET", "/ui/api/topics/connect-configs/messages?limit=201", None, 400),
        ("POST", "/ui/api/topics/no-such-topic/messages", {"value": "x"}, 404),
        ("POST", "/ui/api/topics/connect-configs/messages", {"value": 3}, 400),
        ("POST", "/ui/api/topics/connect-configs/messages", {"partition": True}, 400),
        ("POST", "/ui/api/topics/connect-configs/messages", {"headers": {"h": [1]}}, 400),
        ("POST", "/ui/api/topics/connect-configs/messages", [1], 400),
        ("POST", "/ui/api/dlq/connect-configs/resend", {"partition": 0}, 400),
        ("POST", "/ui/api/dlq/connect-configs/resend", {"partition": 0, "offsets": []}, 400),
        ("POST", "/ui/api/dlq/connect-configs/resend", {"partition": 0, "offsets": [10**9]}, 404),
        ("POST", "/ui/api/dlq/no-such-topic/resend", {"partition": 0, "offsets": [0]}, 404),
        ("GET", "/ui/api/connectors/no-such-connector/config", None, 404),
        ("PUT", "/ui/api/connectors/no-such-connector/config", {"connector.class": "FileStreamSource"}, 404),
    ],
)
def test_bad_input_is_a_clear_4xx(api: httpx.Client, method: str, path: str, body: object, status: int) -> None:
    answer = api.request(method, path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["message"]


def test_resend_needs_the_original_topic_header(api: httpx.Client, hub: HubStart) -> None:
    name = _topic_with_records(api, hub, 1)
    refused = api.post(f"/ui/api/dlq/{name}/resend", json={"partition": 1, "offsets": [0]})
    assert refused.status_code == 400
    assert "__connect.errors.topic" in refused.json()["message"]


def test_open_api_principal_and_history(api: httpx.Client) -> None:
    assert api.get("/ui/api/whoami").json() == {"name": None, "role": "admin", "may_write": True}
    assert isinstance(api.get("/ui/api/history").json(), dict)
    assert isinstance(api.get("/ui/api/groups").json(), list)
    assert isinstance(api.get("/ui/api/dlq").json(), list)


def test_an_integer_written_as_a_float_is_an_integer(api: httpx.Client, hub: HubStart) -> None:
    name = _topic_with_records(api, hub, 0)
    sent = api.post(f"/ui/api/topics/{name}/messages", json={"value": "x", "partition": 1.0})
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"topic": name, "partition": 1, "offset": 0}
    refused = api.post(f"/ui/api/topics/{name}/messages", json={"value": "x", "partition": 1.5})
    assert refused.status_code == 400
    missing = api.post(f"/ui/api/dlq/{name}/resend", json={"partition": 1.0, "offsets": [5.0]})
    assert missing.status_code == 404, missing.text  # parsed, then no record at offset 5


def test_overview_names_the_workers_and_the_store_nodes(api: httpx.Client, hub: HubStart) -> None:
    overview = api.get("/ui/api/overview").json()
    assert [w["worker_id"] for w in overview["workers"]] == [hub.url]
    assert [node["id"] for node in overview["nodes"]] == [0]
    assert overview["cluster_id"]
    group = overview["worker_group"]
    assert group["state"] == "Stable"
    assert len(group["members"]) == 1
