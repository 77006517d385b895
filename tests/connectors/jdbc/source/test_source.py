"""JdbcSource through the runtime against SQLite, PostgreSQL and MariaDB: every mode, resume after restart."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.jdbc.source.connector import CONFIG, JdbcSourceConnector, parse, split
from hub.log.client.errors import UnknownTopicError
from hub.sdk.errors import ConfigError
from hub.sdk.testing import MemoryOffsets, MemorySourceContext, SourceConnectorConformance
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.jdbc.databases import Database, make_database

DIALECTS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.integration),
    pytest.param("mysql", marks=pytest.mark.integration),
]


@pytest.fixture(params=DIALECTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, request.param)


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, "postgresql")


def _values(runtime: Runtime, topic: str) -> list[dict[str, Any]]:
    return [json.loads(record.value)["payload"] for record in runtime.read_topic(topic) if record.value]


def _wait_values(runtime: Runtime, topic: str, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def enough() -> bool:
        nonlocal found
        try:
            found = _values(runtime, topic)
        except UnknownTopicError:  # not created yet
            return False
        return len(found) >= count

    wait_for(enough, 60, lambda: f"{count} records in {topic}, have {len(found)}")
    return found


def _source(db: Database, table: str, **options: str) -> dict[str, str]:
    return {
        "connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector",
        **db.options,
        "table.whitelist": table,
        "topic.prefix": "db-",
        "poll.interval.ms": "100",
        **options,
    }


def _create_items(db: Database, table: str, with_timestamp: bool = False) -> None:
    stamp = ", updated_at TIMESTAMP NOT NULL" if with_timestamp else ""
    auto = {"postgresql": "SERIAL", "mysql": "INTEGER AUTO_INCREMENT", "sqlite": "INTEGER"}[db.dialect]
    db.execute(f"CREATE TABLE {table} (id {auto} PRIMARY KEY, name VARCHAR(50) NOT NULL{stamp})")


def _insert(db: Database, table: str, names: list[str], at: dt.datetime | None = None) -> None:
    for name in names:
        if at is None:
            db.execute(f"INSERT INTO {table} (name) VALUES (:name)", name=name)
        else:
            db.execute(f"INSERT INTO {table} (name, updated_at) VALUES (:name, :at)", name=name, at=at)


def test_incrementing_mode_copies_new_rows_and_resumes_after_restart(runtime: Runtime, database: Database) -> None:
    table = database.table_name("items")
    _create_items(database, table)
    _insert(database, table, ["a", "b", "c"])
    runtime.create("src", _source(database, table, mode="incrementing", **{"incrementing.column.name": "id"}))
    runtime.wait_running("src")
    topic = f"db-{table}"
    assert [v["name"] for v in _wait_values(runtime, topic, 3)] == ["a", "b", "c"]
    schema = json.loads(runtime.read_topic(topic)[0].value)["schema"]
    assert schema["name"] == table
    assert {f["field"]: f["type"] for f in schema["fields"]} == {"id": "int32", "name": "string"}
    wait_for(lambda: runtime.herder.offsets("src"), what="offsets committed")
    runtime.restart()
    _insert(database, table, ["d"])
    runtime.wait_running("src")
    values = _wait_values(runtime, topic, 4)
    assert [v["name"] for v in values] == ["a", "b", "c", "d"], "a row was copied twice or lost across the restart"
    partition = {"protocol": "1", "table": database.qualified(table)}
    stored = [{"partition": partition, "offset": {"incrementing": 4}}]
    wait_for(lambda: runtime.herder.offsets("src") == stored, what=f"offsets {stored}")


def test_sqlite_ignores_user_and_password(runtime: Runtime, tmp_path: Path) -> None:
    database = Database("sqlite", sa.create_engine(f"sqlite:///{tmp_path / 'shop.db'}"), {}, None)
    database.options["connection.url"] = f"jdbc:sqlite:{tmp_path / 'shop.db'}"
    try:
        _create_items(database, "items")
        _insert(database, "items", ["a", "b"])
        credentials = {"connection.user": "app", "connection.password": "s3cret"}
        runtime.create("src", _source(database, "items", mode="incrementing", **credentials))
        runtime.wait_running("src")
        assert [v["name"] for v in _wait_values(runtime, "db-items", 2)] == ["a", "b"]
    finally:
        database.engine.dispose()


def test_incrementing_column_is_found_when_not_named(runtime: Runtime, database: Database) -> None:
    table = database.table_name("auto")
    _create_items(database, table)
    _insert(database, table, ["x", "y"])
    runtime.create("src", _source(database, table, mode="incrementing"))
    assert [v["id"] for v in _wait_values(runtime, f"db-{table}", 2)] == [1, 2]


def test_bulk_mode_copies_the_whole_table_every_poll(runtime: Runtime, database: Database) -> None:
    table = database.table_name("bulk")
    _create_items(database, table)
    _insert(database, table, ["a", "b"])
    runtime.create("src", _source(database, table, mode="bulk", **{"poll.interval.ms": "200"}))
    values = _wait_values(runtime, f"db-{table}", 6)
    assert [v["name"] for v in values[:6]] == ["a", "b"] * 3


def test_timestamp_incrementing_mode_sees_updates(runtime: Runtime, database: Database) -> None:
    table = database.table_name("ts")
    _create_items(database, table, with_timestamp=True)
    start = dt.datetime(2024, 5, 1, 12, 0, 0, 123456)
    _insert(database, table, ["a", "b"], at=start)
    options = {
        "mode": "timestamp+incrementing",
        "incrementing.column.name": "id",
        "timestamp.column.name": "updated_at",
    }
    runtime.create("src", _source(database, table, **options))
    _wait_values(runtime, f"db-{table}", 2)
    database.execute(
        f"UPDATE {table} SET name = 'a2', updated_at = :at WHERE id = 1", at=start + dt.timedelta(seconds=1)
    )
    values = _wait_values(runtime, f"db-{table}", 3)
    assert [(v["id"], v["name"]) for v in values] == [(1, "a"), (2, "b"), (1, "a2")]
    wait_for(lambda: runtime.herder.offsets("src"), what="offsets committed")
    runtime.restart()
    runtime.wait_running("src")
    _insert(database, table, ["c"], at=start + dt.timedelta(seconds=2))
    values = _wait_values(runtime, f"db-{table}", 4)
    assert [(v["id"], v["name"]) for v in values] == [(1, "a"), (2, "b"), (1, "a2"), (3, "c")]


def _task(db: Database, table: str, offsets: MemoryOffsets, **options: str) -> Any:
    connector = JdbcSourceConnector()
    connector.start({"name": "t", **_source(db, table, **options), "table.poll.interval.ms": "0"})
    [config] = connector.task_configs(1)
    task = connector.task_class()()
    task.initialize(MemorySourceContext(config, offsets))
    task.start(config)
    return connector, task


def _poll_all(task: Any, offsets: MemoryOffsets, limit: int) -> list[Any]:
    records: list[Any] = []
    for _ in range(50):
        batch = task.poll()
        for record in batch:
            offsets.stored[json.dumps(record.source_partition, sort_keys=True, separators=(",", ":"))] = dict(
                record.source_offset
            )
        records += batch
        if len(records) >= limit:
            break
    return records


def test_timestamp_mode_does_not_skip_rows_sharing_a_timestamp_after_a_restart(database: Database) -> None:
    """The reference connector lost the rest of a group of equal timestamps when it stopped inside the group."""
    table = database.table_name("group")
    _create_items(database, table, with_timestamp=True)
    first = dt.datetime(2024, 5, 1, 12, 0, 0, 250000)
    _insert(database, table, ["a"], at=first)
    _insert(database, table, ["b", "c", "d"], at=first + dt.timedelta(microseconds=1))
    options = {"mode": "timestamp", "timestamp.column.name": "updated_at", "batch.max.rows": "2"}
    offsets = MemoryOffsets()
    connector, task = _task(database, table, offsets, **options)
    got = _poll_all(task, offsets, 2)  # stops after two rows: "a" and the first of the group
    task.stop()
    connector.stop()
    assert len(got) >= 1
    connector, task = _task(database, table, offsets, **options)
    again = _poll_all(task, offsets, 4)
    task.stop()
    connector.stop()
    seen = {record.value.get("name") for record in got + again}
    assert seen == {"a", "b", "c", "d"}, "rows sharing a timestamp were skipped"
    stored = next(iter(offsets.stored.values()))
    micros = (first + dt.timedelta(microseconds=1)).replace(tzinfo=dt.UTC)
    if database.dialect != "mysql":  # MariaDB's DATETIME keeps whole seconds unless declared DATETIME(6)
        assert stored == {"timestamp": int(micros.timestamp() * 1000), "timestamp_nanos": 250001000}


def test_query_mode_wraps_the_query_and_names_the_topic(runtime: Runtime, database: Database) -> None:
    table = database.table_name("q")
    _create_items(database, table)
    _insert(database, table, ["a", "b", "c"])
    options = {
        "mode": "incrementing",
        "incrementing.column.name": "id",
        "query": f"SELECT id, UPPER(name) AS shout FROM {table}",
        "topic.prefix": f"query-{table}",
    }
    config = _source(database, table, **options)
    del config["table.whitelist"]
    runtime.create("src", config)
    values = _wait_values(runtime, f"query-{table}", 3)
    assert [v["shout"] for v in values] == ["A", "B", "C"]


@pytest.mark.integration
def test_postgres_types_and_numeric_mapping(runtime: Runtime, postgres: Database) -> None:
    table = postgres.table_name("types")
    postgres.execute(
        f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, price NUMERIC(10,2), qty NUMERIC(5,0), ratio NUMERIC, "
        "at TIMESTAMPTZ, day DATE, tags JSONB, raw BYTEA, ok BOOLEAN, small SMALLINT, f REAL, note TEXT)",
        f"INSERT INTO {table} (price, qty, ratio, at, day, tags, raw, ok, small, f, note) VALUES "
        "(12.34, 7, 0.5, '2024-05-01 12:00:00.123456+00', '2024-05-01', '{\"a\": 1}', '\\x0102', true, 3, 1.5, 'n')",
    )
    runtime.create("none", _source(postgres, table, mode="bulk", **{"topic.prefix": "none-"}))
    runtime.create(
        "fit", _source(postgres, table, mode="bulk", **{"topic.prefix": "fit-", "numeric.mapping": "best_fit"})
    )
    [none] = _wait_values(runtime, f"none-{table}", 1)[:1]
    [fit] = _wait_values(runtime, f"fit-{table}", 1)[:1]
    schema = {f["field"]: f for f in json.loads(runtime.read_topic(f"none-{table}")[0].value)["schema"]["fields"]}
    assert schema["price"]["name"] == "org.apache.kafka.connect.data.Decimal"
    assert decimal.Decimal(int.from_bytes(base64.b64decode(none["price"]), "big", signed=True)).scaleb(-2) == (
        decimal.Decimal("12.34")
    )
    assert none["ratio"] == "0.5", "plain NUMERIC keeps its exact text without numeric.mapping"
    assert none["at"] == 1714564800123
    assert none["tags"] == '{"a":1}'
    assert base64.b64decode(none["raw"]) == b"\x01\x02"
    assert (none["ok"], none["small"], none["f"], none["note"]) == (True, 3, 1.5, "n")
    assert schema["id"]["type"] == "int64"
    assert (fit["price"], fit["qty"], fit["ratio"]) == (12.34, 7, 0.5)


def test_tables_are_spread_over_tasks_and_new_tables_are_picked_up(runtime: Runtime, database: Database) -> None:
    tables = [database.table_name("spread") for _ in range(3)]
    for table in tables[:2]:
        _create_items(database, table)
        _insert(database, table, ["row"])
    prefix = tables[0].rsplit("_", 1)[0]
    pattern = f"{database.schema}\\.{prefix}_.*" if database.schema else f"{prefix}_.*"
    config = _source(
        database,
        tables[0],
        mode="incrementing",
        **{
            "incrementing.column.name": "id",
            "table.include.list": pattern,
            "table.poll.interval.ms": "300",
            "tasks.max": "4",
        },
    )
    del config["table.whitelist"]
    runtime.create("src", config)
    runtime.wait_running("src", tasks=2)
    _create_items(database, tables[2])
    _insert(database, tables[2], ["late"])
    runtime.wait_running("src", tasks=3)
    assert [v["name"] for v in _wait_values(runtime, f"db-{tables[2]}", 1)] == ["late"]


def test_a_missing_table_or_nullable_column_fails_the_task_with_a_clear_message(
    runtime: Runtime, database: Database
) -> None:
    table = database.table_name("nullable")
    database.execute(f"CREATE TABLE {table} (id INTEGER, name VARCHAR(10))")
    runtime.create("src", _source(database, table, mode="incrementing", **{"incrementing.column.name": "id"}))
    status = runtime.wait_state("src", "FAILED")
    assert f"incrementing column id of table {database.qualified(table)} is nullable" in status["tasks"][0]["trace"]


def test_a_database_that_cannot_be_reached_fails_with_its_message(runtime: Runtime) -> None:
    """A config stored while the database answered; validation refuses one whose database does not."""
    config = {
        "connector.class": "JdbcSource",
        "connection.url": "jdbc:postgresql://127.0.0.1:1/none",
        "connection.attempts": "2",
        "connection.backoff.ms": "10",
        "mode": "bulk",
        "topic.prefix": "x-",
    }
    runtime.store("src", config)
    wait_for(lambda: runtime.herder.connector_status("src")["connector"]["state"] == "FAILED", 30, "connector FAILED")
    trace = runtime.herder.connector_status("src")["connector"]["trace"]
    assert "cannot reach the database" in trace
    assert "after 2 attempt(s)" in trace


def test_config_checks() -> None:
    base = {"connection.url": "jdbc:sqlite:x.db", "topic.prefix": "p-"}
    problems = CONFIG.errors({**base, "mode": "sometimes"})[1]
    assert "mode" in problems
    with pytest.raises(ConfigError, match=r"timestamp\.column\.name"):
        parse({**base, "mode": "timestamp"})
    with pytest.raises(ConfigError, match="cannot be combined"):
        parse({**base, "mode": "bulk", "table.whitelist": "a", "table.include.list": "b.*"})
    problems = CONFIG.errors({**base, "mode": "bulk", "query.suffix": "LIMIT 1"})[1]
    assert "a custom query can carry its own LIMIT" in str(problems["query.suffix"])


def test_split_keeps_groups_contiguous_and_even() -> None:
    assert split(["a", "b", "c", "d", "e"], 2) == [["a", "b", "c"], ["d", "e"]]
    assert split(["a"], 1) == [["a"]]


class TestJdbcSourceConformance(SourceConnectorConformance):
    connector_class = JdbcSourceConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        path = tmp_path / "conformance.db"
        if not path.exists():
            import sqlite3

            with sqlite3.connect(path) as connection:
                connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        return {
            "connection.url": f"jdbc:sqlite:{path}",
            "mode": "incrementing",
            "table.whitelist": "events",
            "topic.prefix": "c-",
            "poll.interval.ms": "50",
            "table.poll.interval.ms": "0",
        }

    def add_input(self, config: dict[str, str], count: int) -> None:
        import sqlite3

        path = config["connection.url"].removeprefix("jdbc:sqlite:")
        with sqlite3.connect(path) as connection:
            start = connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
            connection.executemany("INSERT INTO events (body) VALUES (?)", [(f"e{start + i}",) for i in range(count)])

    def record_id(self, record: Any) -> Any:
        return record.value.get("body")
