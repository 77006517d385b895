"""JdbcSink against SQLite, PostgreSQL and MariaDB: insert modes, key modes, DDL, deletes, errors, and the runtime."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Collection, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.jdbc.sink.connector import JdbcSinkConnector, JdbcSinkTask, WriteProgress
from hub.runtime.converters.json import JsonConverter
from hub.runtime.plugins import Plugins
from hub.sdk import ErrantRecordReporter, Schema, SinkRecord, SinkTaskContext, Struct, hookimpl
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
    OPTIONAL_INT32_SCHEMA,
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
from hub.sdk.testing import SinkConnectorConformance
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.jdbc.databases import Database, make_database
from tests.harness.process import free_port

DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration),
            pytest.param("mysql", marks=pytest.mark.integration)]  # fmt: skip

ITEM = struct_schema([("id", INT64_SCHEMA), ("name", OPTIONAL_STRING_SCHEMA), ("qty", OPTIONAL_INT32_SCHEMA)],
                     name="item")  # fmt: skip
ITEM_KEY = struct_schema([("id", INT64_SCHEMA)], name="item_key")
#: What each database says when a NOT NULL column gets a null.
NOT_NULL_MESSAGES = {"sqlite": "NOT NULL constraint failed", "postgresql": "violates not-null constraint",
                     "mysql": "cannot be null"}  # fmt: skip


class _JdbcSinkPlugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [JdbcSinkConnector]


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    """The installed plugins, with the sink registered whether or not the jdbc entry point lists it yet."""
    return Plugins.discover(extra=[_JdbcSinkPlugin()])


@pytest.fixture(params=DIALECTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, request.param)


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, "postgresql")


@pytest.fixture
def mariadb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, "mysql")


# --- driving a task directly -------------------------------------------------------------------------------------


class Reporter(ErrantRecordReporter):
    """Records what the task reports; ``tolerate=False`` answers as the runtime does with errors.tolerance=none."""

    def __init__(self, tolerate: bool = True) -> None:
        self.tolerate = tolerate
        self.reported: list[tuple[SinkRecord, BaseException]] = []

    def report(self, record: SinkRecord, error: BaseException) -> Future[None]:
        self.reported.append((record, error))
        done: Future[None] = Future()
        if self.tolerate:
            done.set_result(None)
        else:
            done.set_exception(RuntimeError("tolerance exceeded"))
        return done


class Context(SinkTaskContext):
    def __init__(self, config: dict[str, str], reporter: ErrantRecordReporter | None) -> None:
        self._config = config
        self.reporter = reporter
        self.timeouts: list[int] = []

    @property
    def config(self) -> dict[str, str]:
        return self._config

    def assignment(self) -> set[tuple[str, int]]:
        return set()

    def offset(self, offsets: Any) -> None: ...

    def timeout(self, timeout_ms: int) -> None:
        self.timeouts.append(timeout_ms)

    def pause(self, *partitions: tuple[str, int]) -> None: ...

    def resume(self, *partitions: tuple[str, int]) -> None: ...

    def request_commit(self) -> None: ...

    @property
    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        return self.reporter


def sink_config(db: Database, topic: str, **options: str) -> dict[str, str]:
    options = {key.replace("_", "."): value for key, value in options.items()}
    return {"name": "sink", "topics": topic, **db.options, "connection.backoff.ms": "50", **options}


def start_task(config: dict[str, str], reporter: ErrantRecordReporter | None = None) -> tuple[JdbcSinkTask, Context]:
    task = JdbcSinkTask()
    context = Context(config, reporter)
    task.initialize(context)
    task.start(config)
    return task, context


def write(config: dict[str, str], *batches: list[SinkRecord], reporter: ErrantRecordReporter | None = None) -> None:
    task, _ = start_task(config, reporter)
    try:
        for batch in batches:
            task.put(batch)
    finally:
        task.stop()


def item(topic: str, offset: int, id: int, name: str | None = None, qty: int | None = None, **kw: Any) -> SinkRecord:
    value = Struct(ITEM, {"id": id, "name": name, "qty": qty})
    return SinkRecord(topic, value, ITEM, kafka_partition=0, kafka_offset=offset, **kw)


def keyed(topic: str, offset: int, id: int, name: str | None = None) -> SinkRecord:
    """A record keyed by a struct key; a None name makes a tombstone."""
    value = None if name is None else Struct(ITEM, {"id": id, "name": name})
    return SinkRecord(topic, value, None if value is None else ITEM, key=Struct(ITEM_KEY, {"id": id}),
                      key_schema=ITEM_KEY, kafka_partition=0, kafka_offset=offset)  # fmt: skip


def rows(db: Database, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """The rows of a table (reflected, so names are quoted as they are), ordered by the given columns."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=db.engine)
    selected = [reflected.c[name] for name in columns] if columns else list(reflected.c)
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(*selected).order_by(*selected))]


def create_items_table(db: Database, table: str, check: bool = False) -> None:
    extra = ", CHECK (qty >= 0)" if check else ""
    db.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL, qty INTEGER{extra})")


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
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="record_value",
                         pk_fields="id")  # fmt: skip
    write(config, [item(table, 0, 1, "a", 1), item(table, 1, 2, "b", 2), item(table, 2, 1, "a2", 3)],
          [item(table, 3, 2, "b2", None), item(table, 4, 3, "c", 5)])  # fmt: skip
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
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key",
                         pk_fields="code")  # fmt: skip
    value_schema = struct_schema([("name", STRING_SCHEMA)])
    records = [SinkRecord(table, Struct(value_schema, {"name": name}), value_schema, key=code, key_schema=STRING_SCHEMA,
                          kafka_partition=0, kafka_offset=offset)
               for offset, (code, name) in enumerate([("x", "a"), ("y", "b"), ("x", "c")])]  # fmt: skip
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
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="record_value",
                         pk_fields="id,name")  # fmt: skip
    write(config, [item(table, 0, 1, "a", 1), item(table, 1, 1, "b", 2), item(table, 2, 1, "a", 3)])
    assert rows(database, table) == [(1, "a", 3), (1, "b", 2)]
    key = sa.inspect(database.engine).get_pk_constraint(table)
    assert key["constrained_columns"] == ["id", "name"]


# --- DDL ---------------------------------------------------------------------------------------------------------


TYPES = struct_schema([
    ("id", INT32_SCHEMA), ("i8", INT8_SCHEMA), ("i16", INT16_SCHEMA), ("i64", INT64_SCHEMA), ("f32", FLOAT32_SCHEMA),
    ("f64", FLOAT64_SCHEMA), ("flag", BOOLEAN_SCHEMA), ("text", STRING_SCHEMA), ("raw", BYTES_SCHEMA),
    ("price", decimal_schema(2)), ("day", date_schema()), ("at", time_schema()), ("ts", timestamp_schema()),
    ("address", struct_schema([("city", STRING_SCHEMA), ("zip", OPTIONAL_STRING_SCHEMA)], optional=True)),
    ("tags", array_schema(STRING_SCHEMA, optional=True)),
    ("scores", map_schema(STRING_SCHEMA, decimal_schema(1), optional=True)),
])  # fmt: skip
TYPED = {
    "id": 1, "i8": -8, "i16": 16_000, "i64": 2**40, "f32": 1.5, "f64": 2.25, "flag": True, "text": "héllo",
    "raw": b"\x00\xff", "price": decimal.Decimal("12.34"), "day": dt.date(2024, 2, 29),
    "at": dt.time(13, 14, 15, 678000), "ts": dt.datetime(2024, 5, 1, 12, 30, 45, 123000, tzinfo=dt.UTC),
    "address": Struct(TYPES.field("address").schema, {"city": "Lyon", "zip": None}), "tags": ["a", "b"],
    "scores": {"x": decimal.Decimal("1.5")},
}  # fmt: skip


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
    nested = [got[name] if isinstance(got[name], dict | list) else json.loads(got[name])
              for name in ("address", "tags", "scores")]  # fmt: skip
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
    config = sink_config(database, table, auto_create="true", auto_evolve="true", pk_mode="record_value",
                         pk_fields="id")  # fmt: skip
    write(config, [item(table, 0, 1, "a", 1)])
    wider = struct_schema([*[(f.name, f.schema) for f in ITEM.fields], ("note", OPTIONAL_STRING_SCHEMA),
                           ("level", INT32_SCHEMA.with_default(3))])  # fmt: skip
    record = SinkRecord(table, Struct(wider, {"id": 2, "name": "b", "note": "new", "level": 7}), wider,
                        kafka_partition=0, kafka_offset=1)  # fmt: skip
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
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key",
                         delete_enabled="true")  # fmt: skip
    write(config, [keyed(table, 0, 1, "a"), keyed(table, 1, 2, "b"), keyed(table, 2, 1, None), keyed(table, 3, 3, "c")],
          [keyed(table, 4, 3, None), keyed(table, 5, 3, "c again")])  # fmt: skip
    assert rows(database, table, "id", "name") == [(2, "b"), (3, "c again")]


def test_a_tombstone_for_a_missing_table_does_not_create_it(database: Database) -> None:
    table = database.table_name("sink_latecreate")
    config = sink_config(database, table, auto_create="true", insert_mode="upsert", pk_mode="record_key",
                         delete_enabled="true")  # fmt: skip
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
    config = sink_config(database, table, auto_create="true", pk_mode="record_value", pk_fields="id",
                         fields_whitelist="name")  # fmt: skip
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
    records = [SinkRecord(table, {"id": 1, "name": "a"}, kafka_partition=0, kafka_offset=0),
               SinkRecord(table, {"id": 2, "details": {"tags": ["x"]}}, kafka_partition=0, kafka_offset=1)]  # fmt: skip
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
    config = {"name": "s", "topics": "t", "connection.url": url, "connection.user": "u", "connection.attempts": "1",
              "max.retries": "2", "retry.backoff.ms": "25"}  # fmt: skip
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
    config = sink_config(postgres, table, auto_create="true", insert_mode=mode, pk_mode="record_value",
                         pk_fields="id", batch_size="50")  # fmt: skip
    batches = [[item(table, i, i, f"n{i}", i) for i in range(start, start + 100)] for start in (0, 100)]
    statements = statements_run(lambda: write(config, *batches))
    assert not [statement for statement in statements if statement.lstrip().upper().startswith("INSERT")]
    assert rows(postgres, table) == [(i, f"n{i}", i) for i in range(200)]


@pytest.mark.integration
def test_postgres_upsert_of_a_chunk_with_repeated_keys_keeps_the_last_row_per_key(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_repeats")
    config = sink_config(postgres, table, auto_create="true", insert_mode="upsert", pk_mode="record_value",
                         pk_fields="id")  # fmt: skip
    keys = [1, 2, 1, 3, 2, 1, 4]
    write(config, [item(table, offset, key, f"v{offset}", offset) for offset, key in enumerate(keys)],
          [item(table, 7, 4, "w7", None), item(table, 8, 5, "w8", 8), item(table, 9, 4, "w9", 9)])  # fmt: skip
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


NULLABLE = struct_schema([
    ("id", INT64_SCHEMA), ("name", OPTIONAL_STRING_SCHEMA), ("level", INT32_SCHEMA.with_default(3)),
    ("address", struct_schema([("city", STRING_SCHEMA), ("zip", OPTIONAL_STRING_SCHEMA)], optional=True)),
    ("tags", array_schema(STRING_SCHEMA, optional=True)),
    ("scores", map_schema(STRING_SCHEMA, decimal_schema(1), optional=True)),
])  # fmt: skip


@pytest.mark.integration
@pytest.mark.parametrize("mode", ["insert", "upsert"])
def test_postgres_copy_writes_nulls_defaults_and_nested_fields_as_statements_do(postgres: Database, mode: str) -> None:
    table = postgres.table_name(f"sink_copy_nested_{mode}")
    postgres.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name TEXT, level INTEGER, address JSONB, "
                     "tags JSON, scores TEXT)")  # fmt: skip
    address = NULLABLE.field("address").schema
    values = [
        {"id": 1},
        {"id": 2, "name": "é\t\\\n", "level": 7, "address": Struct(address, {"city": "Lyon"}), "tags": ["a", "é"],
         "scores": {"x": decimal.Decimal("1.5")}},
    ]  # fmt: skip
    config = sink_config(postgres, table, insert_mode=mode, pk_mode="record_value", pk_fields="id")
    write(config, [SinkRecord(table, Struct(NULLABLE, value), NULLABLE, kafka_partition=0, kafka_offset=offset)
                   for offset, value in enumerate(values)])  # fmt: skip
    assert postgres.rows(f"SELECT id, name, level, address, tags::text, scores FROM {table} ORDER BY id") == [
        (1, None, 3, None, "null", None),  # SQLAlchemy binds None to a JSON column as JSON null
        (2, "é\t\\\n", 7, {"city": "Lyon", "zip": None}, '["a", "\\u00e9"]', '{"x":"1.5"}'),
    ]


@pytest.mark.integration
def test_postgres_copy_writes_timestamps_with_and_without_time_zone(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_zones")
    postgres.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, ts TIMESTAMP, tstz TIMESTAMPTZ)")
    schema = struct_schema([("id", INT32_SCHEMA), ("ts", timestamp_schema(optional=True)),
                            ("tstz", timestamp_schema(optional=True))])  # fmt: skip
    tokyo = dt.timezone(dt.timedelta(hours=9))
    instants = [
        dt.datetime(2024, 7, 1, 10, 0, 0, 250000, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 15, 20, 30, tzinfo=tokyo),
        dt.datetime(2024, 3, 31, 1, 59, 59),  # naive: taken as UTC
    ]
    records = [SinkRecord(table, Struct(schema, {"id": i, "ts": at, "tstz": at}), schema, kafka_partition=0,
                          kafka_offset=i) for i, at in enumerate(instants)]  # fmt: skip
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
    records = [SinkRecord(table, Struct(schema, {"id": i, "price": decimal.Decimal(p), "exact": decimal.Decimal(p)}),
                          schema, kafka_partition=0, kafka_offset=i) for i, p in enumerate(prices)]  # fmt: skip
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
    values = [(0, 1, 1.5), (1, 2**40, 0.0), (2, -(2**15), 1e39), (3, 2**15 - 1, 1e-50), (2**31, 0, 0.0),
              (5, 0, 1 + 2**-24)]  # fmt: skip
    records = [SinkRecord(table, Struct(schema, dict(zip(("id", "small", "single"), value, strict=True))), schema,
                          kafka_partition=0, kafka_offset=offset) for offset, value in enumerate(values)]  # fmt: skip
    reporter = Reporter()
    write(sink_config(postgres, table), records, reporter=reporter)
    assert [record.kafka_offset for record, _ in reporter.reported] == [1, 2, 3, 4]
    assert "out of range" in str(reporter.reported[0][1])
    assert rows(postgres, table) == [(0, 1, 1.5), (5, 0, 1.0)], "float8 values are rounded to real once"


@pytest.mark.integration
def test_postgres_upserts_go_on_after_the_connection_is_replaced(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_reconnect")
    config = sink_config(postgres, table, auto_create="true", insert_mode="upsert", pk_mode="record_value",
                         pk_fields="id")  # fmt: skip
    task, _ = start_task(config)
    try:
        task.put([item(table, 0, 1, "a"), item(table, 1, 2, "b")])
        postgres.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         f"WHERE pid <> pg_backend_pid() AND query LIKE '%{table}%'")  # fmt: skip
        task.put([item(table, 2, 2, "b2"), item(table, 3, 3, "c")])
    finally:
        task.stop()
    assert rows(postgres, table, "id", "name") == [(1, "a"), (2, "b2"), (3, "c")]


@pytest.mark.integration
def test_postgres_upserts_follow_columns_added_by_auto_evolve(postgres: Database) -> None:
    table = postgres.table_name("sink_copy_evolve")
    config = sink_config(postgres, table, auto_create="true", auto_evolve="true", insert_mode="upsert",
                         pk_mode="record_value", pk_fields="id")  # fmt: skip
    wider = struct_schema([*[(f.name, f.schema) for f in ITEM.fields], ("note", OPTIONAL_STRING_SCHEMA)])
    task, _ = start_task(config)
    try:
        task.put([item(table, 0, 1, "a", 1), item(table, 1, 2, "b", 2)])
        task.put([SinkRecord(table, Struct(wider, {"id": 2, "name": "b2", "note": "new"}), wider, kafka_partition=0,
                             kafka_offset=2), item(table, 3, 1, "a2", 10)])  # fmt: skip
    finally:
        task.stop()
    assert rows(postgres, table) == [(1, "a2", 10, None), (2, "b2", None, "new")]


# --- through the runtime -----------------------------------------------------------------------------------------

_JSON = JsonConverter()


def produce(runtime: Runtime, topic: str, records: list[tuple[Schema | None, Any, Schema, Any]]) -> None:
    """Sends (key schema, key, value schema, value) as JSON with schemas, as the worker's converters read them."""
    runtime.produce(topic, [(_JSON.from_connect(topic, ks, k), _JSON.from_connect(topic, vs, v))
                            for ks, k, vs, v in records])  # fmt: skip


def wait_rows(db: Database, table: str, count: int) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []

    def enough() -> bool:
        nonlocal found
        try:
            found = rows(db, table)
        except sa.exc.NoSuchTableError:
            return False
        return len(found) >= count

    wait_for(enough, 60, lambda: f"{count} rows in {table}, have {found}")
    return found


def connector_config(db: Database, topic: str, **options: str) -> dict[str, str]:
    config = sink_config(db, topic, **options)
    config.pop("name")
    return {"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", **config}


def test_runtime_writes_json_records_with_schemas_to_the_table(runtime: Runtime, database: Database) -> None:
    topic = database.table_name("sink_pipeline")
    produce(runtime, topic, [(ITEM_KEY, Struct(ITEM_KEY, {"id": i}), ITEM, Struct(ITEM, {"id": i, "name": f"n{i}"}))
                             for i in range(20)])  # fmt: skip
    runtime.create("jdbc-sink", connector_config(database, topic, auto_create="true", insert_mode="upsert",
                                                 pk_mode="record_key", delete_enabled="true"))  # fmt: skip
    runtime.wait_running("jdbc-sink")
    assert wait_rows(database, topic, 20) == [(i, f"n{i}", None) for i in range(20)]
    runtime.produce(topic, [(_JSON.from_connect(topic, ITEM_KEY, Struct(ITEM_KEY, {"id": 0})), None)])
    wait_for(lambda: len(rows(database, topic)) == 19, what="the tombstone's row deleted")
    wait_for(lambda: runtime.herder.connector_status("jdbc-sink")["tasks"][0]["state"] == "RUNNING")


@pytest.mark.integration
def test_runtime_sends_bad_records_to_the_dead_letter_queue(runtime: Runtime, postgres: Database) -> None:
    topic = postgres.table_name("sink_tolerant")
    create_items_table(postgres, topic)
    produce(runtime, topic, [(None, None, ITEM, Struct(ITEM, {"id": i, "name": None if i == 2 else "x"}))
                             for i in range(5)])  # fmt: skip
    runtime.create("tolerant", connector_config(postgres, topic, **{
        "errors.tolerance": "all", "errors.deadletterqueue.topic.name": f"dlq-{topic}",
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true"}))  # fmt: skip
    wait_rows(postgres, topic, 4)
    [dead] = runtime.read_topic(f"dlq-{topic}")
    headers = {name: (value or b"").decode() for name, value in dead.headers}
    assert (headers["__connect.errors.offset"], headers["__connect.errors.stage"]) == ("2", "TASK_PUT")
    assert "violates not-null constraint" in headers["__connect.errors.exception.message"]
    assert json.loads(dead.value)["payload"]["id"] == 2
    assert runtime.herder.connector_status("tolerant")["tasks"][0]["state"] == "RUNNING"


def test_runtime_fails_the_task_with_the_database_message(runtime: Runtime, database: Database) -> None:
    topic = database.table_name("sink_intolerant")
    create_items_table(database, topic)
    produce(runtime, topic, [(None, None, ITEM, Struct(ITEM, {"id": 1}))])
    runtime.create("intolerant", connector_config(database, topic))
    status = runtime.wait_state("intolerant", "FAILED")
    assert NOT_NULL_MESSAGES[database.dialect] in status["tasks"][0]["trace"]


def test_runtime_refuses_delete_enabled_without_record_key(runtime: Runtime, tmp_path: Path) -> None:
    config = {"connector.class": "JdbcSink", "topics": "t", "connection.url": f"jdbc:sqlite:{tmp_path / 'x.db'}",
              "delete.enabled": "true"}  # fmt: skip
    with pytest.raises(ConfigError, match=r"delete\.enabled: delete\.enabled=true needs pk\.mode=record_key"):
        runtime.create("nodelete", config)  # refused at validation, as Confluent's validate() does
    assert runtime.herder.connectors() == []


def test_runtime_accepts_a_jdbc_url_with_user_and_password(runtime: Runtime, database: Database) -> None:
    topic = database.table_name("sink_credentials")
    assert database.options["connection.url"].startswith("jdbc:")
    produce(runtime, topic, [(None, None, ITEM, Struct(ITEM, {"id": 1, "name": "a"}))])
    runtime.create("credentials", connector_config(database, topic, auto_create="true"))
    assert wait_rows(database, topic, 1) == [(1, "a", None)]


def test_runtime_writes_to_sqlite_ignoring_user_and_password(runtime: Runtime, tmp_path: Path) -> None:
    database = Database("sqlite", sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}"), {}, None)
    database.options["connection.url"] = f"jdbc:sqlite:{tmp_path / 'shop.db'}"
    produce(runtime, "credentials_table", [(None, None, ITEM, Struct(ITEM, {"id": 1, "name": "a"}))])
    credentials = {"connection.user": "app", "connection.password": "s3cret"}
    runtime.create("sqlite-credentials", connector_config(database, "credentials_table", auto_create="true",
                                                         **credentials))  # fmt: skip
    try:
        assert wait_rows(database, "credentials_table", 1) == [(1, "a", None)]
    finally:
        database.engine.dispose()


@pytest.mark.integration
def test_runtime_fails_the_task_with_the_refusal_of_a_wrong_password(runtime: Runtime, mariadb: Database) -> None:
    topic = mariadb.table_name("sink_wrong")
    assert mariadb.options["connection.password"], "the MariaDB of the tests has a password"
    produce(runtime, topic, [(None, None, ITEM, Struct(ITEM, {"id": 1}))])
    options = {"connection.password": "wrong", "connection.attempts": "1", "max.retries": "0"}
    runtime.store("wrong", connector_config(mariadb, topic, auto_create="true", **options))  # the password changed
    assert "Access denied" in runtime.wait_state("wrong", "FAILED")["tasks"][0]["trace"]


# --- the SDK's conformance suite ---------------------------------------------------------------------------------

COUNTER = struct_schema([("n", INT64_SCHEMA), ("text", STRING_SCHEMA)])


class TestJdbcSinkConformance(SinkConnectorConformance):
    connector_class = JdbcSinkConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"connection.url": f"jdbc:sqlite:{tmp_path / 'conformance.db'}", "auto.create": "true",
                "insert.mode": "upsert", "pk.mode": "kafka"}  # fmt: skip

    def make_record(self, topic: str, partition: int, offset: int) -> SinkRecord:
        value = Struct(COUNTER, {"n": offset, "text": base64.b64encode(str(offset).encode()).decode()})
        return SinkRecord(topic, value, COUNTER, kafka_partition=partition, kafka_offset=offset)

    def record_id(self, record: Any) -> Any:
        return record.value["n"]

    def read_output(self, config: dict[str, str]) -> Collection[Any]:
        engine = sa.create_engine(config["connection.url"].replace("jdbc:sqlite:", "sqlite:///"))
        try:
            if not sa.inspect(engine).has_table(self.topic):
                return []
            with engine.connect() as connection:
                return [row[0] for row in connection.execute(sa.text(f"SELECT n FROM {self.topic}"))]
        finally:
            engine.dispose()
