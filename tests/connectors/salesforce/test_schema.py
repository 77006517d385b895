"""sObject describe results as Connect schemas; CSV and JSON values read, Connect values written."""

from __future__ import annotations

import datetime as dt

from connectors.salesforce.schema import ObjectDescription, format_datetime, to_json, to_text
from hub.sdk.schema import DATE_NAME, TIMESTAMP_NAME, Type

DESCRIBE = {
    "name": "Account",
    "fields": [
        {"name": "Id", "type": "id"},
        {"name": "Name", "type": "string", "createable": True, "updateable": True},
        {"name": "NumberOfEmployees", "type": "int", "createable": True, "updateable": True},
        {"name": "AnnualRevenue", "type": "currency", "createable": True, "updateable": True},
        {"name": "IsDeleted", "type": "boolean"},
        {"name": "SystemModstamp", "type": "datetime"},
        {"name": "SLAExpirationDate__c", "type": "date", "createable": True},
        {"name": "BillingAddress", "type": "address"},
        {"name": "ParentId", "type": "reference", "createable": True},
        {"name": "Ext__c", "type": "string", "externalId": True, "createable": True},
    ],
}


def test_describe_becomes_a_struct_schema_without_compound_fields() -> None:
    description = ObjectDescription.of(DESCRIBE)
    schema = description.schema
    assert schema.name == "io.confluent.salesforce.Account"
    assert [f.name for f in schema.fields if f.name == "BillingAddress"] == []
    assert schema.field("NumberOfEmployees").schema.type is Type.INT32
    assert schema.field("AnnualRevenue").schema.type is Type.FLOAT64
    assert schema.field("SystemModstamp").schema.name == TIMESTAMP_NAME
    assert schema.field("SLAExpirationDate__c").schema.name == DATE_NAME
    assert all(f.schema.optional for f in schema.fields)
    assert description.references == {"ParentId"}
    assert description.external_ids == {"Ext__c"}
    assert "BillingAddress" not in description.bulk_fields


def test_csv_rows_become_records_and_empty_cells_null() -> None:
    description = ObjectDescription.of(DESCRIBE)
    read = description.row_reader(["Id", "Name", "NumberOfEmployees", "IsDeleted", "SystemModstamp", "Unknown"])
    record = read(["001000000000001AAA", "Acme", "", "false", "2024-05-01T10:00:00.000Z", "x"])
    assert record["Name"] == "Acme"
    assert record["NumberOfEmployees"] is None
    assert record["IsDeleted"] is False
    assert record["SystemModstamp"] == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)


def test_json_records_read_the_rest_datetime_format() -> None:
    description = ObjectDescription.of(DESCRIBE)
    record = description.struct_from_json(
        {"attributes": {"type": "Account"}, "Id": "001", "SystemModstamp": "2024-05-01T10:00:00.000+0000"}
    )
    assert record["SystemModstamp"] == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)


def test_values_written_as_the_api_takes_them() -> None:
    moment = dt.datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=dt.UTC)
    assert format_datetime(moment) == "2024-05-01T10:00:00.123Z"
    assert to_json(dt.date(2024, 5, 1)) == "2024-05-01"
    assert to_json(b"hi") == "aGk="
    assert to_text(None) == ""
    assert to_text(True) == "true"
