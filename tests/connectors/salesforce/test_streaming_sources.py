"""The streaming sources' records and their recovery, driven by hand against the Salesforce test server: values
typed by the object's describe, change types in order, gap and overflow events re-read through REST, an expired
session, a server that forgot the client, a replay id older than the retention window."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from connectors.salesforce.cdc_source import SalesforceCdcSourceTask
from connectors.salesforce.event_sources import SalesforcePushTopicSourceTask
from connectors.salesforce.streaming_source import StreamingSourceTask
from hub.sdk import SourceRecord
from hub.sdk.errors import ConnectorError
from hub.sdk.testing import MemoryOffsets, MemorySourceContext
from tests.connectors.salesforce.streaming_support import (
    connection_options,
    create_pushtopic,
    fresh_object,
    streaming_settings,
)
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration

WAIT_S = 30


@pytest.fixture(scope="module")
def server(salesforce_server: SalesforceServer) -> SalesforceServer:
    if not salesforce_server.control:
        pytest.skip("uses the local test server's control API")
    return salesforce_server


@pytest.fixture(scope="module")
def sf(server: SalesforceServer) -> Salesforce:
    return client.password_login(server)


@pytest.fixture
def sobject(server: SalesforceServer) -> Iterator[str]:
    name = fresh_object(server)
    client.control(
        server,
        "POST",
        f"objects/{name}/fields",
        {"fields": [{"name": "Amount__c", "type": "currency"}, {"name": "Due__c", "type": "date"}]},
    )
    yield name
    streaming_settings(server, gap_next=0, overflow_threshold=100_000)
    client.control(server, "PUT", "streaming", {"retentionMs": 72 * 3600 * 1000})


def cdc_config(server: SalesforceServer, sobject: str, **options: str) -> dict[str, str]:
    return {
        **connection_options(server),
        "kafka.topic": "sf.${_ObjectType}",
        "salesforce.cdc.name": sobject[:-1] + "ChangeEvent",
        "salesforce.initial.start": "all",
        **options,
    }


def start(
    task: StreamingSourceTask, config: dict[str, str], offsets: MemoryOffsets | None = None
) -> StreamingSourceTask:
    task.initialize(MemorySourceContext(config, offsets or MemoryOffsets()))
    task.start(config)
    return task


def poll(task: StreamingSourceTask, count: int) -> list[SourceRecord]:
    records: list[SourceRecord] = []
    deadline = time.monotonic() + WAIT_S
    while len(records) < count and time.monotonic() < deadline:
        records.extend(task.poll())
    assert len(records) >= count, f"polled {len(records)} of {count} records"
    return records


def commit(offsets: MemoryOffsets, records: list[SourceRecord]) -> None:
    """As the runtime does once the records are in their topic: their offsets become the stored ones."""
    for record in records:
        offsets.stored[json.dumps(dict(record.source_partition), sort_keys=True)] = dict(record.source_offset)


def test_change_events_become_typed_records_in_commit_order(
    server: SalesforceServer, sf: Salesforce, sobject: str
) -> None:
    api = getattr(sf, sobject)
    created = api.create({"Name": "first", "Amount__c": 12.5, "Due__c": "2030-01-02"})["id"]
    api.update(created, {"Amount__c": None, "Note__c": "changed"})
    api.delete(created)
    client.control(server, "POST", "undelete", {"ids": [created]})
    task = start(SalesforceCdcSourceTask(), cdc_config(server, sobject))
    try:
        create, update, delete, undelete = poll(task, 4)
    finally:
        task.stop()
    assert [r.value["_EventType"] for r in (create, update, delete, undelete)] == [
        "CREATE",
        "UPDATE",
        "DELETE",
        "UNDELETE",
    ]
    assert {r.key["Id"] for r in (create, update, delete, undelete)} == {created}
    assert create.topic == f"sf.{sobject}"
    assert create.value["Amount__c"] == 12.5
    assert create.value["Due__c"] == dt.date(2030, 1, 2)
    assert isinstance(create.value["CreatedDate"], dt.datetime)
    assert create.value_schema is not None
    assert create.value_schema.field("Amount__c").schema.type.value == "double"
    assert update.value["Note__c"] == "changed"
    assert update.value["Name"] is None  # not changed, so not in the event
    assert "Amount__c" in update.value["ChangeEventHeader"]["nulledFields"]
    assert delete.value["Name"] is None
    assert undelete.value["Name"] == "first"
    replay_ids = [r.source_offset["replayId"] for r in (create, update, delete, undelete)]
    assert replay_ids == sorted(replay_ids)


def test_a_custom_channel_brings_the_changes_of_each_member_object_with_its_own_schema(
    server: SalesforceServer, sf: Salesforce, sobject: str
) -> None:
    other, outside = fresh_object(server), fresh_object(server)
    channel = f"{sobject[:-3]}__chn"
    sf.toolingexecute(
        "sobjects/PlatformEventChannel", method="POST", data={"FullName": channel, "Metadata": {"channelType": "data"}}
    )
    for member in (sobject, other):
        event_name = member[:-1] + "ChangeEvent"
        metadata = {"eventChannel": channel, "selectedEntity": event_name}
        body = {"FullName": f"{channel[:-5]}_chn_{event_name}", "Metadata": metadata}
        sf.toolingexecute("sobjects/PlatformEventChannelMember", method="POST", data=body)
    getattr(sf, outside).create({"Name": "not a member"})
    first = getattr(sf, sobject).create({"Name": "first", "Amount__c": 3.5})["id"]
    second = getattr(sf, other).create({"Name": "second", "Note__c": "n"})["id"]
    task = start(SalesforceCdcSourceTask(), cdc_config(server, sobject, **{"salesforce.cdc.name": channel}))
    try:
        one, two = poll(task, 2)
    finally:
        task.stop()
    assert [(r.topic, r.key["Id"]) for r in (one, two)] == [(f"sf.{sobject}", first), (f"sf.{other}", second)]
    assert one.value["Amount__c"] == 3.5
    assert two.value["Note__c"] == "n"
    assert one.value_schema is not None
    assert two.value_schema is not None
    assert one.value_schema.name != two.value_schema.name
    assert one.source_partition == two.source_partition
    assert one.source_offset["replayId"] < two.source_offset["replayId"]


def test_a_gap_event_is_re_read_through_rest(server: SalesforceServer, sf: Salesforce, sobject: str) -> None:
    api = getattr(sf, sobject)
    created = api.create({"Name": "before the gap"})["id"]
    streaming_settings(server, gap_next=1)
    api.update(created, {"Name": "in the gap", "Note__c": "x"})
    task = start(SalesforceCdcSourceTask(), cdc_config(server, sobject))
    try:
        _, gap = poll(task, 2)
    finally:
        task.stop()
    assert gap.value["ChangeEventHeader"]["changeType"] == "GAP_UPDATE"
    assert gap.value["_EventType"] == "UPDATE"
    assert gap.value["Name"] == "in the gap"
    assert gap.value["Note__c"] == "x"


def test_an_overflow_event_re_reads_the_records_changed_since_its_commit(
    server: SalesforceServer, sf: Salesforce, sobject: str
) -> None:
    streaming_settings(server, overflow_threshold=0)
    created = getattr(sf, sobject).create({"Name": "overflowed"})["id"]
    task = start(SalesforceCdcSourceTask(), cdc_config(server, sobject))
    try:
        (record,) = poll(task, 1)
    finally:
        task.stop()
    assert record.value["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"
    assert record.key["Id"] == created
    assert record.value["Name"] == "overflowed"


def test_the_stream_survives_an_expired_session_and_a_forgotten_client(
    server: SalesforceServer, sf: Salesforce, sobject: str
) -> None:
    api = getattr(sf, sobject)
    task = start(SalesforceCdcSourceTask(), cdc_config(server, sobject))
    try:
        api.create({"Name": "one"})
        poll(task, 1)
        client.control(server, "POST", "sessions/expire")
        streaming_settings(server, drop_clients=True)
        fresh = client.password_login(server)
        getattr(fresh, sobject).create({"Name": "two"})
        (record,) = poll(task, 1)
        assert record.value["Name"] == "two"
        assert task.session.logins >= 2
        assert task.progress()["handshakes"] >= 2
    finally:
        task.stop()


def test_a_restart_resumes_after_the_stored_replay_id(server: SalesforceServer, sf: Salesforce, sobject: str) -> None:
    api = getattr(sf, sobject)
    offsets = MemoryOffsets()
    for name in ("a", "b"):
        api.create({"Name": name})
    task = start(SalesforceCdcSourceTask(), cdc_config(server, sobject), offsets)
    try:
        commit(offsets, poll(task, 2))
    finally:
        task.stop()
    api.create({"Name": "c"})
    again = start(SalesforceCdcSourceTask(), cdc_config(server, sobject), offsets)
    try:
        assert [r.value["Name"] for r in poll(again, 1)] == ["c"]
    finally:
        again.stop()


def outlive_retention(
    server: SalesforceServer, sf: Salesforce, sobject: str, behaviour: str
) -> tuple[dict[str, str], MemoryOffsets]:
    """A committed replay id, then an event the retention window drops, then one it keeps."""
    api = getattr(sf, sobject)
    offsets = MemoryOffsets()
    api.create({"Name": "seen"})
    config = cdc_config(server, sobject, **{"hub.salesforce.replay.invalid": behaviour})
    task = start(SalesforceCdcSourceTask(), config, offsets)
    try:
        commit(offsets, poll(task, 1))
    finally:
        task.stop()
    api.create({"Name": "lost"})
    client.control(server, "PUT", "streaming", {"retentionMs": 0})
    client.control(server, "GET", "streaming/settings")  # the bus drops the events outside the window
    client.control(server, "PUT", "streaming", {"retentionMs": 72 * 3600 * 1000})
    api.create({"Name": "kept"})
    return config, offsets


def test_a_replay_id_older_than_the_retention_window_fails_the_task_by_default(
    server: SalesforceServer, sf: Salesforce, sobject: str
) -> None:
    config, offsets = outlive_retention(server, sf, sobject, "fail")
    with pytest.raises(ConnectorError, match=r"cannot resume .* from replay id \d+: 400::The replayId"):
        start(SalesforceCdcSourceTask(), config, offsets)


def test_a_replay_id_older_than_the_retention_window_can_fall_back_to_all_retained(
    server: SalesforceServer, sf: Salesforce, sobject: str
) -> None:
    config, offsets = outlive_retention(server, sf, sobject, "all")
    again = start(SalesforceCdcSourceTask(), config, offsets)
    try:
        assert [r.value["Name"] for r in poll(again, 1)] == ["kept"]
    finally:
        again.stop()


def test_the_pushtopic_source_creates_its_topic_and_reads_its_events(
    server: SalesforceServer, sf: Salesforce, sobject: str
) -> None:
    name = "PT" + sobject[1:9]
    config = {
        **connection_options(server),
        "kafka.topic": "pushed",
        "salesforce.object": sobject,
        "salesforce.push.topic.name": name,
        "salesforce.push.topic.notify.delete": "false",
    }
    task = start(SalesforcePushTopicSourceTask(), config)
    try:
        found = sf.query(f"SELECT Id, Query, NotifyForOperationDelete FROM PushTopic WHERE Name = '{name}'")
        assert found["totalSize"] == 1
        assert found["records"][0]["NotifyForOperationDelete"] is False
        record_id = getattr(sf, sobject).create({"Name": "pushed", "Amount__c": 3})["id"]
        getattr(sf, sobject).delete(record_id)
        getattr(sf, sobject).create({"Name": "after the delete"})
        created, second = poll(task, 2)
    finally:
        task.stop()
    assert created.value["_EventType"] == "created"
    assert created.value["Amount__c"] == 3.0
    assert created.key["Id"] == record_id
    assert second.value["Name"] == "after the delete"


def test_a_missing_pushtopic_is_an_error_when_creation_is_off(server: SalesforceServer, sobject: str) -> None:
    config = {
        **connection_options(server),
        "kafka.topic": "pushed",
        "salesforce.object": sobject,
        "salesforce.push.topic.name": "NoSuchTopic" + sobject[1:6],
        "salesforce.push.topic.create": "false",
    }
    with pytest.raises(ConnectorError, match="there is no PushTopic"):
        start(SalesforcePushTopicSourceTask(), config).stop()


def test_an_existing_pushtopic_is_used_as_it_is(server: SalesforceServer, sf: Salesforce, sobject: str) -> None:
    name = "PX" + sobject[1:9]
    create_pushtopic(sf, server, name, sobject)
    config = {
        **connection_options(server),
        "kafka.topic": "pushed",
        "salesforce.object": sobject,
        "salesforce.push.topic.name": name,
        "salesforce.initial.start": "all",
    }
    getattr(sf, sobject).create({"Name": "selected", "Amount__c": 9})
    task = start(SalesforcePushTopicSourceTask(), config)
    try:
        (record,) = poll(task, 1)
    finally:
        task.stop()
    assert record.value["Name"] == "selected"
    assert record.value["Amount__c"] is None  # the topic's query does not select it
