"""The streaming sources run by Hub's runtime against the Salesforce test server: changes reach the topic in commit
order with their schemas, and a restarted runtime resumes from the stored replay id with nothing missing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from simple_salesforce import Salesforce

from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.salesforce.streaming_support import connection_options, fresh_object
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration


def payloads(runtime: Runtime, topic: str) -> list[dict[str, Any]]:
    try:
        records = runtime.read_topic(topic)
    except Exception:  # the topic is created with the first record
        return []
    return [json.loads(record.value)["payload"] for record in records]


def test_changes_reach_the_topic_in_order_and_a_restart_resumes(
    runtime: Runtime, salesforce_server: SalesforceServer, sf: Salesforce
) -> None:
    if not salesforce_server.control:
        pytest.skip("creates its object through the local test server's control API")
    sobject = fresh_object(salesforce_server)
    api = getattr(sf, sobject)
    runtime.create(
        "cdc",
        {
            "connector.class": "io.confluent.salesforce.SalesforceCdcSourceConnector",
            **connection_options(salesforce_server),
            "salesforce.cdc.name": sobject[:-1] + "ChangeEvent",
            "kafka.topic": "changes",
        },
    )
    runtime.wait_running("cdc")
    record_id = api.create({"Name": "created"})["id"]
    api.update(record_id, {"Name": "updated"})
    api.delete(record_id)
    client.control(salesforce_server, "POST", "undelete", {"ids": [record_id]})
    wait_for(lambda: len(payloads(runtime, "changes")) >= 4, what="four change records")

    runtime.restart()
    runtime.wait_running("cdc")
    api.create({"Name": "after the restart"})
    wait_for(lambda: len(payloads(runtime, "changes")) >= 5, what="the change after the restart")

    values = payloads(runtime, "changes")
    assert [v["_EventType"] for v in values] == ["CREATE", "UPDATE", "DELETE", "UNDELETE", "CREATE"]
    assert [v["Name"] for v in values] == ["created", "updated", None, "updated", "after the restart"]
    assert {v["Id"] for v in values[:4]} == {record_id}
    headers = [v["ChangeEventHeader"] for v in values]
    assert [h["changeType"] for h in headers] == ["CREATE", "UPDATE", "DELETE", "UNDELETE", "CREATE"]
    record = runtime.read_topic("changes")[0]
    schema = json.loads(record.value)["schema"]
    assert schema["name"] == f"io.confluent.salesforce.{sobject}"
    assert {f["field"] for f in schema["fields"]} >= {"Id", "Name", "Note__c", "ChangeEventHeader", "_EventType"}


def test_pushtopic_and_platform_event_sources_through_the_runtime(
    runtime: Runtime, salesforce_server: SalesforceServer, sf: Salesforce
) -> None:
    if not salesforce_server.control:
        pytest.skip("creates its objects through the local test server's control API")
    sobject = fresh_object(salesforce_server)
    event = fresh_object(salesforce_server, "__e")
    runtime.create(
        "pushtopic",
        {
            "connector.class": "io.confluent.salesforce.SalesforcePushTopicSourceConnector",
            **connection_options(salesforce_server),
            "salesforce.object": sobject,
            "salesforce.push.topic.name": "RT" + sobject[1:9],
            "kafka.topic": "pushed",
        },
    )
    runtime.create(
        "events",
        {
            "connector.class": "io.confluent.salesforce.SalesforcePlatformEventSourceConnector",
            **connection_options(salesforce_server),
            "salesforce.platform.event.name": event,
            "kafka.topic": "events",
        },
    )
    runtime.wait_running("pushtopic")
    runtime.wait_running("events")
    record_id = getattr(sf, sobject).create({"Name": "pushed"})["id"]
    getattr(sf, sobject).update(record_id, {"Note__c": "noted"})
    getattr(sf, event).create({"Note__c": "published"})
    wait_for(lambda: len(payloads(runtime, "pushed")) >= 2, what="two PushTopic records")
    wait_for(lambda: len(payloads(runtime, "events")) >= 1, what="the platform event")
    pushed = payloads(runtime, "pushed")
    assert [(v["_EventType"], v["Id"], v["Note__c"]) for v in pushed] == [
        ("created", record_id, None),
        ("updated", record_id, "noted"),
    ]
    (published,) = payloads(runtime, "events")
    assert published["Note__c"] == "published"
    assert published["EventUuid"]
