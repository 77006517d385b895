"""How the CDC source turns one change event into records, without a server: the event shapes of Salesforce's
Change Data Capture guide (compound fields, several record ids, nulled fields) against a describe."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from connectors.salesforce.cdc_source import SalesforceCdcSourceTask, _Entity, entity_of_channel, flatten_compound
from connectors.salesforce.streaming_config import CDC_SOURCE_CONFIG, StreamingSettings
from hub.sdk.errors import DataError

DESCRIBE = {
    "name": "Contact",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "FirstName", "type": "string"},
        {"name": "LastName", "type": "string"},
        {"name": "Name", "type": "string"},
        {"name": "MailingStreet", "type": "textarea"},
        {"name": "MailingCity", "type": "string"},
        {"name": "MailingAddress", "type": "address"},
        {"name": "Birthdate", "type": "date"},
        {"name": "NumberOfEmployees__c", "type": "int"},
        {"name": "LastModifiedDate", "type": "datetime"},
    ],
}
HEADER = {
    "entityName": "Contact",
    "recordIds": ["003000000000001AAA", "003000000000002AAA"],
    "changeType": "UPDATE",
    "changeOrigin": "com/salesforce/api/soap/58.0;client=SfdcInternalAPI/",
    "transactionKey": "0002343d-9d90-e395-ed20-cf416ba652ad",
    "sequenceNumber": 2,
    "commitTimestamp": 1569443783000,
    "commitNumber": 10907795925,
    "commitUser": "005000000000001AAA",
    "nulledFields": ["Birthdate"],
    "diffFields": [],
    "changedFields": ["Name", "MailingAddress", "Birthdate", "LastModifiedDate"],
}


@pytest.fixture
def task() -> SalesforceCdcSourceTask:
    """A task that has looked Contact up, as ``start`` does, without logging in."""
    made = SalesforceCdcSourceTask()
    made.settings = StreamingSettings.parse(
        {
            "salesforce.username": "u",
            "salesforce.password": "p",
            "kafka.topic": "t",
            "salesforce.cdc.name": "ContactChangeEvent",
        },
        CDC_SOURCE_CONFIG,
    )
    made._entities = {"Contact": _Entity("Contact", DESCRIBE)}
    return made


def event(**fields: Any) -> dict[str, Any]:
    return {"schema": "s", "payload": {"ChangeEventHeader": HEADER, **fields}, "event": {"replayId": 7}}


def test_an_event_naming_two_records_gives_two_records_with_the_same_values(task: SalesforceCdcSourceTask) -> None:
    first, second = task.records_of(event(LastModifiedDate="2019-09-25T20:36:23.000Z", Birthdate=None))
    assert [first.key["Id"], second.key["Id"]] == HEADER["recordIds"]
    assert first.value["LastModifiedDate"] == dt.datetime(2019, 9, 25, 20, 36, 23, tzinfo=dt.UTC)
    assert first.value["Birthdate"] is None
    assert first.value["ChangeEventHeader"]["nulledFields"] == ["Birthdate"]
    assert first.value["ChangeEventHeader"]["commitNumber"] == 10907795925
    assert first.timestamp == 1569443783000


def test_compound_name_and_address_values_fill_the_fields_the_describe_lists(task: SalesforceCdcSourceTask) -> None:
    (record, _) = task.records_of(
        event(
            Name={"Salutation": None, "FirstName": "Ada", "LastName": "Lovelace"},
            MailingAddress={"Street": "1 Market St", "City": "San Francisco", "Country": None},
        )
    )
    assert record.value["FirstName"] == "Ada"
    assert record.value["LastName"] == "Lovelace"
    assert record.value["MailingStreet"] == "1 Market St"
    assert record.value["MailingCity"] == "San Francisco"
    assert record.value_schema is not None
    assert not record.value_schema.has_field("MailingAddress")


def test_a_value_that_does_not_fit_its_field_type_names_the_field(task: SalesforceCdcSourceTask) -> None:
    with pytest.raises(DataError, match=r"Contact\.NumberOfEmployees__c: 'many'"):
        task.records_of(event(NumberOfEmployees__c="many"))


def test_flattening_keeps_plain_fields_and_the_header() -> None:
    assert flatten_compound({"ChangeEventHeader": {"a": 1}, "Phone": None}) == {
        "ChangeEventHeader": {"a": 1},
        "Phone": None,
    }


@pytest.mark.parametrize(
    ("channel", "entity"),
    [
        ("AccountChangeEvent", "Account"),
        ("Employee__ChangeEvent", "Employee__c"),
        ("ChangeEvents", None),
        ("Sales__chn", None),
    ],
)
def test_the_object_of_a_channel(channel: str, entity: str | None) -> None:
    assert entity_of_channel(channel) == entity
