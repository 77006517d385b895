"""How the sObject sink turns a record into writes: the operation per record, the target, the fields."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.salesforce.schema import ObjectDescription
from connectors.salesforce.settings import SObjectSinkSettings
from connectors.salesforce.sink_changes import plan
from hub.sdk import SinkRecord
from hub.sdk.errors import DataError

DESCRIPTION = ObjectDescription.of(
    {
        "name": "Lead",
        "fields": [
            {"name": "Id", "type": "id"},
            {"name": "LastName", "type": "string", "createable": True, "updateable": True},
            {"name": "Company", "type": "string", "createable": True, "updateable": True},
            {"name": "OwnerId", "type": "reference", "createable": True, "updateable": True},
            {"name": "CreatedDate", "type": "datetime"},
            {"name": "Source_Id__c", "type": "string", "createable": True, "updateable": True, "externalId": True},
        ],
    }
)
LOGIN = {"salesforce.username": "u", "salesforce.password": "p", "salesforce.object": "Lead"}


def settings(**options: str) -> SObjectSinkSettings:
    return SObjectSinkSettings.parse({**LOGIN, **options})


def record(value: Any, key: Any = None) -> SinkRecord:
    return SinkRecord(topic="leads", value=value, key=key, kafka_partition=0, kafka_offset=7)


def test_the_configured_operation_applies_without_an_event_type() -> None:
    [change] = plan(record({"LastName": "Doe", "CreatedDate": "x", "Id": "00Q1"}), settings(), DESCRIPTION)
    assert change.operation == "insert"
    assert change.fields == {"LastName": "Doe"}  # not createable: CreatedDate; never written: Id


@pytest.mark.parametrize(
    ("event", "operation"),
    [("created", "insert"), ("updated", "update"), ("deleted", "delete"), ("undeleted", "insert")],
)
def test_pushtopic_event_types_choose_the_operation(event: str, operation: str) -> None:
    [change] = plan(record({"_EventType": event, "Id": "00Q1", "LastName": "Doe"}), settings(), DESCRIPTION)
    assert change.operation == operation
    assert "_EventType" not in change.fields


def test_override_event_type_wins() -> None:
    value = {"_EventType": "deleted", "Id": "00Q1", "LastName": "Doe"}
    [change] = plan(
        record(value),
        settings(**{"override.event.type": "true", "salesforce.sink.object.operation": "update"}),
        DESCRIPTION,
    )
    assert change.operation == "update"
    assert change.target == "00Q1"


def test_a_cdc_update_applies_to_each_record_id_and_clears_nulled_fields() -> None:
    header = {"changeType": "UPDATE", "recordIds": ["00Q1", "00Q2"], "nulledFields": ["Company"]}
    changes = plan(record({"ChangeEventHeader": header, "LastName": "Roe"}), settings(), DESCRIPTION)
    assert [c.target for c in changes] == ["00Q1", "00Q2"]
    assert changes[0].fields == {"LastName": "Roe", "Company": None}


def test_a_cdc_record_of_the_cdc_source_applies_to_its_own_record_only() -> None:
    header = {"changeType": "CREATE", "recordIds": ["00Q1", "00Q2"]}
    changes = plan(
        record({"ChangeEventHeader": header, "LastName": "Roe"}, key={"Id": "00Q2"}), settings(), DESCRIPTION
    )
    assert [c.target for c in changes] == ["00Q2"]


def test_with_the_custom_id_field_creates_and_updates_upsert_on_the_source_id() -> None:
    options = {"salesforce.custom.id.field.name": "Source_Id__c", "salesforce.use.custom.id.field": "true"}
    header = {"changeType": "CREATE", "recordIds": ["00QA"]}
    [change] = plan(record({"ChangeEventHeader": header, "LastName": "Doe"}), settings(**options), DESCRIPTION)
    assert change.operation == "upsert"
    assert change.target == "00QA"
    assert change.fields["Source_Id__c"] == "00QA"
    [delete] = plan(record(None, key="00QA"), settings(**options), DESCRIPTION)
    assert delete.operation == "delete"
    assert delete.by_external_id


def test_a_tombstone_deletes_the_key() -> None:
    [change] = plan(record(None, key={"Id": "00Q9"}), settings(), DESCRIPTION)
    assert (change.operation, change.target) == ("delete", "00Q9")


def test_reference_fields_can_be_left_out() -> None:
    value = {"LastName": "Doe", "OwnerId": "005X"}
    [change] = plan(record(value), settings(**{"salesforce.ignore.reference.fields": "true"}), DESCRIPTION)
    assert change.fields == {"LastName": "Doe"}


@pytest.mark.parametrize(
    "value",
    [None, "text", {"_EventType": "exploded", "Id": "1"}, {"ChangeEventHeader": {"changeType": "UPDATE"}}],
)
def test_records_that_cannot_say_what_to_write_are_data_errors(value: Any) -> None:
    with pytest.raises(DataError):
        plan(record(value), settings(), DESCRIPTION)
