"""Driving a JdbcSinkTask directly: a test context and reporter, record builders, and reading rows back."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import sqlalchemy as sa

from connectors.jdbc.sink.connector import JdbcSinkTask
from hub.sdk import ErrantRecordReporter, SinkRecord, SinkTaskContext, Struct
from hub.sdk.schema import (
    INT64_SCHEMA,
    OPTIONAL_INT32_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    struct_schema,
)
from tests.connectors.jdbc.databases import Database

ITEM = struct_schema(
    [("id", INT64_SCHEMA), ("name", OPTIONAL_STRING_SCHEMA), ("qty", OPTIONAL_INT32_SCHEMA)], name="item"
)
ITEM_KEY = struct_schema([("id", INT64_SCHEMA)], name="item_key")
#: What each database says when a NOT NULL column gets a null.
NOT_NULL_MESSAGES = {
    "sqlite": "NOT NULL constraint failed",
    "postgresql": "violates not-null constraint",
    "mysql": "cannot be null",
}


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
    return SinkRecord(
        topic,
        value,
        None if value is None else ITEM,
        key=Struct(ITEM_KEY, {"id": id}),
        key_schema=ITEM_KEY,
        kafka_partition=0,
        kafka_offset=offset,
    )


def rows(db: Database, table: str, *columns: str) -> list[tuple[Any, ...]]:
    """The rows of a table (reflected, so names are quoted as they are), ordered by the given columns."""
    reflected = sa.Table(table, sa.MetaData(), autoload_with=db.engine)
    selected = [reflected.c[name] for name in columns] if columns else list(reflected.c)
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(*selected).order_by(*selected))]


def create_items_table(db: Database, table: str, check: bool = False) -> None:
    extra = ", CHECK (qty >= 0)" if check else ""
    db.execute(f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL, qty INTEGER{extra})")
