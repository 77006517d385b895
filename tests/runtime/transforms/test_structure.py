"""Flatten and SetSchemaMetadata."""

from __future__ import annotations

import pytest

from hub.runtime.transforms import FlattenValue, SetSchemaMetadataValue
from hub.sdk.errors import ConfigError
from hub.sdk.records import SourceRecord
from hub.sdk.schema import INT64_SCHEMA, STRING_SCHEMA, struct_schema
from hub.sdk.struct import Struct

ADDRESS = struct_schema([("city", STRING_SCHEMA), ("zip", STRING_SCHEMA)], name="Address", optional=True)
CUSTOMER = struct_schema([("id", INT64_SCHEMA), ("address", ADDRESS)], name="Customer")


def _customer() -> SourceRecord:
    value = Struct(CUSTOMER, {"id": 1, "address": Struct(ADDRESS, {"city": "Oslo", "zip": "0150"})})
    return SourceRecord(topic="t", value=value, value_schema=CUSTOMER)


def test_flatten_structs_and_maps() -> None:
    flatten = FlattenValue()
    flatten.configure({"delimiter": "_"})
    flat = flatten.apply(_customer())
    assert flat is not None
    assert flat.value.to_dict() == {"id": 1, "address_city": "Oslo", "address_zip": "0150"}
    assert flat.value_schema.field("address_city").schema.optional  # its parent struct was optional
    assert flat.value_schema.name == "Customer"
    schemaless = flatten.apply(SourceRecord(topic="t", value={"a": {"b": {"c": 1}}, "d": 2}))
    assert schemaless is not None
    assert schemaless.value == {"a_b_c": 1, "d": 2}


def test_set_schema_metadata() -> None:
    rename = SetSchemaMetadataValue()
    rename.configure({"schema.name": "com.acme.Customer", "schema.version": "3"})
    renamed = rename.apply(_customer())
    assert renamed is not None
    assert (renamed.value_schema.name, renamed.value_schema.version) == ("com.acme.Customer", 3)
    assert renamed.value.schema == renamed.value_schema
    with pytest.raises(ConfigError, match=r"needs schema\.name or schema\.version"):
        SetSchemaMetadataValue().configure({})
