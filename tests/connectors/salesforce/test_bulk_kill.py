"""kill -9 of a `hub standalone` worker running the Bulk API source mid-snapshot (the store in a `hub log serve` of
its own, so only the worker dies): killed once it stored a snapshot offset, the restarted worker resumes inside the
same query job from the stored page and row, then polls changes — and every record, those created while the worker
was down included, is in the topic. The test server answers the API slowly until the kill (``/_harness/latency``),
so the snapshot cannot end before the kill lands, however fast the machine."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from tests.connectors.conftest import wait_for
from tests.connectors.salesforce.streaming_support import connection_options, fresh_object
from tests.connectors.salesforce.test_streaming_kill import _ids_in, _plugin_path, _start, _stored_offsets
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SNAPSHOT = 40_000
PAGE = 1_000
#: Each API answer's delay until the kill: the 40 pages take at least 20 s. The first offset is stored after the task's
#: first poll (5,000 rows, 5 pages) and seen about a poll later, so the kill lands some 30 pages before the snapshot's
#: end: the delay, not the number of rows, keeps the snapshot running until the kill.
SLOW_MS = 500
DURING = 10


def test_kill_9_mid_snapshot_then_resume_with_nothing_missing(
    tmp_path: Path, salesforce_server: SalesforceServer, sf: Salesforce, hub_server: HubServer
) -> None:
    if not salesforce_server.control:
        pytest.skip("creates its object through the local test server's control API")
    sobject = fresh_object(salesforce_server)
    bulk = getattr(sf.bulk2, sobject)
    bulk.insert(records=[{"Name": f"row {n}", "Note__c": "x"} for n in range(SNAPSHOT)], wait=0.1)
    created = {row["Id"] for row in sf.query_all(f"SELECT Id FROM {sobject}")["records"]}
    assert len(created) == SNAPSHOT
    topic = f"bulk-{time.monotonic_ns()}"
    (tmp_path / "worker.properties").write_text(
        f"bootstrap.servers={hub_server.bootstrap}\nlisteners=http://127.0.0.1:{free_port()}\n"
        "offset.flush.interval.ms=200\n"
    )
    config = {
        "connector.class": "SalesforceBulkApiSource",
        **connection_options(salesforce_server),
        "salesforce.object": sobject,
        "kafka.topic": topic,
        "batch.max.rows": str(PAGE),
        "poll.interval.ms": "500",
    }
    (tmp_path / "c.json").write_text(json.dumps({"name": "bulk-kill", "config": config}))
    plugin_path = _plugin_path(tmp_path)
    client.control(salesforce_server, "PUT", "latency", {"pathPrefix": "/services/data/", "ms": SLOW_MS})
    process = _start(tmp_path, plugin_path)

    def log_tail() -> str:
        return (tmp_path / "hub.log").read_text(errors="replace")[-4000:]

    def snapshot_offsets() -> list[dict[str, object]]:
        return [o for o in _stored_offsets(hub_server.bootstrap, "bulk-kill") if o.get("phase") == "snapshot"]

    try:
        wait_for(snapshot_offsets, 60, log_tail)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        client.control(salesforce_server, "PUT", "latency", {"pathPrefix": "/services/data/", "ms": 0})
        stored = _stored_offsets(hub_server.bootstrap, "bulk-kill")
        assert stored[-1].get("phase") == "snapshot", f"killed after the snapshot, not inside it: {stored[-1]}"
        sent_before = len(_ids_in(hub_server.bootstrap, topic))
        assert sent_before < SNAPSHOT
        during = [getattr(sf, sobject).create({"Name": f"during {n}"})["id"] for n in range(DURING)]
        process = _start(tmp_path, plugin_path)
        wait_for(lambda: set(_ids_in(hub_server.bootstrap, topic)) >= created | set(during), 120, log_tail)
    finally:
        client.control(salesforce_server, "PUT", "latency", {"pathPrefix": "/services/data/", "ms": 0})
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            assert process.wait(60) == 0, log_tail()
    assert "resuming snapshot job" in log_tail(), "the restarted worker went on with the stored query job"
    found = _ids_in(hub_server.bootstrap, topic)
    assert set(found) == created | set(during), "nothing missing, nothing foreign"
