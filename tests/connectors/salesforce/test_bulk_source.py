"""The Bulk API source against the harness's Salesforce: snapshot pages, then changes in order; several objects;
resume from offsets; the conformance suite; and a run through Hub's runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from connectors.salesforce.bulk_source import SalesforceBulkApiSourceConnector, SalesforceBulkApiSourceTask
from hub.sdk import SourceRecord
from hub.sdk.testing import MemoryOffsets, MemorySourceContext, SourceConnectorConformance
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.salesforce.conftest import define_object, login_config
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration


def new_object(server: SalesforceServer, marker: str) -> str:
    return define_object(server, f"Ticket{marker}__c", [{"name": "Priority__c", "type": "double"}])


def create(sf: Salesforce, sobject: str, names: list[str]) -> list[str]:
    """Records named ``names``, created through simple-salesforce; their Ids."""
    return [getattr(sf, sobject).create({"Name": name})["id"] for name in names]


def source_config(server: SalesforceServer, objects: str, **options: str) -> dict[str, str]:
    return {
        "name": "bulk-source",
        **login_config(server),
        "salesforce.object": objects,
        "poll.interval.ms": "100",
        "hub.salesforce.poll.overlap.ms": "2000",
        **options,
    }


class Reader:
    """One source task driven as the runtime drives it, with offsets kept in memory across restarts."""

    def __init__(self, config: dict[str, str], offsets: MemoryOffsets | None = None) -> None:
        self.config = config
        self.offsets = offsets or MemoryOffsets()

    def read(self, count: int, timeout_s: float = 30.0) -> list[SourceRecord]:
        task = SalesforceBulkApiSourceTask()
        task.initialize(MemorySourceContext(self.config, self.offsets))
        task.start(self.config)
        records: list[SourceRecord] = []
        try:
            wait_for(lambda: records.extend(task.poll()) or len(records) >= count, timeout_s, f"{count} records")
            for record in records:
                self.offsets.stored[json.dumps(dict(record.source_partition), sort_keys=True)] = dict(
                    record.source_offset
                )
        finally:
            task.stop()
        return records


def names(records: list[SourceRecord]) -> list[str]:
    return [record.value["Name"] for record in records]


def test_snapshot_pages_then_changes_in_order(salesforce_server: SalesforceServer, sf: Salesforce, marker: str) -> None:
    sobject = new_object(salesforce_server, marker)
    ids = create(sf, sobject, [f"t{n}" for n in range(7)])
    config = source_config(salesforce_server, sobject, **{"batch.max.rows": "3"})
    task = SalesforceBulkApiSourceTask()
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)
    records: list[SourceRecord] = []
    try:
        wait_for(lambda: records.extend(task.poll()) or len(records) >= 7, what="the snapshot")
        assert sorted(names(records)) == [f"t{n}" for n in range(7)]
        assert {r.topic for r in records} == {f"salesforce.{sobject}"}
        assert {r.key for r in records} == set(ids)
        assert {r.source_offset["locator"] for r in records[:6]} != {""}, "the snapshot was read in one page"
        assert records[-1].source_offset["phase"] == "incremental"
        getattr(sf, sobject).update(ids[0], {"Name": "t0-renamed"})
        create(sf, sobject, ["t7"])
        getattr(sf, sobject).delete(ids[1])
        changes: list[SourceRecord] = []
        wait_for(lambda: changes.extend(task.poll()) or len(changes) >= 3, what="three changes")
        assert names(changes) == ["t0-renamed", "t7", "t1"]
        assert [c.value["IsDeleted"] for c in changes] == [False, False, True]
        stamps = [c.value["SystemModstamp"] for c in changes]
        assert stamps == sorted(stamps)
        client.control(salesforce_server, "POST", "undelete", {"ids": [ids[1]]})
        more: list[SourceRecord] = []
        wait_for(lambda: more.extend(task.poll()) or len(more) >= 1, what="the undelete")
        assert [(r.value["Name"], r.value["IsDeleted"]) for r in more] == [("t1", False)]
    finally:
        task.stop()


def test_several_objects_each_to_its_topic(salesforce_server: SalesforceServer, sf: Salesforce, marker: str) -> None:
    first, second = new_object(salesforce_server, marker), new_object(salesforce_server, marker + "b")
    create(sf, first, ["a1", "a2"])
    create(sf, second, ["b1"])
    connector = SalesforceBulkApiSourceConnector()
    connector.start(source_config(salesforce_server, f"{first},{second}", **{"topic.prefix": "crm"}))
    configs = connector.task_configs(2)
    assert [c["task.objects"] for c in configs] == [first, second]
    records = Reader(source_config(salesforce_server, f"{first},{second}", **{"topic.prefix": "crm"})).read(3)
    assert {(r.topic, r.value["Name"]) for r in records} == {
        (f"crm.{first}", "a1"),
        (f"crm.{first}", "a2"),
        (f"crm.{second}", "b1"),
    }
    assert {tuple(r.source_partition.items()) for r in records} == {(("object", first),), (("object", second),)}


def test_a_restart_mid_snapshot_resumes_at_the_row_after_the_last_offset(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    create(sf, sobject, [f"r{n}" for n in range(10)])
    config = source_config(salesforce_server, sobject, **{"batch.max.rows": "4"})
    offsets = MemoryOffsets()
    task = SalesforceBulkApiSourceTask()
    task.initialize(MemorySourceContext(config, offsets))
    task.start(config)
    first: list[SourceRecord] = []
    try:
        wait_for(lambda: first.extend(task.poll()) or len(first) >= 10, what="the snapshot")
    finally:
        task.stop()
    sent = first[:5]  # the runtime stored the offset of the fifth record; the rest never reached the topic
    offsets.stored[json.dumps({"object": sobject})] = dict(sent[-1].source_offset)
    assert sent[-1].source_offset["phase"] == "snapshot"
    rest = Reader(config, offsets).read(5)
    assert sorted(names(sent) + names(rest)) == sorted(names(first))


def test_without_a_snapshot_only_later_changes_are_read(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    create(sf, sobject, ["before"])
    config = source_config(salesforce_server, sobject, **{"hub.salesforce.snapshot.enabled": "false"})
    task = SalesforceBulkApiSourceTask()
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)
    records: list[SourceRecord] = []
    try:
        records.extend(task.poll())
        create(sf, sobject, ["after"])
        wait_for(lambda: records.extend(task.poll()) or len(records) >= 1, what="the change")
        assert names(records) == ["after"]
    finally:
        task.stop()


class TestBulkApiSourceConformance(SourceConnectorConformance):
    connector_class = SalesforceBulkApiSourceConnector

    @pytest.fixture(autouse=True)
    def _server(self, salesforce_server: SalesforceServer, sf: Salesforce) -> None:
        self.server = salesforce_server
        self.sf = sf
        self.added = 0

    def config(self, tmp_path: Path) -> dict[str, str]:
        sobject = new_object(self.server, tmp_path.name.replace("_", "")[-12:] + str(id(tmp_path) % 10_000))
        return source_config(self.server, sobject)

    def add_input(self, config: dict[str, str], count: int) -> None:
        create(self.sf, config["salesforce.object"], [f"c{self.added + n}" for n in range(count)])
        self.added += count

    def record_id(self, record: Any) -> Any:
        return record.key


def test_objects_reach_their_topics_through_the_runtime(
    runtime: Runtime, salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    create(sf, sobject, ["x1", "x2"])
    runtime.create(
        "bulk-source",
        {
            "connector.class": "io.confluent.salesforce.SalesforceBulkApiSourceConnector",
            **source_config(salesforce_server, sobject, **{"kafka.topic": "tickets"}),
        },
    )
    runtime.wait_running("bulk-source")
    wait_for(lambda: len(runtime.read_topic("tickets")) >= 2, what="the snapshot in the topic")
    create(sf, sobject, ["x3"])
    wait_for(lambda: len(runtime.read_topic("tickets")) >= 3, what="the change in the topic")
    values = [json.loads(r.value)["payload"] for r in runtime.read_topic("tickets")]
    assert sorted(v["Name"] for v in values[:2]) == ["x1", "x2"]  # a snapshot has no order
    assert values[2]["Name"] == "x3"
