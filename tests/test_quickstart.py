"""docs/quickstart.md, run as written: its shell blocks in order, in one bash, against the harness's PostgreSQL and
Elasticsearch-API server. Only the values of the ``export`` lines are replaced (by where the test servers are);
Hub's data directory and listeners come from HUB_* variables so the run leaves nothing in the repository."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest
from elasticsearch import Elasticsearch

from tests.harness.process import free_port
from tests.harness.servers import HttpServer, SqlServer

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "docs" / "quickstart.md"
DATABASE = "quickstart"


def shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def with_values(block: str, values: dict[str, str]) -> str:
    """The block with the value of each ``NAME=VALUE`` on ``export`` lines replaced from ``values``."""

    def replace(line: str) -> str:
        if not line.startswith("export "):
            return line
        return re.sub(r"(\w+)=(\S+)", lambda m: f"{m[1]}={values.get(m[1], m[2])}", line)

    return "\n".join(replace(line) for line in block.splitlines())


@pytest.mark.integration
def test_the_quickstart_runs_as_written(
    postgres_server: SqlServer, elasticsearch_server: HttpServer, tmp_path: Path
) -> None:
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    values = {
        "PGHOST": postgres_server.host,
        "PGPORT": str(postgres_server.port),
        "PGUSER": postgres_server.user,
        "PGPASSWORD": postgres_server.password or "unused",
        "PGDATABASE": DATABASE,
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
    assert "pg-cdc" in result.stdout
    search = Elasticsearch(elasticsearch_server.url)
    search.indices.refresh(index="pg.public.customers")
    assert search.count(index="pg.public.customers")["count"] == 999
    assert search.get(index="pg.public.customers", id="1")["_source"]["email"] == "new@example.com"
    with psycopg.connect(postgres_server.dsn) as connection:
        slots = connection.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'hub_pg_cdc'")
        assert slots.fetchone() == (0,), "deleting the source did not drop its slot"
