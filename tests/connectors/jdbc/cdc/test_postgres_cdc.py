"""PostgresCdcSource against a real PostgreSQL 15: snapshot, streaming, deletes, restarts, slot lifecycle."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from connectors.jdbc.cdc.config import CONFIG
from connectors.jdbc.cdc.connector import PostgresCdcSourceConnector
from hub.log.client.errors import UnknownTopicError
from hub.sdk import SourceRecord
from hub.sdk.testing import MemoryOffsets, MemorySourceContext, SourceConnectorConformance
from tests.connectors.conftest import Runtime, wait_for
from tests.harness.servers import SqlServer

pytestmark = pytest.mark.integration

_ids = itertools.count()


@dataclass
class Capture:
    """A table to capture, and a slot and publication of its own."""

    server: SqlServer
    table: str
    slot: str
    publication: str

    def sql(self, *statements: str, params: tuple[Any, ...] = ()) -> None:
        with psycopg.connect(self.server.dsn, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement.replace("{t}", self.table), params or None)

    def config(self, **options: str) -> dict[str, str]:
        server = self.server
        return {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": server.host,
            "database.port": str(server.port),
            "database.user": server.user,
            "database.password": server.password,
            "database.dbname": server.database,
            "topic.prefix": "shop",
            "table.include.list": f"public\\.{self.table}",
            "slot.name": self.slot,
            "publication.name": self.publication,
            "poll.interval.ms": "100",
            **options,
        }

    @property
    def topic(self) -> str:
        return f"shop.public.{self.table}"

    def slot_exists(self) -> bool:
        with psycopg.connect(self.server.dsn) as connection:
            query = "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s"
            return connection.execute(query, (self.slot,)).fetchone() is not None

    def publication_exists(self) -> bool:
        with psycopg.connect(self.server.dsn) as connection:
            query = "SELECT 1 FROM pg_publication WHERE pubname = %s"
            return connection.execute(query, (self.publication,)).fetchone() is not None


def new_capture(server: SqlServer) -> Capture:
    suffix = f"{os.getpid()}_{next(_ids)}"
    return Capture(server, f"cdc_orders_{suffix}", f"hub_slot_{suffix}", f"hub_pub_{suffix}")


def drop(capture: Capture) -> None:
    with psycopg.connect(capture.server.dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s AND NOT active",
            (capture.slot,),
        )
        connection.execute(f"DROP PUBLICATION IF EXISTS {capture.publication}")


@pytest.fixture
def capture(postgres_server: SqlServer) -> Iterator[Capture]:
    made = new_capture(postgres_server)
    made.sql("CREATE TABLE {t} (id SERIAL PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2))")
    yield made
    drop(made)


def events(runtime: Runtime, topic: str, count: int) -> list[tuple[Any, Any]]:
    """(key payload, value payload) of the first ``count`` records, waiting for them."""
    found: list[tuple[Any, Any]] = []

    def enough() -> bool:
        nonlocal found
        try:
            records = runtime.read_topic(topic)
        except UnknownTopicError:
            return False
        found = [
            (json.loads(r.key)["payload"] if r.key else None, json.loads(r.value)["payload"] if r.value else None)
            for r in records
        ]
        return len(found) >= count

    wait_for(enough, 60, lambda: f"{count} events in {topic}; have {found}")
    return found


def test_snapshot_then_inserts_updates_and_deletes(runtime: Runtime, capture: Capture) -> None:
    capture.sql("INSERT INTO {t} (name, price) VALUES ('a', 1.50), ('b', 2.25)")
    runtime.create("cdc", capture.config())
    runtime.wait_running("cdc")
    snapshot = events(runtime, capture.topic, 2)
    assert [(key, value["op"], value["after"]["name"]) for key, value in snapshot] == [
        ({"id": 1}, "r", "a"),
        ({"id": 2}, "r", "b"),
    ]
    assert snapshot[-1][1]["source"]["snapshot"] == "last"
    capture.sql(
        "INSERT INTO {t} (name) VALUES ('c')",
        "UPDATE {t} SET name = 'a2' WHERE id = 1",
        "DELETE FROM {t} WHERE id = 2",
    )
    stream = events(runtime, capture.topic, 6)[2:]
    assert [(key, value and value["op"]) for key, value in stream] == [
        ({"id": 3}, "c"),
        ({"id": 1}, "u"),
        ({"id": 2}, "d"),
        ({"id": 2}, None),  # the tombstone
    ]
    _, update = stream[1]
    assert update["after"]["name"] == "a2"
    _, delete = stream[2]
    assert delete["before"]["id"] == 2
    assert delete["after"] is None
    assert delete["source"]["table"] == capture.table
    assert delete["source"]["lsn"] > 0
    assert delete["source"]["txId"] > 0


def test_restart_mid_stream_loses_nothing_and_repeats_nothing(runtime: Runtime, capture: Capture) -> None:
    runtime.create("cdc", capture.config())
    runtime.wait_running("cdc")
    capture.sql("INSERT INTO {t} (name) VALUES ('a'), ('b')")
    events(runtime, capture.topic, 2)
    wait_for(lambda: runtime.herder.offsets("cdc"), what="offsets committed")
    runtime.restart()
    capture.sql("INSERT INTO {t} (name) VALUES ('c')")
    runtime.wait_running("cdc")
    capture.sql("INSERT INTO {t} (name) VALUES ('d')")
    got = events(runtime, capture.topic, 4)
    assert [value["after"]["name"] for _, value in got] == ["a", "b", "c", "d"]


def test_deleting_the_connector_drops_its_slot_and_publication(runtime: Runtime, capture: Capture) -> None:
    runtime.create("cdc", capture.config())
    runtime.wait_running("cdc")
    wait_for(capture.slot_exists, what="the slot")
    assert capture.publication_exists()
    runtime.herder.delete_connector("cdc")
    wait_for(lambda: not capture.slot_exists(), what="the slot dropped")
    wait_for(lambda: not capture.publication_exists(), what="the publication dropped")


def test_table_without_primary_key_has_no_key_and_needs_full_identity(
    runtime: Runtime, postgres_server: SqlServer
) -> None:
    capture = new_capture(postgres_server)
    capture.sql("CREATE TABLE {t} (name TEXT, qty INT)", "ALTER TABLE {t} REPLICA IDENTITY FULL")
    try:
        runtime.create("cdc", capture.config())
        runtime.wait_running("cdc")
        capture.sql("INSERT INTO {t} VALUES ('x', 1)", "UPDATE {t} SET qty = 2", "DELETE FROM {t}")
        got = events(runtime, capture.topic, 4)
        assert [(key, value and value["op"]) for key, value in got] == [
            (None, "c"),
            (None, "u"),
            (None, "d"),
            (None, None),
        ]
        assert got[1][1]["before"] == {"name": "x", "qty": 1}
        assert got[2][1]["before"] == {"name": "x", "qty": 2}
    finally:
        runtime.herder.delete_connector("cdc")
        drop(capture)


def test_unwrap_turns_events_into_rows_and_deletes_into_tombstones(runtime: Runtime, capture: Capture) -> None:
    unwrap = {
        "transforms": "unwrap",
        "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        "transforms.unwrap.add.fields": "op,source.ts_ms",
    }
    runtime.create("cdc", capture.config(**unwrap))
    runtime.wait_running("cdc")
    capture.sql("INSERT INTO {t} (name, price) VALUES ('a', 3.00)", "DELETE FROM {t} WHERE id = 1")
    got = events(runtime, capture.topic, 2)
    assert got[0][0] == {"id": 1}
    assert {k: got[0][1][k] for k in ("id", "name", "__op")} == {"id": 1, "name": "a", "__op": "c"}
    assert got[0][1]["__source_ts_ms"] > 0
    assert got[1] == ({"id": 1}, None)


def test_an_idle_table_does_not_pin_wal(runtime: Runtime, capture: Capture) -> None:
    runtime.create("cdc", capture.config(**{"heartbeat.interval.ms": "200"}))
    runtime.wait_running("cdc")
    wait_for(capture.slot_exists, what="the slot")

    def confirmed() -> int:
        with psycopg.connect(capture.server.dsn) as connection:
            row = connection.execute(
                "SELECT confirmed_flush_lsn - '0/0'::pg_lsn FROM pg_replication_slots WHERE slot_name = %s",
                (capture.slot,),
            ).fetchone()
            return int(row[0]) if row else 0

    before = confirmed()
    capture.sql("CREATE TABLE IF NOT EXISTS other_{t} (x INT)", "INSERT INTO other_{t} SELECT generate_series(1, 1000)")
    wait_for(lambda: confirmed() > before, what="the slot to move past changes of other tables")
    heartbeats = events(runtime, "__debezium-heartbeat.shop", 1)
    assert heartbeats[0][0] == {"serverName": "shop"}


def test_bad_options_are_named() -> None:
    base = {"database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "p"}
    problems = CONFIG.errors({**base, "plugin.name": "decoderbufs", "column.include.list": "a"})[1]
    assert set(problems) == {"plugin.name", "column.include.list"}


def test_a_database_that_refuses_fails_the_task_with_its_message(runtime: Runtime, capture: Capture) -> None:
    runtime.store("cdc", capture.config(**{"database.password": "wrong", "database.user": "nobody"}))  # user dropped
    status = runtime.wait_state("cdc", "FAILED")
    assert "cannot connect to PostgreSQL" in status["tasks"][0]["trace"]
    assert "nobody" in status["tasks"][0]["trace"]


class TestPostgresCdcConformance(SourceConnectorConformance):
    connector_class = PostgresCdcSourceConnector

    @pytest.fixture(autouse=True)
    def _capture(self, postgres_server: SqlServer) -> Iterator[None]:
        self.capture = new_capture(postgres_server)
        self.capture.sql("CREATE TABLE {t} (id SERIAL PRIMARY KEY, body TEXT)")
        yield
        drop(self.capture)

    def config(self, tmp_path: Path) -> dict[str, str]:
        config = self.capture.config()
        del config["connector.class"]
        return config

    def add_input(self, config: dict[str, str], count: int) -> None:
        self.capture.sql(f"INSERT INTO {{t}} (body) SELECT 'row' FROM generate_series(1, {count})")

    def record_id(self, record: Any) -> Any:
        return record.value.get("after").get("id")

    def repeatable_after_crash(
        self, committed: Sequence[SourceRecord], in_flight: Sequence[SourceRecord]
    ) -> list[SourceRecord]:
        """A transaction cut by a crash is read again whole (docs/connectors/postgres-cdc.md)."""
        cut = {record.source_offset.get("lsn_commit") for record in in_flight}
        return [record for record in committed if record.source_offset.get("lsn_commit") in cut]


def test_schema_changes_flow_into_the_events(runtime: Runtime, capture: Capture) -> None:
    runtime.create("cdc", capture.config())
    runtime.wait_running("cdc")
    capture.sql(
        "INSERT INTO {t} (name) VALUES ('before')",
        "ALTER TABLE {t} ADD COLUMN color TEXT",
        "INSERT INTO {t} (name, color) VALUES ('added', 'red')",
        "ALTER TABLE {t} RENAME COLUMN color TO colour",
        "INSERT INTO {t} (name, colour) VALUES ('renamed', 'blue')",
        "ALTER TABLE {t} DROP COLUMN price",
        "INSERT INTO {t} (name) VALUES ('dropped')",
    )
    rows = [value["after"] for _, value in events(runtime, capture.topic, 4)]
    assert rows[0] == {"id": 1, "name": "before", "price": None}
    assert rows[1] == {"id": 2, "name": "added", "price": None, "color": "red"}
    assert rows[2] == {"id": 3, "name": "renamed", "price": None, "colour": "blue"}
    assert rows[3] == {"id": 4, "name": "dropped", "colour": None}


def test_progress_shows_the_snapshot_then_the_wal_lag(runtime: Runtime, capture: Capture) -> None:
    capture.sql("INSERT INTO {t} (name) SELECT 'n' || g FROM generate_series(1, 3000) g", f"ANALYZE {capture.table}")
    config = {**capture.config(), "max.batch.size": "1000"}
    del config["connector.class"]
    connector = PostgresCdcSourceConnector()
    connector.start(config)
    task = connector.task_class()()
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)
    try:
        assert len(task.poll()) == 1000
        assert task.progress() == {
            "phase": "snapshot",
            "table": f"public.{capture.table}",
            "done": 1000,
            "total": 3000,
            "unit": "rows",
        }
    finally:
        task.stop()
    runtime.create("cdc", capture.config())
    runtime.wait_running("cdc")
    events(runtime, capture.topic, 3000)

    def streaming() -> dict[str, Any] | None:
        progress = runtime.herder.connector_status("cdc")["tasks"][0].get("progress")
        return progress if progress and progress.get("phase") == "streaming" else None

    wait_for(streaming, 30, "streaming progress in the status")
    progress = streaming()
    assert progress is not None
    assert progress["records"] >= 3000
    assert progress["lag_bytes"] >= 0
