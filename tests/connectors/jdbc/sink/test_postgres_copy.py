"""JdbcSink on PostgreSQL: inserts and upserts through COPY write what statements would, and refuse what they refuse."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
import sqlalchemy as sa

from hub.sdk import SinkRecord, Struct
from hub.sdk.schema import (
    FLOAT64_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    array_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    timestamp_schema,
)
from tests.connectors.jdbc.databases import Database
from tests.connectors.jdbc.sink.sink_tasks import (
    ITEM,
    Reporter,
    create_items_table,
    item,
    rows,
    sink_config,
    start_task,
    write,
)

# --- PostgreSQL: inserts and upserts through COPY -----------------------------------------------------------------


def statements_run(work: Any) -> list[str]:
    """The SQL statements SQLAlchemy engines ran while ``work()`` ran."""
    seen: list[str] = []

    def record(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        work()
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    return seen


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_postgres_writes_inserts_and_upserts_with_copy_not_statements(postgres: Database, mode: str) -> None:
    table = postgres.table_name(f"sink_copy_{mode}")
    config = sink_config(
        postgres, table, auto_create="true", insert_mode=mode, pk_mode="record_value", pk_fields="id", batch_size="50"
    )
    batches = [[item(table, i, i, f"n{i}", i) for i in range(start, start + 100)] for start in (0, 100)]
    statements = statements_run(lambda: write(config, *batches))
    assert not [statement for statement in statements if statement.lstrip().upper().startswith("INSERT")]
    assert rows(postgres, table) == [(i, f"n{i}", i) for i in range(200)]


@pytest.mark.integration
def test_postgres_upsert_of_a_chunk_with_repeated_keys_keeps_the_last_row_per_key(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_repeats")
    config = sink_config(
        postgres, table, auto_create="true", insert_mode="upsert", pk_mode="record_value", pk_fields="id"
    )
    keys = [1, 2, 1, 3, 2, 1, 4]
    write(
        config,
        [item(table, offset, key, f"v{offset}", offset) for offset, key in enumerate(keys)],
        [item(table, 7, 4, "w7", None), item(table, 8, 5, "w8", 8), item(table, 9, 4, "w9", 9)],
    )
    assert rows(postgres, table) == [(1, "v5", 5), (2, "v4", 4), (3, "v3", 3), (4, "w9", 9), (5, "w8", 8)]


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_postgres_bad_rows_of_a_copied_chunk_are_isolated_and_the_good_rows_land(postgres: Database, mode: str) -> None:
    table = postgres.table_name(f"sink_copy_bad_{mode}")
    create_items_table(postgres, table, check=True)
    reporter = Reporter()
    config = sink_config(postgres, table, insert_mode=mode, pk_mode="record_value", pk_fields="id", batch_size="500")
    batch = [item(table, i, i, None if i == 17 else f"n{i}", -1 if i in (3, 650) else i) for i in range(1000)]
    task, _ = start_task(config, reporter)
    task.put(batch)
    assert task.pre_commit({(table, 0): 1000}) == {(table, 0): 1000}
    task.put([item(table, 1000, 1000, "after")])
    task.stop()
    assert [record.kafka_offset for record, _ in reporter.reported] == [3, 17, 650]
    assert "violates not-null constraint" in str(reporter.reported[1][1])
    assert [row[0] for row in rows(postgres, table)] == [i for i in range(1001) if i not in (3, 17, 650)]


NULLABLE = struct_schema(
    [
        ("id", INT64_SCHEMA),
        ("name", OPTIONAL_STRING_SCHEMA),
        ("level", INT32_SCHEMA.with_default(3)),
        ("address", struct_schema([("city", STRING_SCHEMA), ("zip", OPTIONAL_STRING_SCHEMA)], optional=True)),
        ("tags", array_schema(STRING_SCHEMA, optional=True)),
        ("scores", map_schema(STRING_SCHEMA, decimal_schema(1), optional=True)),
    ]
)


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_postgres_copy_writes_nulls_defaults_and_nested_fields_as_statements_do(postgres: Database, mode: str) -> None:
    table = postgres.table_name(f"sink_copy_nested_{mode}")
    postgres.execute(
        f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT, level INTEGER, address JSONB, tags JSON, scores TEXT)"
    )
    address = NULLABLE.field("address").schema
    values = [
        {"id": 1},
        {
            "id": 2,
            "name": "é\t\\\n",
            "level": 7,
            "address": Struct(address, {"city": "Lyon"}),
            "tags": ["a", "é"],
            "scores": {"x": decimal.Decimal("1.5")},
        },
    ]
    config = sink_config(postgres, table, insert_mode=mode, pk_mode="record_value", pk_fields="id")
    write(
        config,
        [
            SinkRecord(table, Struct(NULLABLE, value), NULLABLE, kafka_partition=0, kafka_offset=offset)
            for offset, value in enumerate(values)
        ],
    )
    assert postgres.rows(f"SELECT id, name, level, address, tags::text, scores FROM {table} ORDER BY id") == [
        (1, None, 3, None, "null", None),  # SQLAlchemy binds None to a JSON column as JSON null
        (2, "é\t\\\n", 7, {"city": "Lyon", "zip": None}, '["a", "\\u00e9"]', '{"x":"1.5"}'),
    ]


@pytest.mark.integration
def test_postgres_copy_writes_timestamps_with_and_without_time_zone(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_zones")
    postgres.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, ts TIMESTAMP, tstz TIMESTAMPTZ)")
    schema = struct_schema(
        [("id", INT32_SCHEMA), ("ts", timestamp_schema(optional=True)), ("tstz", timestamp_schema(optional=True))]
    )
    tokyo = dt.timezone(dt.timedelta(hours=9))
    instants = [
        dt.datetime(2024, 7, 1, 10, 0, 0, 250000, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 15, 20, 30, tzinfo=tokyo),
        dt.datetime(2024, 3, 31, 1, 59, 59),  # naive: taken as UTC
    ]
    records = [
        SinkRecord(table, Struct(schema, {"id": i, "ts": at, "tstz": at}), schema, kafka_partition=0, kafka_offset=i)
        for i, at in enumerate(instants)
    ]
    records.append(SinkRecord(table, Struct(schema, {"id": 3}), schema, kafka_partition=0, kafka_offset=3))
    write(sink_config(postgres, table, db_timezone="Europe/Paris"), records)
    paris = [
        dt.datetime(2024, 7, 1, 12, 0, 0, 250000),
        dt.datetime(2024, 1, 15, 12, 30),
        dt.datetime(2024, 3, 31, 3, 59, 59),
    ]
    got = rows(postgres, table)
    assert [row[1] for row in got] == [*paris, None]
    assert [row[2] for row in got][:3] == [at if at.tzinfo else at.replace(tzinfo=dt.UTC) for at in instants]
    assert got[3][2] is None


@pytest.mark.integration
def test_postgres_copy_rounds_decimals_to_the_column_scale(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_scale")
    postgres.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, price NUMERIC(6, 2), exact NUMERIC)")
    schema = struct_schema([("id", INT32_SCHEMA), ("price", decimal_schema(3)), ("exact", decimal_schema(3))])
    prices = ["12.345", "-1.005", "0.004", "99999.999", "1E+2"]
    records = [
        SinkRecord(
            table,
            Struct(schema, {"id": i, "price": decimal.Decimal(p), "exact": decimal.Decimal(p)}),
            schema,
            kafka_partition=0,
            kafka_offset=i,
        )
        for i, p in enumerate(prices)
    ]
    reporter = Reporter()
    write(sink_config(postgres, table), records, reporter=reporter)
    assert [record.kafka_offset for record, _ in reporter.reported] == [3], "99999.999 rounds past NUMERIC(6, 2)"
    assert rows(postgres, table) == [
        (0, decimal.Decimal("12.35"), decimal.Decimal("12.345")),
        (1, decimal.Decimal("-1.01"), decimal.Decimal("-1.005")),
        (2, decimal.Decimal("0.00"), decimal.Decimal("0.004")),
        (4, decimal.Decimal("100.00"), decimal.Decimal("1E+2")),
    ]


@pytest.mark.integration
def test_postgres_values_beyond_a_column_range_are_refused_as_statements_refuse_them(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_ranges")
    postgres.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, small SMALLINT, single REAL)")
    schema = struct_schema([("id", INT64_SCHEMA), ("small", INT64_SCHEMA), ("single", FLOAT64_SCHEMA)])
    values = [
        (0, 1, 1.5),
        (1, 2**40, 0.0),
        (2, -(2**15), 1e39),
        (3, 2**15 - 1, 1e-50),
        (2**31, 0, 0.0),
        (5, 0, 1 + 2**-24),
    ]
    records = [
        SinkRecord(
            table,
            Struct(schema, dict(zip(("id", "small", "single"), value, strict=True))),
            schema,
            kafka_partition=0,
            kafka_offset=offset,
        )
        for offset, value in enumerate(values)
    ]
    reporter = Reporter()
    write(sink_config(postgres, table), records, reporter=reporter)
    assert [record.kafka_offset for record, _ in reporter.reported] == [1, 2, 3, 4]
    assert "out of range" in str(reporter.reported[0][1])
    assert rows(postgres, table) == [(0, 1, 1.5), (5, 0, 1.0)], "float8 values are rounded to real once"


@pytest.mark.integration
def test_postgres_upserts_go_on_after_the_connection_is_replaced(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_reconnect")
    config = sink_config(
        postgres, table, auto_create="true", insert_mode="upsert", pk_mode="record_value", pk_fields="id"
    )
    task, _ = start_task(config)
    try:
        task.put([item(table, 0, 1, "a"), item(table, 1, 2, "b")])
        postgres.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE pid <> pg_backend_pid() AND query LIKE '%{table}%'"
        )
        task.put([item(table, 2, 2, "b2"), item(table, 3, 3, "c")])
    finally:
        task.stop()
    assert rows(postgres, table, "id", "name") == [(1, "a"), (2, "b2"), (3, "c")]


@pytest.mark.integration
def test_postgres_upserts_follow_columns_added_by_auto_evolve(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_evolve")
    config = sink_config(
        postgres,
        table,
        auto_create="true",
        auto_evolve="true",
        insert_mode="upsert",
        pk_mode="record_value",
        pk_fields="id",
    )
    wider = struct_schema([*[(f.name, f.schema) for f in ITEM.fields], ("note", OPTIONAL_STRING_SCHEMA)])
    task, _ = start_task(config)
    try:
        task.put([item(table, 0, 1, "a", 1), item(table, 1, 2, "b", 2)])
        task.put(
            [
                SinkRecord(
                    table,
                    Struct(wider, {"id": 2, "name": "b2", "note": "new"}),
                    wider,
                    kafka_partition=0,
                    kafka_offset=2,
                ),
                item(table, 3, 1, "a2", 10),
            ]
        )
    finally:
        task.stop()
    assert rows(postgres, table) == [(1, "a2", 10, None), (2, "b2", None, "new")]
