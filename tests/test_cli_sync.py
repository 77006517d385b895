"""`hub sync`'s reading of PGSync's environment variables and schema.json into connector configs (no servers)."""

from __future__ import annotations

import base64
import json

import click
import pytest

from hub.cli.pgsync_env import database_options, documents, index_body, properties, search_options
from tests.connectors.jdbc.cdc.documents.examples import HERE

SOCIAL = {
    "database": "social",
    "index": "social1",
    "nodes": {
        "table": "user",
        "columns": ["name"],
        "children": [
            {
                "table": "post",
                "label": "posts",
                "relationship": {"type": "one_to_many", "variant": "object", "through_tables": ["user_post"]},
                "transform": {"mapping": {"title": {"type": "keyword"}}},
            }
        ],
    },
    "mapping": {"posts": {"type": "nested"}},
}


def test_pg_variables_become_database_options() -> None:
    env = {"PG_HOST": "db", "PG_PORT": "6432", "PG_USER": "sync", "PG_PASSWORD": "s3cret", "PG_SSLMODE": "require"}
    assert database_options(env) == {
        "database.hostname": "db",
        "database.port": "6432",
        "database.user": "sync",
        "database.password": "s3cret",
        "database.sslmode": "require",
    }


def test_pg_url_wins_over_the_separate_variables() -> None:
    options = database_options({"PG_URL": "postgresql://u%40x:p%2Fw@h:7000/ignored", "PG_HOST": "other"})
    assert options["database.hostname"] == "h"
    assert options["database.port"] == "7000"
    assert options["database.user"] == "u@x"
    assert options["database.password"] == "p/w"


def test_a_missing_user_is_refused_by_its_variable_name() -> None:
    with pytest.raises(click.UsageError, match="PG_USER"):
        database_options({"PG_HOST": "db"})


def test_search_url_from_its_parts_and_opensearch_and_api_key() -> None:
    env = {
        "ELASTICSEARCH_SCHEME": "https",
        "ELASTICSEARCH_HOST": "es",
        "ELASTICSEARCH_PORT": "9201",
        "OPENSEARCH": "true",
        "ELASTICSEARCH_API_KEY_ID": "id",
        "ELASTICSEARCH_API_KEY": "key",
        "ELASTICSEARCH_VERIFY_CERTS": "false",
    }
    options = search_options(env)
    assert options["connection.url"] == "https://es:9201"
    assert options["connection.type"] == "opensearch"
    assert options["connection.api.key"] == base64.b64encode(b"id:key").decode()
    assert options["connection.ssl.verify"] == "false"
    assert search_options({"ELASTICSEARCH_URL": "http://x:1"})["connection.url"] == "http://x:1"
    assert search_options({})["connection.url"] == "http://localhost:9200"


def test_each_document_gets_a_source_and_a_sink_named_after_its_index() -> None:
    env = {"PG_USER": "sync", "ELASTICSEARCH_URL": "http://es:9200", "QUERY_CHUNK_SIZE": "500"}
    (document,) = documents([SOCIAL], env)
    assert (document.source_name, document.sink_name) == ("social1-documents", "social1-search")
    assert document.source["database.dbname"] == "social"
    assert document.source["topic"] == document.sink["topics"] == "social1"
    assert document.source["batch.size"] == "500"
    assert json.loads(document.source["document.schema"]) == SOCIAL
    assert document.source["slot.name"] == "hub_social_social1"
    assert document.sink["behavior.on.null.values"] == "delete"


def test_the_index_mapping_collects_node_mappings_under_labels() -> None:
    assert properties(SOCIAL) == {"posts": {"properties": {"title": {"type": "keyword"}}, "type": "nested"}}
    assert properties({"nodes": {"table": "t"}}) == {}


def test_the_index_body_is_pgsyncs_setting_mapping_and_mappings() -> None:
    """PGSync's book schema.json: setting becomes the index settings; mapping and the nodes' transform.mapping
    the properties, inside mappings; pipeline becomes the sink's ingest.pipeline."""
    (book,) = json.loads((HERE / "book.json").read_text())
    body = index_body(book)
    assert body["settings"] == {"index": book["setting"]}
    assert body["mappings"]["properties"]["age"] == {"type": "integer"}  # from mappings
    authors = body["mappings"]["properties"]["authors"]
    assert authors["type"] == "nested"  # from mapping, with the nodes' transform.mapping below it
    continent = authors["properties"]["city_label"]["properties"]["country_label"]["properties"]["continent_label"]
    assert continent == {"properties": {"name": {"type": "keyword"}}}
    assert body["mappings"]["properties"]["book_isbn"]["fields"]["ngram"]["analyzer"] == "ngram_analyzer"
    assert body["mappings"]["properties"]["publisher_label"] == {
        "properties": {"publisher_id": {"type": "long"}, "publisher_name": {"type": "keyword"}}
    }
    templates = {"dynamic_templates": [{"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}]}
    assert index_body({"nodes": {"table": "t"}, "mapping": templates}) == {"mappings": templates}
    assert index_body({"nodes": {"table": "t"}}) == {}
    (document,) = documents([{**SOCIAL, "pipeline": "enrich"}], {"PG_USER": "u"})
    assert document.sink["ingest.pipeline"] == "enrich"
    assert "ingest.pipeline" not in documents([SOCIAL], {"PG_USER": "u"})[0].sink


def test_the_ready_source_config_carries_the_ready_schema() -> None:
    """documents-source.json of the nested configs holds schema.json's document, as hub sync would make it."""
    from pathlib import Path

    configs = Path(__file__).resolve().parents[1] / "configs" / "postgres-to-elasticsearch-nested"
    (entry,) = json.loads((configs / "schema.json").read_text())
    source = json.loads((configs / "documents-source.json").read_text())["config"]
    assert json.loads(source["document.schema"]) == entry
    (document,) = documents([entry], {"PG_USER": "u"})
    assert source["slot.name"] == document.source["slot.name"]
    assert source["topic"] == document.source["topic"]
