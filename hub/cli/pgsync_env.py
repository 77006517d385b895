"""What `hub sync` makes of a PGSync setup: PGSync's environment variables and a schema.json become, per document,
a PostgresDocumentSource and an ElasticsearchSink config, and the body of the index's creation as PGSync makes it:
``setting`` as the index settings, ``mapping`` (with the nodes' ``transform.mapping`` under their labels) as the
properties — or as the whole mappings when it holds ``dynamic_templates`` —, ``mappings`` as the mappings those
go into, and ``pipeline`` as the sink's ``ingest.pipeline``.

PGSync's variables read: ``PG_URL`` or ``PG_HOST``/``PG_PORT``/``PG_USER``/``PG_PASSWORD``/``PG_SSLMODE``,
``PG_DATABASE`` (when a document names no ``database``), ``ELASTICSEARCH_URL`` or
``ELASTICSEARCH_SCHEME``/``_HOST``/``_PORT``, ``ELASTICSEARCH_USER``/``_PASSWORD``, ``ELASTICSEARCH_API_KEY``
(with ``ELASTICSEARCH_API_KEY_ID``), ``ELASTICSEARCH_VERIFY_CERTS``, ``ELASTICSEARCH_CA_CERTS``, ``OPENSEARCH``,
``ELASTICSEARCH_CHUNK_SIZE`` (documents per bulk request), ``QUERY_CHUNK_SIZE`` (documents per query) and
``LOGICAL_SLOT_CHUNK_SIZE`` (WAL messages per read). Redis is not needed: the slot and Hub's offsets hold the
position. Pure functions; no I/O.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import click

_TRUE = {"1", "true", "yes", "on"}
_STRING = "org.apache.kafka.connect.storage.StringConverter"
_JSON = "org.apache.kafka.connect.json.JsonConverter"


@dataclass(frozen=True)
class Document:
    """One document's connectors: names, configs, and the index and its creation body (maybe empty)."""

    index: str
    source_name: str
    source: dict[str, str]
    sink_name: str
    sink: dict[str, str]
    index_body: dict[str, Any]


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    value = env.get(name)
    return None if value is None or value == "" else value.strip().lower() in _TRUE


def database_options(env: Mapping[str, str]) -> dict[str, str]:
    """The ``database.*`` options from ``PG_URL`` or the ``PG_*`` variables (``PG_URL`` wins where it says)."""
    options = {
        "database.hostname": env.get("PG_HOST") or "localhost",
        "database.port": env.get("PG_PORT") or "5432",
        "database.user": env.get("PG_USER") or "",
        "database.password": env.get("PG_PASSWORD") or "",
    }
    url = env.get("PG_URL")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
            raise click.UsageError("PG_URL must be a postgresql:// URL")
        options["database.hostname"] = parts.hostname or options["database.hostname"]
        options["database.port"] = str(parts.port or options["database.port"])
        options["database.user"] = unquote(parts.username or "") or options["database.user"]
        options["database.password"] = unquote(parts.password or "") or options["database.password"]
    if not options["database.user"]:
        raise click.UsageError("PG_USER (or PG_URL) must name the PostgreSQL user")
    if env.get("PG_SSLMODE"):
        options["database.sslmode"] = env["PG_SSLMODE"]
    return {key: value for key, value in options.items() if value != ""}


def search_options(env: Mapping[str, str]) -> dict[str, str]:
    """The sink's ``connection.*`` options from the ``ELASTICSEARCH_*`` / ``OPENSEARCH`` variables."""
    url = env.get("ELASTICSEARCH_URL")
    if not url:
        scheme = env.get("ELASTICSEARCH_SCHEME") or "http"
        url = f"{scheme}://{env.get('ELASTICSEARCH_HOST') or 'localhost'}:{env.get('ELASTICSEARCH_PORT') or '9200'}"
    options = {"connection.url": url}
    if _flag(env, "OPENSEARCH"):
        options["connection.type"] = "opensearch"
    if env.get("ELASTICSEARCH_USER"):
        options["connection.username"] = env["ELASTICSEARCH_USER"]
        options["connection.password"] = env.get("ELASTICSEARCH_PASSWORD", "")
    key = env.get("ELASTICSEARCH_API_KEY")
    if key:
        key_id = env.get("ELASTICSEARCH_API_KEY_ID")
        options["connection.api.key"] = base64.b64encode(f"{key_id}:{key}".encode()).decode() if key_id else key
    if _flag(env, "ELASTICSEARCH_VERIFY_CERTS") is False:
        options["connection.ssl.verify"] = "false"
    if env.get("ELASTICSEARCH_CA_CERTS"):
        options["connection.ssl.ca.file"] = env["ELASTICSEARCH_CA_CERTS"]
    return options


def _slot(database: str, index: str) -> str:
    return ("hub_" + re.sub(r"[^a-z0-9_]", "_", f"{database}_{index}".lower()))[:63]


def properties(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The index ``properties`` a document's ``transform.mapping`` entries (under the children's labels) and its
    ``mapping`` name; empty when it names none."""

    def node_properties(node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: dict(v) for k, v in (node.get("transform") or {}).get("mapping", {}).items()}
        for child in node.get("children") or []:
            inner = node_properties(child)
            if inner and (child.get("relationship") or {}).get("variant") == "object":
                label = child.get("label") or child.get("table")
                out.setdefault(label, {}).setdefault("properties", {}).update(inner)
        return out

    found = node_properties(entry.get("nodes") or {})
    for name, spec in (entry.get("mapping") or {}).items():
        found.setdefault(name, {}).update(spec)
    return found


def index_body(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The body that creates a document's index (PUT /index): settings and mappings; empty when the schema names
    none. PGSync sends ``mappings`` nested under an ``index`` key, which the servers refuse, and drops it when
    ``mapping`` is given: Hub takes ``mappings`` as the index's mappings and adds the properties to it."""
    body: dict[str, Any] = {}
    if entry.get("setting"):
        body["settings"] = {"index": dict(entry["setting"])}
    mapping = entry.get("mapping") or {}
    if "dynamic_templates" in mapping:
        body["mappings"] = dict(mapping)
        return body
    mappings = dict(entry.get("mappings") or {})
    found = properties(entry)
    if found:
        mappings["properties"] = {**mappings.get("properties", {}), **found}
    if mappings:
        body["mappings"] = mappings
    return body


def documents(entries: list[Any], env: Mapping[str, str]) -> list[Document]:
    """The connectors of every document of a schema.json (already parsed as JSON)."""
    database = database_options(env)
    search = search_options(env)
    converters = {
        "key.converter": _STRING,
        "value.converter": _JSON,
        "value.converter.schemas.enable": "false",
    }
    out: list[Document] = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise click.UsageError(f"schema: document {position} must be an object")
        dbname = entry.get("database") or env.get("PG_DATABASE") or "postgres"
        index = entry.get("index") or dbname
        if not isinstance(index, str) or not isinstance(dbname, str):
            raise click.UsageError(f"schema: document {position}: database and index must be strings")
        source = {
            "connector.class": "PostgresDocumentSource",
            **database,
            "database.dbname": dbname,
            "document.schema": json.dumps(entry),
            "topic": index,
            "slot.name": _slot(dbname, index),
            "publication.name": _slot(dbname, index),
            **converters,
        }
        if env.get("QUERY_CHUNK_SIZE"):
            source["batch.size"] = env["QUERY_CHUNK_SIZE"]
        if env.get("LOGICAL_SLOT_CHUNK_SIZE"):
            source["max.batch.size"] = env["LOGICAL_SLOT_CHUNK_SIZE"]
        sink = {
            "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            "topics": index,
            **search,
            "key.ignore": "false",
            "schema.ignore": "true",
            "behavior.on.null.values": "delete",
            "write.method": "insert",
            **converters,
        }
        if env.get("ELASTICSEARCH_CHUNK_SIZE"):
            sink["batch.size"] = env["ELASTICSEARCH_CHUNK_SIZE"]
        if entry.get("pipeline"):
            sink["ingest.pipeline"] = str(entry["pipeline"])
        out.append(Document(index, f"{index}-documents", source, f"{index}-search", sink, index_body(entry)))
    return out
