"""docs/quickstart-nested.md, run as written: its shell blocks in order, in one bash, against the harness's
PostgreSQL and Elasticsearch-API server (only the values of ``export`` lines are replaced; Hub's data directory and
listeners come from HUB_* variables)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from elasticsearch import Elasticsearch

from tests.harness.process import free_port
from tests.harness.servers import HttpServer, SqlServer
from tests.test_quickstart import shell_blocks, with_values

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "docs" / "quickstart-nested.md"


@pytest.mark.integration
@pytest.mark.timeout(400)
def test_the_nested_quickstart_runs_as_written(
    postgres_server: SqlServer, elasticsearch_server: HttpServer, tmp_path: Path
) -> None:
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS bookstore WITH (FORCE)")
    search = Elasticsearch(elasticsearch_server.url)
    if search.indices.exists(index="books"):
        search.indices.delete(index="books")
    values = {
        "PG_HOST": postgres_server.host,
        "PG_PORT": str(postgres_server.port),
        "PG_USER": postgres_server.user,
        "PG_PASSWORD": postgres_server.password or "unused",
        "ELASTICSEARCH_URL": elasticsearch_server.url,
    }
    blocks = shell_blocks(QUICKSTART.read_text())
    assert len(blocks) >= 5, "the quickstart lost its command blocks"
    script = "set -euo pipefail\n" + "\n".join(with_values(block, values) for block in blocks)
    rest = free_port()
    env = {
        **os.environ,
        "HUB_DATA_DIR": str(tmp_path / "hub-data"),
        "HUB_REST_LISTENER": f"127.0.0.1:{rest}",
        "HUB_KAFKA_LISTENER": f"127.0.0.1:{free_port()}",
        "HUB_URL": f"http://127.0.0.1:{rest}",
    }
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"the quickstart failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    assert "initial sync done" in result.stdout
    search.indices.refresh(index="books")
    assert search.count(index="books")["count"] == 999
    book = search.get(index="books", id="1")["_source"]
    assert book["book_title"] == "book 1"
    assert {"id": 8, "name": "Ursula"} in book["authors"]
    assert book["publisher"] == "publisher 2"
    assert len(book["reviews"]) == 3
    with psycopg.connect(postgres_server.dsn) as connection:
        slots = connection.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'hub_bookstore_books'")
        assert slots.fetchone() == (0,), "deleting the source did not drop its slot"
