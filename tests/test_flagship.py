"""The flagship job end to end: a PostgreSQL table kept in sync with a search index by `hub start` running the
configs of configs/postgres-to-elasticsearch — a 100,000-row snapshot and 10,000 inserts, updates and deletes made
while it runs and after, with `hub start` killed (-9) twice along the way. At the end the index must equal the
table, document for document: nothing stale, nothing missing, no deleted row back."""

from __future__ import annotations

import decimal
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from elasticsearch import Elasticsearch, helpers

from tests.harness.process import free_port
from tests.harness.servers import HttpServer, SqlServer

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs" / "postgres-to-elasticsearch"
DATABASE = "flagship"
ROWS = 100_000
CHANGES = 10_000
INDEX = "pg.public.items"


@dataclass
class Hub:
    """`hub start` as a subprocess that can be killed and started again on the same data directory."""

    env: dict[str, str]
    log: Path
    url: str
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "start"], stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"hub start did not become healthy:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _connector(path: Path, **overrides: str) -> dict[str, Any]:
    spec = json.loads(path.read_text())
    spec["config"].update(overrides)
    return dict(spec)


class Changes(threading.Thread):
    """Makes ``count`` random inserts, updates and deletes in small transactions, spread over some seconds."""

    def __init__(self, dsn: str, count: int = CHANGES) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.count = count
        self.done = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        rng = random.Random(7)
        try:
            with psycopg.connect(self.dsn, autocommit=True) as connection:
                top = ROWS
                while self.done < self.count:
                    with connection.transaction():
                        for _ in range(50):
                            kind = rng.random()
                            if kind < 0.3:
                                top += 1
                                row = (f"new {top}", rng.randint(0, 9), decimal.Decimal("1.25"))
                                connection.execute("INSERT INTO items (name, qty, price) VALUES (%s, %s, %s)", row)
                            elif kind < 0.7:
                                change = (f"changed {self.done}", rng.randint(1, top))
                                connection.execute(
                                    "UPDATE items SET qty = qty + 1, name = %s, updated_at = now() WHERE id = %s",
                                    change,
                                )
                            else:
                                connection.execute("DELETE FROM items WHERE id = %s", (rng.randint(1, top),))
                            self.done += 1
                    time.sleep(0.02)
        except BaseException as exc:  # reported by the test
            self.error = exc


def _table(dsn: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(dsn) as connection:
        rows = connection.execute("SELECT id, name, qty, price, updated_at FROM items").fetchall()
    return {
        str(row[0]): {
            "id": row[0],
            "name": row[1],
            "qty": row[2],
            "price": float(row[3]),
            "updated_at": int(row[4].timestamp() * 1000),
        }
        for row in rows
    }


def _index(search: Elasticsearch) -> dict[str, dict[str, Any]]:
    search.indices.refresh(index=INDEX)
    return {hit["_id"]: hit["_source"] for hit in helpers.scan(search, index=INDEX, query={"query": {"match_all": {}}})}


def assert_index_equals_table(search: Elasticsearch, dsn: str, timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for the index to hold exactly the table's rows; then name what differs."""
    expected = _table(dsn)
    found: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        count = search.count(index=INDEX)["count"] if search.indices.exists(index=INDEX) else 0
        if count == len(expected):
            found = _index(search)
            if found == expected:
                break
        time.sleep(3)
    missing = expected.keys() - found.keys()
    extra = found.keys() - expected.keys()
    stale = [key for key in expected.keys() & found.keys() if expected[key] != found[key]]
    assert not missing, f"{len(missing)} rows missing from the index, e.g. {sorted(missing)[:5]}"
    assert not extra, f"{len(extra)} deleted rows back in the index, e.g. {sorted(extra)[:5]}"
    assert not stale, f"{len(stale)} stale documents, e.g. {[(k, expected[k], found[k]) for k in stale[:3]]}"


@pytest.fixture
def database(postgres_server: SqlServer) -> Iterator[str]:
    yield from flagship_table(postgres_server)


def flagship_table(postgres_server: SqlServer) -> Iterator[str]:
    """Database DATABASE with table ``items`` of ROWS rows; yields its DSN, then drops the test's replication slot."""
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    dsn = postgres_server.dsn.replace(f"dbname={postgres_server.database}", f"dbname={DATABASE}")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int NOT NULL, "
            "price numeric(10,2) NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())"
        )
        connection.execute(
            "INSERT INTO items (name, qty, price) SELECT 'item ' || g, g %% 10, (g %% 1000) / 10.0 "
            "FROM generate_series(1, %s) g",
            (ROWS,),
        )
    yield dsn
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_drop_replication_slot('hub_flagship') FROM pg_replication_slots "
            "WHERE slot_name = 'hub_flagship' AND NOT active"
        )


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_the_index_equals_the_table_after_changes_and_two_crashes(
    database: str, postgres_server: SqlServer, elasticsearch_server: HttpServer, tmp_path: Path
) -> None:
    rest = free_port()
    env = {
        **os.environ,
        "PGHOST": postgres_server.host,
        "PGPORT": str(postgres_server.port),
        "PGUSER": postgres_server.user,
        "PGPASSWORD": postgres_server.password or "unused",
        "PGDATABASE": DATABASE,
        "ELASTICSEARCH_URL": elasticsearch_server.url,
        "HUB_DATA_DIR": str(tmp_path / "hub-data"),
        "HUB_REST_LISTENER": f"127.0.0.1:{rest}",
        "HUB_KAFKA_LISTENER": f"127.0.0.1:{free_port()}",
    }
    hub = Hub(env, tmp_path / "hub.log", f"http://127.0.0.1:{rest}")
    search = Elasticsearch(elasticsearch_server.url, request_timeout=60)
    if search.indices.exists(index=INDEX):
        search.indices.delete(index=INDEX)
    hub.start()
    changes = Changes(database)
    try:
        for spec in (
            _connector(
                CONFIGS / "cdc-source.json", **{"slot.name": "hub_flagship", "publication.name": "hub_flagship"}
            ),
            _connector(CONFIGS / "search-sink.json"),
        ):
            answer = httpx.post(hub.url + "/connectors", json=spec, timeout=60)
            for _ in range(30):  # the cluster of one may still be electing its leader
                if answer.status_code != 409:
                    break
                time.sleep(1)
                answer = httpx.post(hub.url + "/connectors", json=spec, timeout=60)
            assert answer.status_code == 201, answer.text
        time.sleep(2)
        changes.start()
        hub.kill()  # during the snapshot
        hub.start()
        while changes.done < CHANGES // 2 and changes.is_alive():
            time.sleep(0.2)
        hub.kill()  # while changes stream
        hub.start()
        changes.join(300)
        assert changes.error is None, f"the change generator failed: {changes.error}"
        assert_index_equals_table(search, database, timeout_s=240)
    finally:
        hub.stop()
