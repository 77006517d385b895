"""The sObject sink against the harness's Salesforce: each operation chosen per record, upserts by external id,
Bulk API 2.0 past the threshold, refused rows to the DLQ with the server's message, rate-limit retries and
redeliveries that repeat nothing; the conformance suite; a run through Hub's runtime with a dead letter queue."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce

from connectors.salesforce.sobject_sink import SalesforceSObjectSinkConnector, SalesforceSObjectSinkTask
from hub.log.client.types import NewTopic
from hub.sdk import ErrantRecordReporter, SinkRecord
from hub.sdk.errors import ConnectorError, RetriableError
from hub.sdk.testing import MemorySinkContext, SinkConnectorConformance
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.salesforce.conftest import define_object, login_config
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration

TOPIC = "invoices"


def new_object(server: SalesforceServer, marker: str) -> str:
    return define_object(
        server,
        f"Inv{marker}__c",
        [
            {"name": "Number__c", "type": "string", "length": 40, "externalId": True, "unique": True},
            {"name": "Amount__c", "type": "currency", "required": True},
            {"name": "Code__c", "type": "string", "length": 20, "unique": True},
        ],
    )


def sink_config(server: SalesforceServer, sobject: str, **options: str) -> dict[str, str]:
    return {"name": "sobject-sink", "topics": TOPIC, **login_config(server), "salesforce.object": sobject, **options}


class Reporter(ErrantRecordReporter):
    def __init__(self) -> None:
        self.reported: list[tuple[SinkRecord, BaseException]] = []

    def report(self, record: SinkRecord, error: BaseException) -> Future[None]:
        self.reported.append((record, error))
        done: Future[None] = Future()
        done.set_result(None)
        return done


class Context(MemorySinkContext):
    def __init__(self, config: dict[str, str], reporter: ErrantRecordReporter | None) -> None:
        super().__init__(config, {(TOPIC, 0)})
        self.reporter = reporter

    @property
    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        return self.reporter


class Sink:
    """One sink task, started and fed as the runtime does."""

    def __init__(self, config: dict[str, str], reporter: ErrantRecordReporter | None = None) -> None:
        SalesforceSObjectSinkConnector().check(config)
        self.task = SalesforceSObjectSinkTask()
        self.task.initialize(Context(config, reporter))
        self.task.start(config)
        self.task.open([(TOPIC, 0)])
        self.offset = 0

    def put(self, values: Sequence[Any], keys: Sequence[Any] | None = None) -> list[SinkRecord]:
        records = [
            SinkRecord(topic=TOPIC, value=value, key=None if keys is None else keys[n], kafka_partition=0,
                       kafka_offset=self.offset + n)
            for n, value in enumerate(values)
        ]  # fmt: skip
        self.offset += len(values)
        self.task.put(records)
        self.commit()
        return records

    def commit(self) -> dict[tuple[str, int], int]:
        """What the runtime may commit after the records put so far (``pre_commit`` writes the buffer)."""
        return dict(self.task.pre_commit({(TOPIC, 0): self.offset}))

    def close(self) -> None:
        self.task.close([(TOPIC, 0)])
        self.task.stop()


def rows(sf: Salesforce, sobject: str) -> dict[str, dict[str, Any]]:
    """The object's records by Number__c, read back through simple-salesforce."""
    found = sf.query_all(f"SELECT Id, Name, Number__c, Amount__c, Code__c FROM {sobject}")["records"]
    return {str(r["Number__c"]): r for r in found}


def test_pushtopic_and_cdc_events_choose_each_operation(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    sink = Sink(sink_config(salesforce_server, sobject))
    try:
        sink.put([{"_EventType": "created", "Name": "a", "Number__c": "1", "Amount__c": 10.0}])
        [created] = rows(sf, sobject).values()
        header = {"changeType": "UPDATE", "recordIds": [created["Id"]], "changedFields": ["Amount__c"]}
        sink.put([{"ChangeEventHeader": header, "Amount__c": 12.5}])
        assert rows(sf, sobject)["1"]["Amount__c"] == 12.5
        sink.put([{"_EventType": "deleted", "Id": created["Id"]}])
        assert rows(sf, sobject) == {}
    finally:
        sink.close()


def test_replication_upserts_on_the_source_id_and_replays_harmlessly(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    options = {"salesforce.custom.id.field.name": "Number__c", "salesforce.use.custom.id.field": "true"}
    events = [
        {"ChangeEventHeader": {"changeType": "CREATE", "recordIds": ["a0XSOURCE000001"]}, "Amount__c": 1.0},
        {"ChangeEventHeader": {"changeType": "UPDATE", "recordIds": ["a0XSOURCE000001"]}, "Amount__c": 2.0},
        {"ChangeEventHeader": {"changeType": "CREATE", "recordIds": ["a0XSOURCE000002"]}, "Amount__c": 3.0},
    ]
    sink = Sink(sink_config(salesforce_server, sobject, **options))
    try:
        sink.put(events)
        sink.put(events)  # a replay after a crash
        assert {n: r["Amount__c"] for n, r in rows(sf, sobject).items()} == {
            "a0XSOURCE000001": 2.0,
            "a0XSOURCE000002": 3.0,
        }
        sink.put([None], keys=["a0XSOURCE000001"])
        assert set(rows(sf, sobject)) == {"a0XSOURCE000002"}
    finally:
        sink.close()


@pytest.mark.parametrize("threshold", ["1000", "5"], ids=["collections", "bulk"])
def test_refused_rows_go_to_the_dlq_with_the_servers_message(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str, threshold: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    reporter = Reporter()
    sink = Sink(sink_config(salesforce_server, sobject, **{"hub.salesforce.bulk.threshold": threshold}), reporter)
    values: list[dict[str, Any]] = [{"Number__c": str(n), "Amount__c": float(n), "Code__c": f"c{n}"} for n in range(8)]
    values[3] = {"Number__c": "3", "Code__c": "c3"}  # no Amount__c: required
    values[6] = {"Number__c": "6", "Amount__c": 6.0, "Code__c": "c0"}  # Code__c is unique
    try:
        sink.put(values)
        assert set(rows(sf, sobject)) == {"0", "1", "2", "4", "5", "7"}
        reported = {record.kafka_offset: str(error) for record, error in reporter.reported}
        assert set(reported) == {3, 6}
        assert "REQUIRED_FIELD_MISSING" in reported[3]
        assert "DUPLICATE_VALUE" in reported[6]
        if threshold == "5":
            assert sink.task._writer is not None
            assert sink.task._writer.bulk_jobs == 1
    finally:
        sink.close()


def test_without_a_dlq_a_refused_row_fails_the_task_naming_the_record(
    salesforce_server: SalesforceServer, marker: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    sink = Sink(sink_config(salesforce_server, sobject))
    try:
        with pytest.raises(ConnectorError, match=rf"{TOPIC}-0@0 .*REQUIRED_FIELD_MISSING"):
            sink.put([{"Number__c": "1"}])
        assert sink.task._buffer, "the refused record is still to be written"
    finally:
        sink.close()


def test_rate_limits_are_retried_and_a_redelivery_writes_nothing_twice(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    if not salesforce_server.control:
        pytest.skip("faults need the local test server's control API")
    sobject = new_object(salesforce_server, marker)
    sink = Sink(sink_config(salesforce_server, sobject, **{"request.max.retries.time.ms": "500"}))
    try:
        client.control(salesforce_server, "POST", "faults", {"kind": "REQUEST_LIMIT_EXCEEDED", "count": 2})
        sink.put([{"Number__c": "1", "Amount__c": 1.0}])
        assert set(rows(sf, sobject)) == {"1"}
        records = [
            SinkRecord(topic=TOPIC, value={"Number__c": "2", "Amount__c": 2.0}, kafka_partition=0, kafka_offset=10),
            SinkRecord(topic=TOPIC, value={"Number__c": "3", "Amount__c": 3.0}, kafka_partition=0, kafka_offset=11),
        ]
        sink.task.put(records[:1])
        sink.task.pre_commit({(TOPIC, 0): 11})  # the first is written
        client.control(salesforce_server, "POST", "faults", {"kind": "REQUEST_LIMIT_EXCEEDED", "count": 1000})
        sink.task.put(records[1:])
        with pytest.raises(RetriableError):
            sink.task.pre_commit({(TOPIC, 0): 12})  # nothing committed; the runtime rewinds to offset 11... or 10
        client.control(salesforce_server, "DELETE", "faults")
        sink.task.put(records)  # delivered again from the last committed offset
        sink.task.put([])
        assert sorted(rows(sf, sobject)) == ["1", "2", "3"]
    finally:
        client.control(salesforce_server, "DELETE", "faults")
        sink.close()


class TestSObjectSinkConformance(SinkConnectorConformance):
    connector_class = SalesforceSObjectSinkConnector
    topic = TOPIC

    @pytest.fixture(autouse=True)
    def _server(self, salesforce_server: SalesforceServer, sf: Salesforce) -> None:
        self.server = salesforce_server
        self.sf = sf

    def config(self, tmp_path: Path) -> dict[str, str]:
        self.sobject = new_object(self.server, str(abs(hash(str(tmp_path))))[:12])
        return sink_config(self.server, self.sobject)

    def make_record(self, topic: str, partition: int, offset: int) -> SinkRecord:
        value = {"Number__c": f"n{offset}", "Amount__c": float(offset)}
        return SinkRecord(topic=topic, value=value, kafka_partition=partition, kafka_offset=offset)

    def record_id(self, record: Any) -> Any:
        return record.value["Number__c"]

    def read_output(self, config: dict[str, str]) -> Collection[Any]:
        return set(rows(self.sf, config["salesforce.object"]))


def test_a_topic_reaches_the_object_through_the_runtime_with_refused_rows_in_the_dlq(
    runtime: Runtime, salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    sobject = new_object(salesforce_server, marker)
    runtime.clients.admin().create_topics([NewTopic(TOPIC, 1)])
    good = [{"Number__c": str(n), "Amount__c": float(n)} for n in range(4)]
    bad = {"Number__c": "9"}
    runtime.produce(TOPIC, [(None, json.dumps(v).encode()) for v in [*good[:2], bad, *good[2:]]])
    runtime.create(
        "sobject-sink",
        {
            "connector.class": "io.confluent.salesforce.SalesforceSObjectSinkConnector",
            **sink_config(salesforce_server, sobject),
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "false",
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": "invoices.refused",
            "errors.deadletterqueue.topic.replication.factor": "1",
            "errors.deadletterqueue.context.headers.enable": "true",
        },
    )
    runtime.wait_running("sobject-sink")
    wait_for(lambda: set(rows(sf, sobject)) == {"0", "1", "2", "3"}, what="the rows in Salesforce")
    wait_for(lambda: len(runtime.read_topic("invoices.refused")) == 1, what="the refused row in the DLQ")
    [refused] = runtime.read_topic("invoices.refused")
    assert json.loads(refused.value) == bad
    headers = dict(refused.headers)
    assert any(b"REQUIRED_FIELD_MISSING" in (value or b"") for value in headers.values()), headers
