"""Rows/s of the JDBC connectors against PostgreSQL, next to COPY through psycopg for the same rows, in one run.

Source side (a table of 10 columns, ~100 bytes of data per row):

- reference: ``COPY (SELECT * FROM t) TO STDOUT`` read through psycopg — raw bytes, and parsed into typed rows;
- JdbcSource ``bulk`` and ``incrementing``: one task polling the whole table (rows become Connect Structs);
- PostgresCdcSource snapshot (the same table), and streaming: every row updated in one statement, then read from
  the slot as change events, the slot advanced as records are acknowledged.

Sink side: JdbcSink inserting the same rows from SinkRecords (insert and upsert modes) next to ``COPY FROM``.

The ratios printed are connector rows/s ÷ COPY rows/s. Targets (the project's issue): bulk/snapshot ≥ 0.50 of
COPY, sink ≥ 0.30 of COPY FROM. The source target is checked against COPY read as rows (``copy.rows()`` with the
columns' types): that is COPY doing the connector's job, handing the program each row's values. The raw figure —
COPY's bytes counted, never split into rows or values — is printed beside it as the transfer's upper bound.

Run: ``python -m bench.jdbc [ROWS]`` (default 1,000,000); ``HUB_BENCH_POSTGRES_URL`` names a server to use
instead of starting one (postgresql://USER[:PASSWORD]@HOST:PORT/DB, wal_level=logical).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from bench.report import figure, ratio, stopwatch
from connectors.jdbc.cdc import PostgresCdcSourceConnector
from connectors.jdbc.sink import JdbcSinkConnector
from connectors.jdbc.source import JdbcSourceConnector
from hub.demo.postgres import LocalPostgres
from hub.sdk import SinkRecord, SourceConnector, SourceRecord
from hub.sdk.testing import MemoryOffsets, MemorySinkContext, MemorySourceContext
from hub.tuning import tune_garbage_collector
from tests.harness.servers import SqlServer

TABLE = "bench_rows"
COLUMNS = "id, customer_id, sku, quantity, price, discount, status, note, created_at, active"


@contextlib.contextmanager
def postgres() -> Iterator[SqlServer]:
    url = os.environ.get("HUB_BENCH_POSTGRES_URL")
    if url:
        yield SqlServer.from_url("postgresql", url)
        return
    local = LocalPostgres()
    try:
        yield local.start()
    finally:
        local.stop()


def create_table(server: SqlServer, rows: int) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
        connection.execute(
            f"CREATE TABLE {TABLE} (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, sku TEXT NOT NULL, "
            "quantity INT NOT NULL, price NUMERIC(10,2) NOT NULL, discount DOUBLE PRECISION, status TEXT NOT NULL, "
            "note TEXT, created_at TIMESTAMPTZ NOT NULL, active BOOLEAN NOT NULL)"
        )
        connection.execute(
            f"INSERT INTO {TABLE} SELECT g, g %% 10000, 'SKU-' || (g %% 5000), g %% 7 + 1, (g %% 1000) / 10.0, "
            "(g %% 30) / 100.0, (ARRAY['new','paid','shipped','done'])[g %% 4 + 1], "
            "'order note number ' || g || ' with some text', "
            "timestamptz '2024-01-01' + g * interval '1 second', g %% 2 = 0 FROM generate_series(1, %s) g",
            (rows,),
        )
        connection.execute(f"ANALYZE {TABLE}")


def copy_rates(server: SqlServer, rows: int) -> tuple[float, float]:
    """Rows/s of COPY TO STDOUT as raw bytes, and parsed into typed Python rows."""
    query = f"COPY (SELECT {COLUMNS} FROM {TABLE}) TO STDOUT"
    with psycopg.connect(server.dsn) as connection, connection.cursor() as cursor:
        with stopwatch() as elapsed, cursor.copy(query) as copy:
            size = sum(len(chunk) for chunk in copy)
        raw = rows / elapsed()
        figure("copy_to_stdout_bytes", size / rows, "bytes/row")
        with stopwatch() as elapsed, cursor.copy(query) as copy:
            copy.set_types(["int8", "int4", "text", "int4", "numeric", "float8", "text", "text", "timestamptz", "bool"])
            count = sum(1 for _ in copy.rows())
        assert count == rows
        return raw, rows / elapsed()


def drain(connector: SourceConnector, config: dict[str, str], rows: int, *, ack: bool = False) -> float:
    """Rows/s of one task polling until ``rows`` records came (acknowledging each when ``ack``)."""
    connector.start(config)
    [task_config] = connector.task_configs(1)
    task = connector.task_class()()
    offsets = MemoryOffsets()
    task.initialize(MemorySourceContext(task_config, offsets))
    task.start(task_config)
    seen = 0
    try:
        with stopwatch() as elapsed:
            while seen < rows:
                batch: Sequence[SourceRecord] = task.poll()
                if ack:
                    for record in batch:
                        task.commit_record(record, None)
                seen += len(batch)
        return seen / elapsed()
    finally:
        task.stop()
        connector.stop()


def jdbc_config(server: SqlServer, mode: str) -> dict[str, str]:
    return {
        "name": f"bench-{mode}",
        "connection.url": server.jdbc_url,
        "connection.user": server.user,
        "connection.password": server.password,
        "mode": mode,
        "incrementing.column.name": "id",
        "table.whitelist": TABLE,
        "topic.prefix": "bench-",
        "batch.max.rows": "2048",
        "table.poll.interval.ms": "0",
    }


def cdc_config(server: SqlServer) -> dict[str, str]:
    return {
        "name": "bench-cdc",
        "database.hostname": server.host,
        "database.port": str(server.port),
        "database.user": server.user,
        "database.password": server.password,
        "database.dbname": server.database,
        "topic.prefix": "bench",
        "table.include.list": f"public\\.{TABLE}",
        "slot.name": "hub_bench",
        "publication.name": "hub_bench",
        "poll.interval.ms": "10",
    }


def drop_slot(server: SqlServer) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_drop_replication_slot('hub_bench') FROM pg_replication_slots WHERE slot_name = 'hub_bench'"
        )
        connection.execute("DROP PUBLICATION IF EXISTS hub_bench")


def cdc_streaming_rate(server: SqlServer, rows: int) -> float:
    """Rows/s of change events read after every row was updated once."""
    drop_slot(server)
    connector = PostgresCdcSourceConnector()
    config = {**cdc_config(server), "snapshot.mode": "no_data"}
    connector.start(config)
    task = connector.task_class()()
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)  # creates the slot: changes from here on are captured
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute(f"UPDATE {TABLE} SET quantity = quantity + 1")
    seen = 0
    try:
        with stopwatch() as elapsed:
            while seen < rows:
                batch = task.poll()
                for record in batch:
                    task.commit_record(record, None)
                seen += len(batch)
        return seen / elapsed()
    finally:
        task.stop()
        connector.stop()
        drop_slot(server)


def source_records(server: SqlServer, rows: int) -> list[SinkRecord]:
    """The table's rows as the sink would receive them (Struct values with the table's schema)."""
    connector = JdbcSourceConnector()
    connector.start(jdbc_config(server, "bulk"))
    [config] = connector.task_configs(1)
    task = connector.task_class()()
    task.initialize(MemorySourceContext(config, MemoryOffsets()))
    task.start(config)
    out: list[SinkRecord] = []
    try:
        while len(out) < rows:
            for record in task.poll():
                out.append(
                    SinkRecord(
                        topic="bench",
                        value=record.value,
                        value_schema=record.value_schema,
                        kafka_partition=0,
                        kafka_offset=len(out),
                    )
                )
    finally:
        task.stop()
        connector.stop()
    return out[:rows]


def copy_from_rate(server: SqlServer, records: Sequence[SinkRecord]) -> float:
    """Rows/s of COPY FROM STDIN of the same rows (typed Python values, written by psycopg)."""
    with psycopg.connect(server.dsn) as connection:
        connection.execute(f"CREATE TABLE bench_copy (LIKE {TABLE})")
        with stopwatch() as elapsed:
            with connection.cursor() as cursor, cursor.copy(f"COPY bench_copy ({COLUMNS}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(record.value.raw_values())
            connection.commit()
        connection.execute("DROP TABLE bench_copy")
        connection.commit()
    return len(records) / elapsed()


def sink_rate(server: SqlServer, records: Sequence[SinkRecord], mode: str) -> float:
    """Rows/s of JdbcSink writing the records into a new table (auto.create) in ``insert.mode`` ``mode``."""
    table = f"bench_sink_{mode}"
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {table}")
    config = {
        "name": f"bench-sink-{mode}",
        "connection.url": server.jdbc_url,
        "connection.user": server.user,
        "connection.password": server.password,
        "topics": "bench",
        "table.name.format": table,
        "insert.mode": mode,
        "pk.mode": "record_value",
        "pk.fields": "id",
        "auto.create": "true",
    }
    connector = JdbcSinkConnector()
    connector.start(config)
    task = connector.task_class()()
    task.initialize(MemorySinkContext(config, {("bench", 0)}))
    task.start(config)
    task.open([("bench", 0)])
    chunk = 3000
    try:
        with stopwatch() as elapsed:
            for start in range(0, len(records), chunk):
                task.put(records[start : start + chunk])
            task.flush({("bench", 0): len(records)})
        return len(records) / elapsed()
    finally:
        task.stop()
        connector.stop()


def main(argv: list[str]) -> None:
    rows = int(argv[1]) if len(argv) > 1 else 1_000_000
    tune_garbage_collector()  # as in Hub's worker process (hub/tuning.py)
    with postgres() as server:
        figure("rows", rows, "rows")
        create_table(server, rows)
        copy_raw, copy_rows = copy_rates(server, rows)
        figure("copy_to_stdout_raw", copy_raw, "rows/s")
        figure("copy_to_stdout_typed", copy_rows, "rows/s")
        results: dict[str, Any] = {}
        for mode in ("bulk", "incrementing"):
            results[mode] = drain(JdbcSourceConnector(), jdbc_config(server, mode), rows)
            figure(f"jdbc_source_{mode}", results[mode], "rows/s")
        drop_slot(server)
        results["snapshot"] = drain(PostgresCdcSourceConnector(), cdc_config(server), rows, ack=True)
        figure("cdc_snapshot", results["snapshot"], "rows/s")
        drop_slot(server)
        results["streaming"] = cdc_streaming_rate(server, rows)
        figure("cdc_streaming", results["streaming"], "rows/s")
        for name in ("bulk", "incrementing", "snapshot"):
            ratio(f"{name}_vs_copy_typed", results[name], copy_rows, target=0.5)
            ratio(f"{name}_vs_copy_raw", results[name], copy_raw)
        ratio("streaming_vs_copy_raw", results["streaming"], copy_raw)
        records = source_records(server, rows)
        copy_from = copy_from_rate(server, records)
        figure("copy_from_stdin", copy_from, "rows/s")
        for mode in ("insert", "upsert"):
            results[f"sink_{mode}"] = sink_rate(server, records, mode)
            figure(f"jdbc_sink_{mode}", results[f"sink_{mode}"], "rows/s")
        for mode in ("insert", "upsert"):
            ratio(f"sink_{mode}_vs_copy_from", results[f"sink_{mode}"], copy_from, target=0.3)


if __name__ == "__main__":
    main(sys.argv)
