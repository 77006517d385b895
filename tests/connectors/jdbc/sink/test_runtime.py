"""JdbcSink through the runtime (JSON records, dead-letter queue, failures, credentials); the conformance suite."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.jdbc.sink.connector import JdbcSinkConnector
from hub.runtime.converters.json import JsonConverter
from hub.sdk import Schema, SinkRecord, Struct
from hub.sdk.errors import ConfigError
from hub.sdk.schema import (
    INT64_SCHEMA,
    STRING_SCHEMA,
    struct_schema,
)
from hub.sdk.testing import SinkConnectorConformance
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.jdbc.databases import Database
from tests.connectors.jdbc.sink.sink_tasks import (
    ITEM,
    ITEM_KEY,
    NOT_NULL_MESSAGES,
    create_items_table,
    rows,
    sink_config,
)

# --- through the runtime -----------------------------------------------------------------------------------------

_JSON = JsonConverter()


def produce(runtime: Runtime, topic: str, records: list[tuple[Schema | None, Any, Schema, Any]]) -> None:
    """Sends (key schema, key, value schema, value) as JSON with schemas, as the worker's converters read them."""
    runtime.produce(
        topic, [(_JSON.from_connect(topic, ks, k), _JSON.from_connect(topic, vs, v)) for ks, k, vs, v in records]
    )


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
    produce(
        runtime,
        topic,
        [(ITEM_KEY, Struct(ITEM_KEY, {"id": i}), ITEM, Struct(ITEM, {"id": i, "name": f"n{i}"})) for i in range(20)],
    )
    runtime.create(
        "jdbc-sink",
        connector_config(
            database, topic, auto_create="true", insert_mode="upsert", pk_mode="record_key", delete_enabled="true"
        ),
    )
    runtime.wait_running("jdbc-sink")
    assert wait_rows(database, topic, 20) == [(i, f"n{i}", None) for i in range(20)]
    runtime.produce(topic, [(_JSON.from_connect(topic, ITEM_KEY, Struct(ITEM_KEY, {"id": 0})), None)])
    wait_for(lambda: len(rows(database, topic)) == 19, what="the tombstone's row deleted")
    wait_for(lambda: runtime.herder.connector_status("jdbc-sink")["tasks"][0]["state"] == "RUNNING")


@pytest.mark.integration
def test_runtime_sends_bad_records_to_the_dead_letter_queue(runtime: Runtime, postgres: Database) -> None:
    topic = postgres.table_name("sink_tolerant")
    create_items_table(postgres, topic)
    produce(
        runtime, topic, [(None, None, ITEM, Struct(ITEM, {"id": i, "name": None if i == 2 else "x"})) for i in range(5)]
    )
    runtime.create(
        "tolerant",
        connector_config(
            postgres,
            topic,
            **{
                "errors.tolerance": "all",
                "errors.deadletterqueue.topic.name": f"dlq-{topic}",
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true",
            },
        ),
    )
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
    config = {
        "connector.class": "JdbcSink",
        "topics": "t",
        "connection.url": f"jdbc:sqlite:{tmp_path / 'x.db'}",
        "delete.enabled": "true",
    }
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
    runtime.create(
        "sqlite-credentials", connector_config(database, "credentials_table", auto_create="true", **credentials)
    )
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
        return {
            "connection.url": f"jdbc:sqlite:{tmp_path / 'conformance.db'}",
            "auto.create": "true",
            "insert.mode": "upsert",
            "pk.mode": "kafka",
        }

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
