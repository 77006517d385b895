"""Change events built in one pass for a snapshot batch equal those built one by one."""

from __future__ import annotations

import decimal

from connectors.jdbc.cdc.change_events import Source, TableEvents, change_records, read_records
from connectors.jdbc.column_schemas import ColumnMapping, same
from hub.sdk.schema import INT64_SCHEMA, OPTIONAL_STRING_SCHEMA, decimal_schema


def test_read_records_equal_change_records_row_by_row() -> None:
    mappings = [
        ColumnMapping("id", INT64_SCHEMA, same),
        ColumnMapping("name", OPTIONAL_STRING_SCHEMA, lambda value: None if value is None else str(value).upper()),
        ColumnMapping("price", decimal_schema(2, optional=True), same),
    ]
    for keys in (["id"], []):
        events = TableEvents.build("shop", "public", "items", mappings, keys)
        source = Source("shop", "db", "1.0", 1000, "true", None, 42)
        block = source.block(events)
        rows = [(1, "a", decimal.Decimal("1.50")), (2, None, None)]
        offset = {"lsn": 42, "snapshot": True}
        one_by_one = [
            record
            for row in rows
            for record in change_records(events, "r", None, row, source, {"server": "shop"}, offset, False, 7, block)
        ]
        assert read_records(events, rows, source, block, {"server": "shop"}, offset, 7) == one_by_one
        assert one_by_one[0].value.get("after").get("name") == "A"
        assert (one_by_one[0].key is None) == (not keys)
