"""A PostgreSQL table into a search index: Hub (CDC source → ElasticsearchSink) against PGSync and against the
physical reference, on the same servers in the same run.

The table has 10 columns and about 300 bytes per row (``copy_bytes_per_row`` prints the size COPY gives). Hub and
PGSync each get their own copy of it, loaded the same way, and each writes to a fresh index; indices are deleted
after each phase so every phase starts from the same server state. ``bench/sync_tools.py`` starts and configures
the two tools.

- **Initial sync**: rows/s from an empty index until the index holds every row. Hub runs as ``hub start`` (embedded
  store, REST API; JsonConverter with schemas, its default) with a PostgresCdcSource (pgoutput slot, the unwrap
  transform) and an ElasticsearchSink (``behavior.on.null.values=delete``, ids from the record key), created
  through the REST API; the clock runs from the source's creation until the sink has committed the offset of the
  last snapshot record (it commits only past documents the server acknowledged; the worker flushes offsets every
  second), then the index is counted to check. PGSync (``pgsync`` from PyPI, in its own virtual environment under
  ``.bench/``, with a throwaway ``redis-server``) runs as its README says: ``bootstrap`` (timed apart), then
  ``pgsync`` — the clock covers that process from start to exit (its daemon mode runs the same initial pass
  first, then listens).
- **Streaming**: 1 row in 20 (50,000 of 1,000,000), chosen at random, is updated once, one transaction per row,
  as fast as one pipelined connection can; each update writes the database's ``clock_timestamp()`` in
  microseconds into ``updated_us``. A watcher reads the updated ids back with ``mget`` (real time: no refresh), in
  update order, at most 2,000 ids not yet seen per request and only ids already sent, re-asking at once while it
  finds new values and every 50 ms otherwise; a change's latency is the time the watcher first saw its new value
  minus its ``updated_us``. ``*_streaming_total`` runs from the first update until every change was seen. PGSync
  streams in daemon mode (triggers, NOTIFY, Redis). Before the clock starts, one extra update must show up in
  the index, so each pipeline is known to be live.
- **Physical reference**: ``COPY (SELECT id, json_build_object(...)) TO STDOUT`` — the documents Hub writes,
  built by PostgreSQL — fed to the elasticsearch client's ``helpers.parallel_bulk`` (2,000 per request, 5
  threads: the sink's defaults) into an index with the mappings Hub created; then the changed documents of the
  streaming phase written the same way (``reference_streaming_total``: what the server needs for them).

Ratios: ``initial_hub_vs_pgsync`` (target ≥ 2.0) and ``initial_hub_vs_reference`` (target ≥ 0.8) are rows/s
over rows/s; ``streaming_pgsync_vs_hub`` is PGSync's total streaming time over Hub's (target ≥ 10, i.e. Hub's
time ≤ 1/10 of PGSync's); ``streaming_reference_vs_hub`` is the reference's time over Hub's (1.0: Hub at the
server's pace); ``cpu_hub_vs_pgsync`` is CPU-seconds over CPU-seconds during the initial sync (``*_cpu_per_1000``:
``hub start`` and every process below it; ``pgsync`` with its children, and ``redis-server``; no target here, the
nested case has one). When PGSync cannot run, its figures print as unavailable with the reason.

Both tools get a 60 s request timeout (Hub's ``read.timeout.ms``, PGSync's ``ELASTICSEARCH_TIMEOUT``): with the
sink's default of 3 s, noida-db's bulk requests time out on a busy 2-core machine and the retries keep it busier.

Servers: the harness's PostgreSQL 15 and its Elasticsearch-API server (noida-db); ``HUB_BENCH_SEARCH=opensearch``
uses the harness's OpenSearch-API server (osmem-server) instead, ``HUB_BENCH_SEARCH_URL`` a running server of that
kind, ``HUB_BENCH_POSTGRES_URL`` a running PostgreSQL (wal_level=logical, a superuser). noida-db's cost of
overwriting a document grows with the index (docs/benchmarks.md), so at large sizes the streaming phase measures it.

Run: ``python -m bench.db_to_search --nested ROWS`` for the nested case (bench/db_to_search_nested.py), or
``python -m bench.db_to_search [ROWS [UPDATES]]`` (default 1,000,000 rows, UPDATES ROWS/20; 0 measures the
initial sync only). ``HUB_BENCH_SCHEMALESS=1`` adds a Hub initial sync with JsonConverter's
``schemas.enable=false`` (and ``decimal.format=NUMERIC``), printed as ``hub_initial_sync_rate_schemaless``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from elasticsearch import Elasticsearch, helpers

from bench.jdbc import postgres
from bench.report import figure, ratio, stopwatch
from bench.sync_tools import (
    HUB_TABLE,
    PGSYNC_INDEX,
    PGSYNC_TABLE,
    REQUEST_TIMEOUT_S,
    HubRun,
    PgsyncRun,
    PgsyncUnavailableError,
    SearchServer,
    cpu_seconds,
)
from hub.demo.search import LocalSearch
from tests.harness.search import LocalOpenSearch
from tests.harness.servers import SqlServer

REFERENCE_INDEX = "bench-reference"
WATCH_WINDOW = 2000
WATCH_IDLE_S = 0.05
UPDATE_CHUNK = 500


# ---------------------------------------------------------------------------------------------------------------
# Servers and data


@contextlib.contextmanager
def search_server() -> Iterator[SearchServer]:
    kind = os.environ.get("HUB_BENCH_SEARCH", "elasticsearch")
    url = os.environ.get("HUB_BENCH_SEARCH_URL")
    if url:
        yield SearchServer(url, kind)
        return
    local = LocalOpenSearch() if kind == "opensearch" else LocalSearch()
    try:
        yield SearchServer(local.start().url, kind)
    finally:
        local.stop()


class SearchApi:
    """The bench's own reads and index housekeeping, over plain HTTP (the same for both server kinds)."""

    def __init__(self, server: SearchServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=REQUEST_TIMEOUT_S * 5)

    def count(self, index: str) -> int:
        """Documents in ``index`` after a refresh (call rarely: refreshes are slow on noida-db)."""
        self.http.post(f"/{index}/_refresh").raise_for_status()
        response = self.http.get(f"/{index}/_count")
        response.raise_for_status()
        return int(response.json()["count"])

    def stamps(self, index: str, ids: Sequence[int]) -> list[int]:
        """``updated_us`` of each document (0 when absent), read in real time with one ``mget``."""
        response = self.http.post(
            f"/{index}/_mget", params={"_source_includes": "updated_us"}, json={"ids": [str(n) for n in ids]}
        )
        response.raise_for_status()
        return [int((doc.get("_source") or {}).get("updated_us") or 0) for doc in response.json()["docs"]]

    def document(self, index: str, doc_id: int) -> dict[str, Any]:
        response = self.http.get(f"/{index}/_doc/{doc_id}")
        response.raise_for_status()
        return dict(response.json()["_source"])

    def mappings(self, index: str) -> dict[str, Any]:
        response = self.http.get(f"/{index}/_mapping")
        response.raise_for_status()
        return dict(response.json()[index]["mappings"])

    def create(self, index: str, mappings: dict[str, Any]) -> None:
        self.http.put(f"/{index}", json={"mappings": mappings}).raise_for_status()

    def drop(self, index: str) -> None:
        response = self.http.delete(f"/{index}")
        if response.status_code not in (200, 404):
            response.raise_for_status()

    def bulk_client(self) -> tuple[Any, Callable[..., Iterable[tuple[bool, Any]]]]:
        """The server's official client and its ``helpers.parallel_bulk``."""
        if self.server.kind == "opensearch":
            from opensearchpy import OpenSearch
            from opensearchpy import helpers as opensearch_helpers

            return OpenSearch(self.server.url, timeout=REQUEST_TIMEOUT_S), opensearch_helpers.parallel_bulk
        return Elasticsearch(self.server.url, request_timeout=REQUEST_TIMEOUT_S), helpers.parallel_bulk


def create_table(server: SqlServer, table: str, rows: int) -> None:
    """``rows`` rows of 10 columns, ~300 bytes each; ``updated_us`` is 0 until a row is updated."""
    with psycopg.connect(server.dsn, autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {table}")
        connection.execute(
            f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, customer_id INT NOT NULL, email TEXT NOT NULL, "
            "status TEXT NOT NULL, quantity INT NOT NULL, price NUMERIC(10,2) NOT NULL, discount DOUBLE PRECISION, "
            "note TEXT, created_at TIMESTAMPTZ NOT NULL, updated_us BIGINT NOT NULL)"
        )
        connection.execute(
            f"INSERT INTO {table} SELECT g, g %% 10000, 'customer' || (g %% 10000) || '@example.com', "
            "(ARRAY['new','paid','shipped','done'])[g %% 4 + 1], g %% 7 + 1, (g %% 100000) / 100.0, "
            "(g %% 30) / 100.0, 'order ' || g || ' ' || repeat(md5(g::text), 6), "
            "timestamptz '2024-01-01' + g * interval '1 second', 0 FROM generate_series(1, %s) g",
            (rows,),
        )
        connection.execute(f"VACUUM ANALYZE {table}")


def copy_bytes_per_row(server: SqlServer, table: str, rows: int) -> float:
    query = f"COPY {table} TO STDOUT"
    with psycopg.connect(server.dsn) as connection, connection.cursor() as cursor, cursor.copy(query) as copy:
        return sum(len(chunk) for chunk in copy) / rows


# ---------------------------------------------------------------------------------------------------------------
# Streaming: updates in the database, a watcher on the index


@dataclass
class Updater:
    """Updates ``ids`` one transaction each (pipelined), stamping ``updated_us``; ``sent`` counts ids sent so far."""

    dsn: str
    table: str
    ids: Sequence[int]
    sent: int = 0
    began: float = 0.0
    ended: float = 0.0
    error: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="updater", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        statement = (
            f"UPDATE {self.table} SET quantity = quantity + 1, "
            "updated_us = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint WHERE id = %s"
        )
        try:
            with psycopg.connect(self.dsn, autocommit=True) as connection:
                self.began = time.time()
                for start in range(0, len(self.ids), UPDATE_CHUNK):
                    chunk = self.ids[start : start + UPDATE_CHUNK]
                    self.sent = start + len(chunk)  # sent, maybe not committed: only narrows what is polled
                    with connection.pipeline() as pipeline, connection.cursor() as cursor:
                        for row_id in chunk:
                            cursor.execute(statement, (row_id,))
                            pipeline.sync()  # ends the statement's own transaction
                self.ended = time.time()
        except BaseException as error:  # reported by the watcher's thread
            self.error = error


def watch(api: SearchApi, index: str, updater: Updater, timeout_s: float) -> tuple[list[float], float]:
    """Latencies (s) of every update, and the time the last one was seen; see the module docstring for how."""
    ids = updater.ids
    pending = dict.fromkeys(range(len(ids)))  # positions in update order, oldest first
    latencies: list[float] = []
    last_seen = 0.0
    deadline = time.monotonic() + timeout_s
    while pending:
        if updater.error is not None:
            raise RuntimeError(f"updating the table failed: {updater.error}") from updater.error
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} of {len(ids)} updates not in {index} after {timeout_s:.0f} s")
        window = list(itertools.islice(itertools.takewhile(updater.sent.__gt__, pending), WATCH_WINDOW))
        if not window:
            time.sleep(0.005)
            continue
        stamps = api.stamps(index, [ids[p] for p in window])
        now = time.time()
        seen = 0
        for position, stamp in zip(window, stamps, strict=True):
            if stamp:
                latencies.append(now - stamp / 1e6)
                del pending[position]
                seen += 1
        if seen:
            last_seen = now
        if seen < len(window):
            time.sleep(WATCH_IDLE_S)
    return latencies, last_seen


def await_live(dsn: str, table: str, api: SearchApi, index: str, row_id: int, timeout_s: float) -> None:
    """Update one row and wait until the index shows it: the change pipeline is running."""
    probe = Updater(dsn, table, [row_id])
    probe.start()
    watch(api, index, probe, timeout_s)


def stream(server: SqlServer, table: str, api: SearchApi, index: str, ids: Sequence[int]) -> dict[str, float]:
    """Apply the updates and time them into the index: p50, p99, total and the time the database took."""
    updater = Updater(server.dsn, table, ids)
    updater.start()
    latencies, last_seen = watch(api, index, updater, timeout_s=3600)
    updater.thread.join()
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "total": last_seen - updater.began,
        "apply": updater.ended - updater.began,
    }


def print_streaming(name: str, result: dict[str, float], updates: int) -> None:
    figure(f"{name}_streaming_p50", result["p50"] * 1000, "ms")
    figure(f"{name}_streaming_p99", result["p99"] * 1000, "ms")
    figure(f"{name}_streaming_total", result["total"], "s")
    figure(f"{name}_streaming_rate", updates / result["total"], "changes/s")
    figure(f"{name}_streaming_apply", result["apply"], "s")


# ---------------------------------------------------------------------------------------------------------------
# The physical reference

DOCUMENT_SQL = (
    "json_build_object('id', id, 'customer_id', customer_id, 'email', email, 'status', status, 'quantity', {quantity}, "
    "'price', price::float8, 'discount', discount, 'note', note, "
    "'created_at', (extract(epoch FROM created_at) * 1000)::bigint, 'updated_us', {updated_us})::text"
)


def documents(server: SqlServer, query: str) -> Iterator[tuple[int, str]]:
    """``(id, JSON document)`` rows of a ``COPY (SELECT id, document …) TO STDOUT``."""
    copy_sql = f"COPY ({query}) TO STDOUT (FORMAT BINARY)"
    with psycopg.connect(server.dsn) as connection, connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
        copy.set_types(["int8", "text"])
        yield from copy.rows()


def bulk_seconds(api: SearchApi, rows: Iterable[tuple[int, str]]) -> float:
    """Seconds to send ``rows`` with ``parallel_bulk`` (the sink's batch size and concurrency) until acknowledged."""
    client, parallel_bulk = api.bulk_client()
    actions = ({"_index": REFERENCE_INDEX, "_id": str(row_id), "_source": doc} for row_id, doc in rows)
    with stopwatch() as elapsed:
        for ok, item in parallel_bulk(client, actions, chunk_size=2000, thread_count=5):
            if not ok:
                raise RuntimeError(f"reference indexing failed: {item}")
        return elapsed()


def reference_phase(
    server: SqlServer, api: SearchApi, rows: int, ids: Sequence[int], mappings: dict[str, Any]
) -> tuple[float, float, dict[str, Any]]:
    """Seconds of the initial copy (COPY streamed into bulk requests), of writing the changed documents directly
    (0 without ``ids``), and one document to compare with Hub's."""
    api.create(REFERENCE_INDEX, mappings)
    try:
        document = DOCUMENT_SQL.format(quantity="quantity", updated_us="updated_us")
        initial = bulk_seconds(api, documents(server, f"SELECT id, {document} FROM {PGSYNC_TABLE}"))
        if api.count(REFERENCE_INDEX) != rows:
            raise RuntimeError("the reference index is missing documents")
        sample = api.document(REFERENCE_INDEX, rows)
        if not ids:
            return initial, 0.0, sample
        changed = DOCUMENT_SQL.format(quantity="quantity + 1", updated_us="1")
        id_list = ",".join(map(str, ids))
        changes = list(documents(server, f"SELECT id, {changed} FROM {PGSYNC_TABLE} WHERE id IN ({id_list})"))
        return initial, bulk_seconds(api, changes), sample
    finally:
        api.drop(REFERENCE_INDEX)


# ---------------------------------------------------------------------------------------------------------------
# Phases


def hub_phase(
    server: SqlServer, api: SearchApi, rows: int, ids: Sequence[int], *, schemas: bool = True
) -> tuple[float, dict[str, float], dict[str, Any], dict[str, Any]]:
    """Hub's initial sync seconds, its streaming result (none without ``ids``), its index mappings and one
    document (taken before streaming); ``cpu`` gets the CPU-seconds ``hub start`` spent on the initial sync."""
    with tempfile.TemporaryDirectory(prefix="db-to-search-hub-") as directory:
        hub = HubRun(server, api.server, Path(directory), schemas=schemas)
        try:
            hub.start()
            assert hub.process is not None
            assert hub.process.process is not None
            pid = hub.process.process.pid
            cpu_before = cpu_seconds([pid])
            seconds = hub.initial_sync(rows)
            CPU["hub" if schemas else "hub_schemaless"] = cpu_seconds([pid]) - cpu_before
            indexed = api.count(hub.index)
            if indexed != rows:
                raise RuntimeError(f"Hub's index holds {indexed} documents, not {rows}")
            mappings = api.mappings(hub.index)
            sample = api.document(hub.index, rows)
            if not ids:
                return seconds, {}, mappings, sample
            await_live(server.dsn, HUB_TABLE, api, hub.index, rows, timeout_s=600)
            return seconds, stream(server, HUB_TABLE, api, hub.index, ids), mappings, sample
        except Exception:
            if hub.process is not None:
                print(f"# hub start log:\n{hub.process.log_tail(40)}", file=sys.stderr)
            raise
        finally:
            hub.stop()
            api.drop(hub.index)


def pgsync_phase(
    server: SqlServer, api: SearchApi, rows: int, ids: Sequence[int]
) -> tuple[float, float, dict[str, float]]:
    """PGSync's bootstrap seconds, initial sync seconds and streaming result (none without ``ids``)."""
    with tempfile.TemporaryDirectory(prefix="db-to-search-pgsync-") as directory:
        pgsync = PgsyncRun(server, api.server, Path(directory))
        try:
            pgsync.start()
            with stopwatch() as elapsed:
                pgsync.run("bootstrap")
            bootstrap = elapsed()
            assert pgsync.redis is not None
            assert pgsync.redis.process is not None
            redis_before = cpu_seconds([pgsync.redis.process.pid])
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            with stopwatch() as elapsed:
                pgsync.run("pgsync")
            seconds = elapsed()
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            own = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
            CPU["pgsync"] = own + cpu_seconds([pgsync.redis.process.pid]) - redis_before
            indexed = api.count(PGSYNC_INDEX)
            if indexed != rows:
                raise RuntimeError(f"PGSync's index holds {indexed} documents, not {rows}")
            if not ids:
                return bootstrap, seconds, {}
            pgsync.start_daemon()
            await_live(server.dsn, PGSYNC_TABLE, api, PGSYNC_INDEX, rows, timeout_s=600)
            return bootstrap, seconds, stream(server, PGSYNC_TABLE, api, PGSYNC_INDEX, ids)
        except Exception:
            if pgsync.daemon is not None:
                print(f"# pgsync daemon log:\n{pgsync.daemon.log_tail(40)}", file=sys.stderr)
            raise
        finally:
            pgsync.stop()
            api.drop(PGSYNC_INDEX)


#: CPU-seconds of each tool's own processes during its initial sync (``hub start`` and every process below it;
#: ``pgsync`` with its children, and ``redis-server``), filled by the phases.
CPU: dict[str, float] = {}


def unavailable(name: str, reason: str) -> None:
    print(f"{name}: unavailable  # {reason}", flush=True)


def main(argv: list[str]) -> None:
    if len(argv) > 1 and argv[1] == "--nested":
        from bench.db_to_search_nested import run

        with postgres() as server, search_server() as search:
            run(server, search, int(argv[2]) if len(argv) > 2 else 200_000)
        return
    rows = int(argv[1]) if len(argv) > 1 else 1_000_000
    updates = int(argv[2]) if len(argv) > 2 else max(1, rows // 20)
    ids = random.Random(11).sample(range(1, rows), updates)  # the last row is the liveness probe
    figure("rows", rows, "rows")
    figure("updates", updates, "changes")
    with postgres() as server, search_server() as search:
        api = SearchApi(search)
        print(f"# search server: {search.kind}", flush=True)
        for table in (HUB_TABLE, PGSYNC_TABLE):
            create_table(server, table, rows)
        figure("copy_bytes_per_row", copy_bytes_per_row(server, HUB_TABLE, rows), "bytes")

        hub_seconds, hub_streaming, mappings, hub_sample = hub_phase(server, api, rows, ids)
        figure("hub_initial_sync", hub_seconds, "s")
        figure("hub_initial_sync_rate", rows / hub_seconds, "rows/s")
        figure("hub_cpu_per_1000", 1000 * CPU["hub"] / rows, "cpu-s")
        if ids:
            print_streaming("hub", hub_streaming, updates)
        if os.environ.get("HUB_BENCH_SCHEMALESS"):  # JsonConverter without schemas: smaller records, dynamic mappings
            schemaless = hub_phase(server, api, rows, [], schemas=False)[0]
            figure("hub_initial_sync_rate_schemaless", rows / schemaless, "rows/s")

        reference_seconds, reference_streaming, reference_sample = reference_phase(server, api, rows, ids, mappings)
        if reference_sample != hub_sample:
            raise RuntimeError(f"the reference's documents differ from Hub's: {reference_sample} != {hub_sample}")
        figure("reference_initial_sync", reference_seconds, "s")
        figure("reference_initial_sync_rate", rows / reference_seconds, "rows/s")
        if ids:
            figure("reference_streaming_total", reference_streaming, "s")

        pgsync: tuple[float, float, dict[str, float]] | None = None
        try:
            pgsync = pgsync_phase(server, api, rows, ids)
        except PgsyncUnavailableError as error:
            reason = str(error).replace("\n", " ")
            for name in ("pgsync_initial_sync", "pgsync_streaming_total"):
                unavailable(name, reason)
        if pgsync is not None:
            figure("pgsync_bootstrap", pgsync[0], "s")
            figure("pgsync_initial_sync", pgsync[1], "s")
            figure("pgsync_initial_sync_rate", rows / pgsync[1], "rows/s")
            figure("pgsync_cpu_per_1000", 1000 * CPU["pgsync"] / rows, "cpu-s")
            if ids:
                print_streaming("pgsync", pgsync[2], updates)

        print_ratios(hub_seconds, hub_streaming, reference_seconds, reference_streaming, pgsync)


def print_ratios(
    hub_seconds: float,
    hub_streaming: dict[str, float],
    reference_seconds: float,
    reference_streaming: float,
    pgsync: tuple[float, float, dict[str, float]] | None,
) -> None:
    """The ratios against the targets (initial sync as rows/s over rows/s, streaming as time over time)."""
    if pgsync is not None:
        ratio("initial_hub_vs_pgsync", pgsync[1], hub_seconds, target=2.0)
    else:
        unavailable("ratio_initial_hub_vs_pgsync", "PGSync did not run")
    ratio("initial_hub_vs_reference", reference_seconds, hub_seconds, target=0.8)
    if "hub" in CPU and "pgsync" in CPU:
        ratio("cpu_hub_vs_pgsync", CPU["hub"], CPU["pgsync"])  # the nested case's ratio has the target
    if not hub_streaming:
        return
    if pgsync is not None:
        ratio("streaming_pgsync_vs_hub", pgsync[2]["total"], hub_streaming["total"], target=10.0)
    else:
        unavailable("ratio_streaming_pgsync_vs_hub", "PGSync did not run")
    ratio("streaming_reference_vs_hub", reference_streaming, hub_streaming["total"])


if __name__ == "__main__":
    main(sys.argv)
