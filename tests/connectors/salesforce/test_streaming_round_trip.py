"""Salesforce → Hub → PostgreSQL and → a search index, with the configs of configs/salesforce-to-postgres and
configs/salesforce-to-search: the CDC source in row mode writes each changed record (and a tombstone for each
deleted one) to a topic, the sink upserts and deletes by Id, and the table (the index) ends equal to the object."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from simple_salesforce import Salesforce

from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.jdbc.databases import Database, make_database
from tests.connectors.salesforce.streaming_support import connection_options, fresh_object
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer
from tests.harness.servers import HttpServer

pytestmark = pytest.mark.integration

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "salesforce-to-postgres"


def shipped(name: str, **options: str) -> dict[str, str]:
    """The config of ``name`` in configs/salesforce-to-postgres, its ``${env:…}`` options replaced by ``options``."""
    config: dict[str, str] = json.loads((CONFIGS / name).read_text())["config"]
    config = {key: value for key, value in config.items() if "${env:" not in value}
    return {**config, **options}


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, "postgresql")


def table_rows(db: Database, table: str) -> set[tuple[Any, ...]]:
    try:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=db.engine)
    except sa.exc.NoSuchTableError:
        return set()
    with db.engine.connect() as connection:
        selected = sa.select(reflected.c["Id"], reflected.c["Name"], reflected.c["Note__c"])
        return {tuple(row) for row in connection.execute(selected)}


def object_rows(sf: Salesforce, sobject: str) -> set[tuple[Any, ...]]:
    return {
        (r["Id"], r["Name"], r["Note__c"]) for r in sf.query_all(f"SELECT Id, Name, Note__c FROM {sobject}")["records"]
    }


def test_the_table_ends_equal_to_the_object(
    runtime: Runtime, salesforce_server: SalesforceServer, sf: Salesforce, postgres: Database
) -> None:
    if not salesforce_server.control:
        pytest.skip("creates its object through the local test server's control API")
    sobject = fresh_object(salesforce_server)
    table = postgres.table_name("sf_rows")
    source = shipped(
        "cdc-source.json",
        **connection_options(salesforce_server),
        **{"salesforce.cdc.name": sobject[:-1] + "ChangeEvent", "kafka.topic": table},
    )
    runtime.create("cdc-rows", source)
    runtime.create("to-postgres", shipped("postgres-sink.json", **postgres.options, topics=table))
    runtime.wait_running("cdc-rows")
    runtime.wait_running("to-postgres")
    api = getattr(sf, sobject)
    ids = [api.create({"Name": name, "Note__c": f"{name} note"})["id"] for name in ("a", "b", "c", "d")]
    api.update(ids[1], {"Name": "b2", "Note__c": None})
    api.delete(ids[2])
    api.delete(ids[3])
    client.control(salesforce_server, "POST", "undelete", {"ids": [ids[3]]})
    api.create({"Name": "e", "Note__c": "late"})
    expected = object_rows(sf, sobject)
    assert len(expected) == 4
    wait_for(
        lambda: table_rows(postgres, table) == expected,
        60,
        lambda: f"{table} has {sorted(table_rows(postgres, table))}, the object {sorted(expected)}",
    )


def test_the_search_configs_keep_an_index_per_object(
    runtime: Runtime, salesforce_server: SalesforceServer, sf: Salesforce, elasticsearch_server: HttpServer
) -> None:
    if not salesforce_server.control:
        pytest.skip("creates its object through the local test server's control API")
    sobject = fresh_object(salesforce_server)
    configs = CONFIGS.parent / "salesforce-to-search"
    source: dict[str, str] = json.loads((configs / "cdc-source.json").read_text())["config"]
    sink: dict[str, str] = json.loads((configs / "search-sink.json").read_text())["config"]
    source = {key: value for key, value in source.items() if "${env:" not in value}
    runtime.create("cdc-search", {**source, **connection_options(salesforce_server)})
    runtime.create("search", {**sink, "connection.url": elasticsearch_server.url, "errors.tolerance": "none"})
    runtime.wait_running("cdc-search")
    runtime.wait_running("search")
    api = getattr(sf, sobject)
    kept = api.create({"Name": "kept", "Note__c": "first"})["id"]
    gone = api.create({"Name": "gone"})["id"]
    api.update(kept, {"Note__c": "second"})
    api.delete(gone)
    index = f"salesforce.{sobject.lower()}"

    def documents() -> dict[str, Any]:
        try:
            with urllib.request.urlopen(f"{elasticsearch_server.url}/{index}/_search?size=100", timeout=5) as answer:
                hits = json.loads(answer.read())["hits"]["hits"]
        except OSError:
            return {}
        return {hit["_id"]: hit["_source"] for hit in hits}

    def settled() -> bool:
        urllib.request.urlopen(urllib.request.Request(f"{elasticsearch_server.url}/{index}/_refresh", method="POST"))
        found = documents()
        return set(found) == {kept} and found[kept]["Note__c"] == "second"

    wait_for(lambda: _quietly(settled), 60, lambda: f"index {index}: {documents()}")


def _quietly(check: Any) -> bool:
    try:
        return bool(check())
    except OSError:
        return False
