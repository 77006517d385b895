"""JdbcSinkTask on SQLite, PostgreSQL and MariaDB: insert and key modes, DDL, deletes, schemaless values, errors."""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pytest
import sqlalchemy as sa

from connectors.jdbc.sink.connector import JdbcSinkConnector, WriteProgress
from hub.sdk import SinkRecord, Struct
from hub.sdk.errors import ConfigError, ConnectorError, DataError, RetriableError
from hub.sdk.schema import (
    BOOLEAN_SCHEMA,
    BYTES_SCHEMA,
    FLOAT32_SCHEMA,
    FLOAT64_SCHEMA,
    INT8_SCHEMA,
    INT16_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    array_schema,
    date_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)
from tests.connectors.jdbc.databases import Database
from tests.connectors.jdbc.sink.sink_tasks import (
    ITEM,
    NOT_NULL_MESSAGES,
    Reporter,
    create_items_table,
    item,
    keyed,
    rows,
    sink_config,
    start_task,
    write,
)
from tests.harness.process import free_port

# --- insert modes, every dialect ------------------------------------------------------------------------------------


def test_insert_mode_creates_the_table_and_inserts_rows(database: Database) -> None:
    table = database.table_name("sink_orders")
    config = sink_config(database, table, auto_create="true", pk_mode="record_value", pk_fields="id")
    write(config, [item(table, i, i, f"n{i}", i * 10) for i in range(5)])
    assert rows(database, table) == [(i, f"n{i}", i * 10) for i in range(5)]
    key = sa.inspect(database.engine).get_pk_constraint(table)
    assert key["constrained_columns"] == ["id"]


def test_upsert_mode_updates_rows_with_the_same_key(database: Database) -> None:
    table = database.table_name("sink_upserts")
    config = sink_config(
        database, table, auto_create="true", insert_mode="upsert", pk_mode="record_value", pk_fields="id"
    )
    write(
        config,
        [item(table, 0, 1, "a", 1), item(table, 1, 2, "b", 2), item(table, 2, 1, "a2", 3)],
        [item(table, 3, 2, "b2", None), item(table, 4, 3, "c", 5)],
    )
    assert rows(database, table) == [(1, "a2", 3), (2, "b2", None), (3, "c", 5)]


def test_upsert_mode_replays_are_harmless(database: Database) -> None:
    table = database.table_name("sink_replays")
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="kafka")
    batch = [item(table, i, i, "x") for i in range(3)]
    write(config, batch, batch)
    assert len(rows(database, table)) == 3


def test_update_mode_changes_existing_rows_only(database: Database) -> None:
    table = database.table_name("sink_updates")
    create_items_table(database, table)
    database.execute(f"INSERT INTO {table} (id, name, qty) VALUES (1, 'a', 1), (2, 'b', 2)")
    config = sink_config(database, table, insert_mode="update", pk_mode="record_value", pk_fields="id")
    write(config, [item(table, 0, 2, "b2", 20), item(table, 1, 3, "c", 30)])
    assert rows(database, table) == [(1, "a", 1), (2, "b2", 20)]


# --- primary key modes -------------------------------------------------------------------------------------------


def test_kafka_pk_mode_keys_rows_by_topic_partition_and_offset(database: Database) -> None:
    table = database.table_name("sink_kafka")
    write(sink_config(database, table, auto_create="true", pk_mode="kafka"), [item(table, 7, 1, "a")])
    assert rows(database, table, "__connect_topic", "__connect_partition", "__connect_offset", "id") == [
        (table, 0, 7, 1)
    ]
    key = sa.inspect(database.engine).get_pk_constraint(table)
    assert key["constrained_columns"] == ["__connect_topic", "__connect_partition", "__connect_offset"]


def test_record_key_pk_mode_takes_struct_key_fields(database: Database) -> None:
    table = database.table_name("sink_bykey")
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key")
    write(config, [keyed(table, 0, 1, "a"), keyed(table, 1, 1, "b")])
    assert rows(database, table, "id", "name") == [(1, "b")]


def test_record_key_pk_mode_names_a_primitive_key_with_pk_fields(database: Database) -> None:
    table = database.table_name("sink_primkey")
    config = sink_config(
        database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key", pk_fields="code"
    )
    value_schema = struct_schema([("name", STRING_SCHEMA)])
    records = [
        SinkRecord(
            table,
            Struct(value_schema, {"name": name}),
            value_schema,
            key=code,
            key_schema=STRING_SCHEMA,
            kafka_partition=0,
            kafka_offset=offset,
        )
        for offset, (code, name) in enumerate([("x", "a"), ("y", "b"), ("x", "c")])
    ]
    write(config, records)
    assert rows(database, table, "code", "name") == [("x", "c"), ("y", "b")]
    if database.dialect == "mysql":  # MySQL cannot index TEXT: string keys are VARCHAR(255)
        code = next(c for c in sa.inspect(database.engine).get_columns(table) if c["name"] == "code")
        assert isinstance(code["type"], sa.String)
        assert code["type"].length == 255


def test_record_key_pk_mode_with_a_primitive_key_needs_one_pk_field(database: Database) -> None:
    table = database.table_name("sink_nopk")
    config = sink_config(database, table, auto_create="true", pk_mode="record_key")
    record = SinkRecord(table, Struct(ITEM, {"id": 1}), ITEM, key="k", key_schema=STRING_SCHEMA, kafka_partition=0)
    with pytest.raises(ConnectorError, match=r"exactly one column name in pk\.fields"):
        write(config, [record])


def test_record_value_pk_mode_with_several_fields(database: Database) -> None:
    table = database.table_name("sink_byvalue")
    config = sink_config(
        database, table, auto_create="true", insert_mode="upsert", pk_mode="record_value", pk_fields="id,name"
    )
    write(config, [item(table, 0, 1, "a", 1), item(table, 1, 1, "b", 2), item(table, 2, 1, "a", 3)])
    assert rows(database, table) == [(1, "a", 3), (1, "b", 2)]
    key = sa.inspect(database.engine).get_pk_constraint(table)
    assert key["constrained_columns"] == ["id", "name"]


# --- DDL ---------------------------------------------------------------------------------------------------------


TYPES = struct_schema(
    [
        ("id", INT32_SCHEMA),
        ("i8", INT8_SCHEMA),
        ("i16", INT16_SCHEMA),
        ("i64", INT64_SCHEMA),
        ("f32", FLOAT32_SCHEMA),
        ("f64", FLOAT64_SCHEMA),
        ("flag", BOOLEAN_SCHEMA),
        ("text", STRING_SCHEMA),
        ("raw", BYTES_SCHEMA),
        ("price", decimal_schema(2)),
        ("day", date_schema()),
        ("at", time_schema()),
        ("ts", timestamp_schema()),
        ("address", struct_schema([("city", STRING_SCHEMA), ("zip", OPTIONAL_STRING_SCHEMA)], optional=True)),
        ("tags", array_schema(STRING_SCHEMA, optional=True)),
        ("scores", map_schema(STRING_SCHEMA, decimal_schema(1), optional=True)),
    ]
)
TYPED = {
    "id": 1,
    "i8": -8,
    "i16": 16_000,
    "i64": 2**40,
    "f32": 1.5,
    "f64": 2.25,
    "flag": True,
    "text": "héllo",
    "raw": b"\x00\xff",
    "price": decimal.Decimal("12.34"),
    "day": dt.date(2024, 2, 29),
    "at": dt.time(13, 14, 15, 678000),
    "ts": dt.datetime(2024, 5, 1, 12, 30, 45, 123000, tzinfo=dt.UTC),
    "address": Struct(TYPES.field("address").schema, {"city": "Lyon", "zip": None}),
    "tags": ["a", "b"],
    "scores": {"x": decimal.Decimal("1.5")},
}


def test_auto_create_maps_connect_types_and_stores_nested_fields_as_json(database: Database) -> None:
    table = database.table_name("sink_types")
    config = sink_config(database, table, auto_create="true", pk_mode="record_value", pk_fields="id")
    write(config, [SinkRecord(table, Struct(TYPES, TYPED), TYPES, kafka_partition=0, kafka_offset=0)])
    [row] = rows(database, table)
    got = dict(zip([f.name for f in TYPES.fields], row, strict=True))
    assert (got["i8"], got["i16"], got["i64"], got["f32"], got["f64"]) == (-8, 16_000, 2**40, 1.5, 2.25)
    assert bool(got["flag"]) is True
    assert (got["text"], bytes(got["raw"])) == ("héllo", b"\x00\xff")
    assert decimal.Decimal(str(got["price"])) == decimal.Decimal("12.34")
    assert (got["day"], got["at"]) == (dt.date(2024, 2, 29), dt.time(13, 14, 15, 678000))
    assert got["ts"] == dt.datetime(2024, 5, 1, 12, 30, 45, 123000), "timestamps keep milliseconds, in UTC"
    nested = [
        got[name] if isinstance(got[name], dict | list) else json.loads(got[name])
        for name in ("address", "tags", "scores")
    ]
    assert nested == [{"city": "Lyon", "zip": None}, ["a", "b"], {"x": "1.5"}]
    columns = {c["name"]: c["type"] for c in sa.inspect(database.engine).get_columns(table)}
    if database.dialect == "postgresql":
        assert all(type(columns[name]).__name__ == "JSONB" for name in ("address", "tags", "scores"))
        assert isinstance(columns["ts"], sa.DateTime)
        assert not columns["ts"].timezone


def test_db_timezone_sets_the_wall_clock_of_timestamps(database: Database) -> None:
    table = database.table_name("sink_zoned")
    schema = struct_schema([("id", INT32_SCHEMA), ("ts", timestamp_schema())])
    config = sink_config(database, table, auto_create="true", db_timezone="Europe/Paris")
    value = Struct(schema, {"id": 1, "ts": dt.datetime(2024, 7, 1, 10, 0, 0, 250000, tzinfo=dt.UTC)})
    write(config, [SinkRecord(table, value, schema, kafka_partition=0, kafka_offset=0)])
    assert rows(database, table, "ts") == [(dt.datetime(2024, 7, 1, 12, 0, 0, 250000),)]


def test_null_fields_take_their_schema_default_unless_told_otherwise(database: Database) -> None:
    schema = struct_schema([("id", INT32_SCHEMA), ("name", OPTIONAL_STRING_SCHEMA.with_default("unnamed"))])
    for replace, expected in (("true", "unnamed"), ("false", None)):
        table = database.table_name("sink_defaults")
        config = sink_config(database, table, auto_create="true", replace_null_with_default=replace)
        write(config, [SinkRecord(table, Struct(schema, {"id": 1}), schema, kafka_partition=0, kafka_offset=0)])
        assert rows(database, table, "name") == [(expected,)]


def test_auto_evolve_adds_optional_and_defaulted_fields(database: Database) -> None:
    table = database.table_name("sink_evolve")
    config = sink_config(
        database, table, auto_create="true", auto_evolve="true", pk_mode="record_value", pk_fields="id"
    )
    write(config, [item(table, 0, 1, "a", 1)])
    wider = struct_schema(
        [
            *[(f.name, f.schema) for f in ITEM.fields],
            ("note", OPTIONAL_STRING_SCHEMA),
            ("level", INT32_SCHEMA.with_default(3)),
        ]
    )
    record = SinkRecord(
        table,
        Struct(wider, {"id": 2, "name": "b", "note": "new", "level": 7}),
        wider,
        kafka_partition=0,
        kafka_offset=1,
    )
    write(config, [record])
    assert rows(database, table) == [(1, "a", 1, None, 3), (2, "b", None, "new", 7)]


def test_auto_evolve_refuses_a_required_field_without_default(database: Database) -> None:
    table = database.table_name("sink_strict")
    config = sink_config(database, table, auto_create="true", auto_evolve="true")
    write(config, [item(table, 0, 1, "a")])
    wider = struct_schema([*[(f.name, f.schema) for f in ITEM.fields], ("must", STRING_SCHEMA)])
    record = SinkRecord(table, Struct(wider, {"id": 2, "must": "x"}), wider, kafka_partition=0, kafka_offset=1)
    with pytest.raises(ConnectorError, match=r"cannot add the field 'must'.*required and has no default"):
        write(config, [record])


def test_missing_columns_without_auto_evolve_fail_the_task(database: Database) -> None:
    table = database.table_name("sink_noevolve")
    create_items_table(database, table)
    wider = struct_schema([*[(f.name, f.schema) for f in ITEM.fields], ("note", OPTIONAL_STRING_SCHEMA)])
    record = SinkRecord(table, Struct(wider, {"id": 1, "name": "a"}), wider, kafka_partition=0, kafka_offset=0)
    with pytest.raises(ConnectorError, match=r"no column for the field.*note.*auto\.evolve=true"):
        write(sink_config(database, table), [record])


def test_missing_table_without_auto_create_fails_the_task(database: Database) -> None:
    table = database.table_name("sink_absent")
    with pytest.raises(ConnectorError, match=f"table {table} does not exist.*auto.create=true"):
        write(sink_config(database, table), [item(table, 0, 1, "a")])


@pytest.mark.integration
def test_identifiers_keep_their_case_unless_quoting_is_off(postgres: Database) -> None:
    schema = struct_schema([("Id", INT32_SCHEMA), ("CustomerName", STRING_SCHEMA)])
    for quoting, expected in (("always", ["Id", "CustomerName"]), ("never", ["id", "customername"])):
        table = postgres.table_name(f"sink_Quoted_{quoting}")
        config = sink_config(postgres, table, auto_create="true", quote_sql_identifiers=quoting)
        write(config, [SinkRecord(table, Struct(schema, {"Id": 1, "CustomerName": "Ada"}), schema, kafka_partition=0)])
        stored = table if quoting == "always" else table.lower()
        assert [c["name"] for c in sa.inspect(postgres.engine).get_columns(stored)] == expected


# --- deletes, field selection, table names -----------------------------------------------------------------------


def test_tombstones_delete_rows_when_delete_is_enabled(database: Database) -> None:
    table = database.table_name("sink_deletes")
    config = sink_config(
        database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key", delete_enabled="true"
    )
    write(
        config,
        [keyed(table, 0, 1, "a"), keyed(table, 1, 2, "b"), keyed(table, 2, 1, None), keyed(table, 3, 3, "c")],
        [keyed(table, 4, 3, None), keyed(table, 5, 3, "c again")],
    )
    assert rows(database, table, "id", "name") == [(2, "b"), (3, "c again")]


def test_a_tombstone_for_a_missing_table_does_not_create_it(database: Database) -> None:
    table = database.table_name("sink_latecreate")
    config = sink_config(
        database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key", delete_enabled="true"
    )
    write(config, [keyed(table, 0, 1, None), keyed(table, 1, 2, "b")])
    assert rows(database, table) == [(2, "b", None)], "the table is created from the first record with a value"


def test_tombstones_are_skipped_when_delete_is_disabled(database: Database) -> None:
    table = database.table_name("sink_nodeletes")
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key")
    write(config, [keyed(table, 0, 1, "a"), keyed(table, 1, 1, None)])
    assert rows(database, table, "id", "name") == [(1, "a")]


def test_delete_enabled_needs_record_key_pk_mode() -> None:
    config = {"connection.url": "jdbc:sqlite::memory:", "delete.enabled": "true", "pk.mode": "record_value"}
    with pytest.raises(ConfigError) as raised:
        JdbcSinkConnector().start(config)
    assert "delete.enabled" in raised.value.errors
    assert "pk.mode=record_key" in raised.value.errors["delete.enabled"][0]


def test_fields_whitelist_limits_the_value_columns(database: Database) -> None:
    table = database.table_name("sink_whitelist")
    config = sink_config(
        database, table, auto_create="true", pk_mode="record_value", pk_fields="id", fields_whitelist="name"
    )
    write(config, [item(table, 0, 1, "a", 5)])
    assert [c["name"] for c in sa.inspect(database.engine).get_columns(table)] == ["id", "name"]
    assert rows(database, table) == [(1, "a")]


def test_table_name_format_names_the_table_from_the_topic(database: Database) -> None:
    topic = database.table_name("sink_events")
    config = sink_config(database, topic, auto_create="true", table_name_format="archive_${topic}")
    write(config, [item(topic, 0, 1, "a")])
    assert rows(database, f"archive_{topic}", "id") == [(1,)]


def test_unsupported_reference_options_are_refused_with_the_reason() -> None:
    problems = JdbcSinkConnector().config_def().errors({"connection.url": "jdbc:sqlite:x", "table.types": "VIEW"})[1]
    assert "not supported" in problems["table.types"][0]


# --- schemaless values -------------------------------------------------------------------------------------------


def test_schemaless_maps_are_written_to_an_existing_table_by_column_name(database: Database) -> None:
    table = database.table_name("sink_schemaless")
    database.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(50), details TEXT)")
    config = sink_config(database, table, insert_mode="upsert", pk_mode="record_value", pk_fields="id")
    records = [
        SinkRecord(table, {"id": 1, "name": "a"}, kafka_partition=0, kafka_offset=0),
        SinkRecord(table, {"id": 2, "details": {"tags": ["x"]}}, kafka_partition=0, kafka_offset=1),
    ]
    write(config, records)
    assert rows(database, table) == [(1, "a", None), (2, None, '{"tags":["x"]}')]


def test_schemaless_records_cannot_auto_create_a_table(database: Database) -> None:
    table = database.table_name("sink_noschema")
    reporter = Reporter()
    config = sink_config(database, table, auto_create="true")
    write(config, [SinkRecord(table, {"id": 1}, kafka_partition=0, kafka_offset=0)], reporter=reporter)
    [(_, error)] = reporter.reported
    assert isinstance(error, DataError)
    assert "without a schema" in str(error)


# --- bad records, retries, offsets -------------------------------------------------------------------------------


def test_bad_records_go_to_the_reporter_and_the_rest_of_the_batch_is_written(database: Database) -> None:
    table = database.table_name("sink_dlq")
    create_items_table(database, table, check=True)
    reporter = Reporter()
    batch = [item(table, i, i, None if i == 3 else f"n{i}", -1 if i == 6 else i) for i in range(10)]
    task, _ = start_task(sink_config(database, table, batch_size="4"), reporter)
    task.put(batch)
    assert task.pre_commit({(table, 0): 10}) == {(table, 0): 10}
    task.stop()
    assert [record.kafka_offset for record, _ in reporter.reported] == [3, 6]
    assert NOT_NULL_MESSAGES[database.dialect] in str(reporter.reported[0][1])
    assert [row[0] for row in rows(database, table)] == [0, 1, 2, 4, 5, 7, 8, 9]


def test_a_bad_record_without_a_reporter_fails_with_the_database_message(database: Database) -> None:
    table = database.table_name("sink_fail")
    create_items_table(database, table)
    task, _ = start_task(sink_config(database, table, batch_size="2"))
    with pytest.raises(ConnectorError, match=NOT_NULL_MESSAGES[database.dialect]) as raised:
        task.put([item(table, i, i, None if i == 3 else "x") for i in range(6)])
    assert f"{table}-0@3" in str(raised.value)
    assert task.pre_commit({(table, 0): 6}) == {(table, 0): 2}, "committed past the records written"
    task.stop()
    assert [row[0] for row in rows(database, table)] == [0, 1]


def test_reporter_refusing_the_record_fails_the_task(database: Database) -> None:
    table = database.table_name("sink_refused")
    create_items_table(database, table)
    with pytest.raises(ConnectorError, match=NOT_NULL_MESSAGES[database.dialect]):
        write(sink_config(database, table), [item(table, 0, 1, None)], reporter=Reporter(tolerate=False))


def test_an_unreachable_database_is_retried_then_fails_the_task() -> None:
    url = f"jdbc:postgresql://127.0.0.1:{free_port()}/none"
    config = {
        "name": "s",
        "topics": "t",
        "connection.url": url,
        "connection.user": "u",
        "connection.attempts": "1",
        "max.retries": "2",
        "retry.backoff.ms": "25",
    }
    task, context = start_task(config)
    record = SinkRecord("t", Struct(ITEM, {"id": 1}), ITEM, kafka_partition=0, kafka_offset=0)
    for _ in range(2):
        with pytest.raises(RetriableError, match="cannot reach the database"):
            task.put([record])
    with pytest.raises(ConnectorError, match="giving up after 2 retries"):
        task.put([record])
    assert context.timeouts == [25, 25]
    assert task.pre_commit({("t", 0): 1}) == {}
    task.stop()


def test_write_progress_commits_only_what_was_written_and_skips_it_on_redelivery() -> None:
    progress = WriteProgress()
    batch = [item("t", offset, offset) for offset in range(10, 16)]
    assert progress.begin(batch) == batch
    progress.advance(batch[:2])
    assert progress.safe({("t", 0): 16, ("u", 0): 5}) == {("t", 0): 12, ("u", 0): 5}
    assert progress.begin(batch) == batch[2:], "a redelivered batch writes only what the failed put did not"
    progress.advance(batch[2:])
    progress.finish(batch)
    assert progress.safe({("t", 0): 17}) == {("t", 0): 17}
