"""`hub sync` end to end, as a PGSync user runs it: PGSync's social, airbnb and book example schemas in one
schema.json (the book's as PGSync ships it, minus plugins and routing: its setting and mappings make the index),
PGSync's environment variables, `hub start` as the Hub, random concurrent inserts, updates, re-parentings and
deletes during and after the initial sync, and `hub start` killed (-9) twice. At the end every document in the
index equals what its tree holds (an oracle assembled in Python from the tables) and no deleted root is left."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import psycopg
import pytest
from elasticsearch import Elasticsearch, helpers

from connectors.jdbc.cdc.documents.catalog import resolve
from connectors.jdbc.cdc.documents.schema import load_document
from hub.cli.pgsync_env import documents
from hub.cli.sync import ensure_index
from tests.connectors.jdbc.cdc.documents.examples import EXAMPLES, HERE, Mutator, expected_documents, populate
from tests.harness.process import free_port
from tests.harness.servers import HttpServer, SqlServer
from tests.test_flagship import Hub

NAMES = ("social", "airbnb", "book")
ROWS = 400


def _dsn(server: SqlServer, database: str) -> str:
    return server.dsn.replace(f"dbname={server.database}", f"dbname={database}")


@pytest.fixture
def databases(postgres_server: SqlServer) -> Iterator[dict[str, str]]:
    made = {name: f"sync_{name}_{os.getpid()}" for name in NAMES}
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        for database in made.values():
            connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {database}")
    for name, database in made.items():
        populate(_dsn(postgres_server, database), EXAMPLES[name], rows=ROWS)
    yield made
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        for database in made.values():
            connection.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                "WHERE database = %s AND NOT active",
                (database,),
            )
            connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


class Writers:
    """Random changes in small concurrent transactions, from a few threads, until ``stop``."""

    def __init__(self, server: SqlServer, databases: dict[str, str]) -> None:
        self.stop = threading.Event()
        self.made = 0
        self.threads = [
            threading.Thread(target=self._run, args=(server, name, database, seed), daemon=True)
            for seed, (name, database) in enumerate(list(databases.items()) * 2)
        ]

    def _run(self, server: SqlServer, name: str, database: str, seed: int) -> None:
        mutator = Mutator(EXAMPLES[name], seed + 100)
        with psycopg.connect(_dsn(server, database)) as connection:
            while not self.stop.is_set():
                try:
                    with connection.transaction():
                        for _ in range(mutator.rng.randint(1, 4)):
                            mutator.change(connection)
                    self.made += 1
                except psycopg.errors.Error:
                    pass  # a deadlock or a racing delete: that transaction is not made
                time.sleep(0.01)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def _sync(env: dict[str, str], schema: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "sync", "--config", str(schema), "--daemon"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _index(search: Elasticsearch, index: str) -> dict[str, Any]:
    if not search.indices.exists(index=index):
        return {}
    search.indices.refresh(index=index)
    return {hit["_id"]: hit["_source"] for hit in helpers.scan(search, index=index, query={"query": {"match_all": {}}})}


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_hub_sync_keeps_nested_documents_equal_to_their_trees_through_two_crashes(
    databases: dict[str, str], postgres_server: SqlServer, elasticsearch_server: HttpServer, tmp_path: Path
) -> None:
    entries = []
    for name in NAMES:
        entry = EXAMPLES[name].schema()[0]
        if name == "book":
            (entry,) = json.loads((HERE / "book.json").read_text())
            del entry["plugins"], entry["routing"]
        entry["database"] = databases[name]
        entry["index"] = f"{databases[name]}_idx"
        entries.append(entry)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(entries))
    rest = free_port()
    env = {
        **os.environ,
        "PG_HOST": postgres_server.host,
        "PG_PORT": str(postgres_server.port),
        "PG_USER": postgres_server.user,
        "PG_PASSWORD": postgres_server.password or "unused",
        "ELASTICSEARCH_URL": elasticsearch_server.url,
        "QUERY_CHUNK_SIZE": "40",
        "HUB_DATA_DIR": str(tmp_path / "hub-data"),
        "HUB_REST_LISTENER": f"127.0.0.1:{rest}",
        "HUB_KAFKA_LISTENER": f"127.0.0.1:{free_port()}",
        "HUB_URL": f"http://127.0.0.1:{rest}",
    }
    search = Elasticsearch(elasticsearch_server.url, request_timeout=60)
    for entry in entries:
        if search.indices.exists(index=entry["index"]):
            search.indices.delete(index=entry["index"])
    hub = Hub(env, tmp_path / "hub.log", env["HUB_URL"])
    sync_log = tmp_path / "sync.log"
    writers = Writers(postgres_server, databases)
    hub.start()
    sync = _sync(env, schema, sync_log)
    try:
        writers.start()
        time.sleep(1.5)
        hub.kill()  # during the initial sync, most likely
        sync.wait(60)  # it loses its Hub and says so
        hub.start()
        sync = _sync(env, schema, sync_log)
        while writers.made < 300:
            time.sleep(0.2)
        hub.kill()  # while changes stream
        sync.wait(60)
        hub.start()
        sync = _sync(env, schema, sync_log)
        time.sleep(3)
        writers.join()
        trees = {}
        for entry in entries:
            url = _dsn(postgres_server, entry["database"])
            with psycopg.connect(url) as connection:
                trees[entry["index"]] = (url, resolve(load_document(entry), connection))
        for index, (url, tree) in trees.items():
            expected = expected_documents(url, tree)
            found: dict[str, Any] = {}
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                found = _index(search, index)
                if found == expected:
                    break
                time.sleep(2)
            orphans = sorted(found.keys() - expected.keys())
            missing = sorted(expected.keys() - found.keys())
            stale = [k for k in expected.keys() & found.keys() if expected[k] != found[k]]
            assert not orphans, f"{index}: {len(orphans)} documents of deleted roots, e.g. {orphans[:5]}"
            assert not missing, f"{index}: {len(missing)} documents missing, e.g. {missing[:5]}"
            assert not stale, f"{index}: {len(stale)} stale, e.g. {[(k, found[k], expected[k]) for k in stale[:2]]}"
        book = entries[NAMES.index("book")]["index"]
        settings = search.indices.get_settings(index=book)[book]["settings"]["index"]
        assert settings["analysis"]["analyzer"]["ngram_analyzer"]["tokenizer"] == "ngram_tokenizer"
        properties = search.indices.get_mapping(index=book)[book]["mappings"]["properties"]
        assert properties["authors"]["type"] == "nested"
        assert properties["book_isbn"]["fields"]["ngram"]["analyzer"] == "ngram_analyzer"
        deadline = time.monotonic() + 120
        while "initial sync done" not in sync_log.read_text() and time.monotonic() < deadline and sync.poll() is None:
            time.sleep(1)
        output = sync_log.read_text()
        statuses = [
            httpx.get(f"{env['HUB_URL']}/connectors/{entries[0]['index']}-{suffix}/status", timeout=30).json()
            for suffix in ("documents", "search")
        ]
        assert "initial sync done" in output, f"{output[-3000:]}\n{statuses}"
        sync.send_signal(signal.SIGINT)
        assert sync.wait(60) == 0, sync_log.read_text()[-3000:]
        assert sync_log.read_text().rstrip().endswith("connectors stopped")
        status = httpx.get(f"{env['HUB_URL']}/connectors/{entries[0]['index']}-documents/status", timeout=30).json()
        assert status["connector"]["state"] == "STOPPED"
    finally:
        writers.join()
        if sync.poll() is None:
            sync.kill()
        for entry in entries:
            for suffix in ("documents", "search"):
                with contextlib.suppress(httpx.HTTPError):
                    httpx.delete(f"{env['HUB_URL']}/connectors/{entry['index']}-{suffix}", timeout=60)
        hub.stop()


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["elasticsearch", "opensearch"])
def test_the_index_is_created_with_the_schemas_setting_and_mappings(kind: str, request: pytest.FixtureRequest) -> None:
    """PGSync's book schema.json: its setting (an ngram analyzer) and mappings make the index, on both APIs; an
    index that exists is left alone; a mapping the server refuses is an error with the server's reason."""
    server: HttpServer = request.getfixturevalue(f"{kind}_server")
    (entry,) = json.loads((HERE / "book.json").read_text())
    entry["index"] = f"book_{kind}_{os.getpid()}"
    env = {"PG_USER": "u", "ELASTICSEARCH_URL": server.url, "OPENSEARCH": str(kind == "opensearch")}
    (document,) = documents([entry], env)
    ensure_index(document)
    with urllib.request.urlopen(f"{server.url}/{entry['index']}/_settings", timeout=30) as response:
        settings = json.loads(response.read())[entry["index"]]["settings"]["index"]
    assert settings["analysis"]["tokenizer"]["ngram_tokenizer"]["min_gram"] == "9"
    with urllib.request.urlopen(f"{server.url}/{entry['index']}/_mapping", timeout=30) as response:
        properties = json.loads(response.read())[entry["index"]]["mappings"]["properties"]
    assert properties["book_isbn"]["fields"]["ngram"]["analyzer"] == "ngram_analyzer"
    assert properties["authors"]["type"] == "nested"
    assert properties["age"] == {"type": "integer"}
    ensure_index(document)  # exists: left as it is
    bad = {"index": f"bad_{kind}_{os.getpid()}", "nodes": {"table": "t"}, "mapping": {"x": {"type": "nope"}}}
    (refused,) = documents([bad], env)
    with pytest.raises(click.ClickException, match=rf"refused to create index {bad['index']} .*HTTP 400\): .*nope"):
        ensure_index(refused)
