"""ElasticsearchSink through the runtime, against noida-db (Elasticsearch API) and osmem-server (OpenSearch API)."""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from connectors.elasticsearch.sink import ElasticsearchSinkConnector
from hub.sdk import SinkRecord, Struct
from hub.sdk.schema import INT32_SCHEMA, STRING_SCHEMA, struct_schema
from hub.sdk.testing import SinkConnectorConformance
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.elasticsearch.proxy import FaultProxy
from tests.harness.servers import HttpServer

pytestmark = pytest.mark.integration

_names = itertools.count()

ROW_SCHEMA = {
    "type": "struct",
    "name": "shop.orders.Value",
    "optional": False,
    "fields": [
        {"field": "id", "type": "int32", "optional": False},
        {"field": "name", "type": "string", "optional": True},
        {"field": "qty", "type": "int32", "optional": True},
    ],
}


class Search:
    """The server under test and a client to look at it."""

    def __init__(self, kind: str, server: HttpServer) -> None:
        self.kind = kind
        self.url = server.url
        if kind == "opensearch":
            from opensearchpy import OpenSearch

            self.client: Any = OpenSearch(hosts=[server.url])
        else:
            from elasticsearch import Elasticsearch

            self.client = Elasticsearch(server.url)

    def documents(self, index: str) -> dict[str, dict[str, Any]]:
        """id -> source of every document in ``index`` (after a refresh)."""
        if not self.client.indices.exists(index=index):
            return {}
        self.client.indices.refresh(index=index)
        response = self.client.search(index=index, body={"query": {"match_all": {}}, "size": 10000})
        return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}

    def mapping(self, index: str) -> dict[str, Any]:
        return dict(self.client.indices.get_mapping(index=index)[index]["mappings"])


@pytest.fixture(params=["elasticsearch", "opensearch"])
def search(request: pytest.FixtureRequest) -> Search:
    server = request.getfixturevalue(f"{request.param}_server")
    return Search(request.param, server)


def topic_name(stem: str) -> str:
    return f"{stem}-{os.getpid()}-{next(_names)}"


def row(key: Any, value: dict[str, Any] | None) -> tuple[bytes | None, bytes | None]:
    """A record as JsonConverter with schemas reads it: a string key, a struct value (None: a tombstone)."""
    key_bytes = json.dumps({"schema": {"type": "string", "optional": False}, "payload": str(key)}).encode()
    if value is None:
        return key_bytes, None
    return key_bytes, json.dumps({"schema": ROW_SCHEMA, "payload": value}).encode()


SCHEMALESS = {
    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
    "value.converter.schemas.enable": "false",
}


def sink_config(search: Search, topic: str, **options: str) -> dict[str, str]:
    return {
        "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
        "connection.url": search.url,
        "connection.type": search.kind,
        "topics": topic,
        **options,
    }


def wait_documents(search: Search, index: str, expected: dict[str, dict[str, Any]], timeout_s: float = 60) -> None:
    found: dict[str, dict[str, Any]] = {}

    def equal() -> bool:
        nonlocal found
        found = search.documents(index)
        return found == expected

    wait_for(equal, timeout_s, lambda: f"documents of {index}: want {expected}, have {found}")


def test_inserts_updates_and_deletes(runtime: Runtime, search: Search) -> None:
    topic = topic_name("orders")
    runtime.create("es", sink_config(search, topic, **{"behavior.on.null.values": "delete"}))
    runtime.wait_running("es")
    runtime.produce(topic, [row(1, {"id": 1, "name": "a", "qty": 1}), row(2, {"id": 2, "name": "b", "qty": 2})])
    wait_documents(search, topic, {"1": {"id": 1, "name": "a", "qty": 1}, "2": {"id": 2, "name": "b", "qty": 2}})
    mapping = search.mapping(topic)["properties"]
    assert mapping["id"]["type"] == "integer"
    assert mapping["name"]["type"] == "text"
    runtime.produce(topic, [row(1, {"id": 1, "name": "a2", "qty": None}), row(2, None)])
    wait_documents(search, topic, {"1": {"id": 1, "name": "a2", "qty": None}})
    wait_for(lambda: runtime.herder.offsets("es"), what="offsets committed")

    def caught_up() -> bool:
        progress = runtime.herder.connector_status("es")["tasks"][0].get("progress") or {}
        return progress.get("records") == 4 and progress.get("lag_records") == 0

    wait_for(caught_up, 30, "the sink's progress: 4 records, no lag")


def test_upserts_merge_fields(runtime: Runtime, search: Search) -> None:
    topic = topic_name("upsert")
    runtime.create("es", sink_config(search, topic, **{"write.method": "upsert", **SCHEMALESS}))
    key = json.dumps({"schema": {"type": "string", "optional": False}, "payload": "k"}).encode()
    runtime.produce(topic, [(key, b'{"a": 1, "nested": {"x": 1}}'), (key, b'{"b": 2, "nested": {"y": 2}}')])
    wait_documents(search, topic, {"k": {"a": 1, "b": 2, "nested": {"x": 1, "y": 2}}})


def test_key_ignore_uses_topic_partition_offset(runtime: Runtime, search: Search) -> None:
    topic = topic_name("logs")
    runtime.create("es", sink_config(search, topic, **{"key.ignore": "true"}))
    runtime.produce(topic, [row(1, {"id": 1}), row(1, {"id": 1})])
    wait_documents(
        search,
        topic,
        {f"{topic}+0+0": {"id": 1, "name": None, "qty": None}, f"{topic}+0+1": {"id": 1, "name": None, "qty": None}},
    )


def test_the_latest_write_per_document_wins_with_concurrent_requests(runtime: Runtime, search: Search) -> None:
    topic = topic_name("order")
    options = {"batch.size": "7", "max.in.flight.requests": "5"}
    runtime.create("es", sink_config(search, topic, **options))
    records = [row(n % 10, {"id": n % 10, "qty": n}) for n in range(300)]
    runtime.produce(topic, records)
    expected = {str(k): {"id": k, "name": None, "qty": 290 + k} for k in range(10)}
    wait_documents(search, topic, expected)


def test_a_refused_document_without_tolerance_fails_the_task_with_the_reason(runtime: Runtime, search: Search) -> None:
    topic = topic_name("strict")
    search.client.indices.create(index=topic, body={"mappings": {"properties": {"qty": {"type": "integer"}}}})
    runtime.create("es", sink_config(search, topic, **{**SCHEMALESS, "key.ignore": "true"}))
    runtime.produce(topic, [(None, b'{"qty": "many"}')])
    status = runtime.wait_state("es", "FAILED")
    trace = status["tasks"][0]["trace"]
    assert f"{topic}+0+0" in trace
    assert "qty" in trace


def test_documents_go_through_the_ingest_pipeline(runtime: Runtime, search: Search) -> None:
    """ingest.pipeline is the bulk API's pipeline parameter (PGSync's schema.json pipeline). osmem-server has no
    ingest API: there the server's refusal naming the pipeline shows the parameter reached it."""
    topic = topic_name("pipeline")
    pipeline = f"{topic}-p"
    config = sink_config(search, topic, **{**SCHEMALESS, "ingest.pipeline": pipeline})
    key = json.dumps({"schema": {"type": "string", "optional": False}, "payload": "k"}).encode()
    if search.kind == "opensearch":
        runtime.create("es", config)
        runtime.produce(topic, [(key, b'{"a": 1}')])
        trace = runtime.wait_state("es", "FAILED")["tasks"][0]["trace"]
        assert f"pipeline with id [{pipeline}] does not exist" in trace
        return
    search.client.ingest.put_pipeline(id=pipeline, processors=[{"set": {"field": "via", "value": "pipeline"}}])
    runtime.create("es", config)
    runtime.produce(topic, [(key, b'{"a": 1}')])
    wait_documents(search, topic, {"k": {"a": 1, "via": "pipeline"}})


def test_throttling_and_server_errors_are_retried(runtime: Runtime, search: Search) -> None:
    proxy = FaultProxy(search.url)
    try:
        proxy.fail_bulk(2, 429)
        proxy.fail_bulk(2, 503)
        topic = topic_name("retry")
        config = sink_config(search, topic, **{"retry.backoff.ms": "20"})
        config["connection.url"] = proxy.url
        runtime.create("es", config)
        runtime.produce(topic, [row(n, {"id": n}) for n in range(50)])
        wait_documents(search, topic, {str(n): {"id": n, "name": None, "qty": None} for n in range(50)})
        assert proxy.failed == 4
    finally:
        proxy.close()


def test_a_slow_server_gets_longer_timeouts_instead_of_resent_requests(
    runtime: Runtime, search: Search, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="connectors.elasticsearch")
    proxy = FaultProxy(search.url)
    try:
        proxy.delay_bulk(1, 1.0)
        topic = topic_name("slow")
        config = sink_config(search, topic, **{"read.timeout.ms": "300", "retry.backoff.ms": "20"})
        config["connection.url"] = proxy.url
        runtime.create("es", config)
        runtime.produce(topic, [row(n, {"id": n}) for n in range(20)])
        wait_documents(search, topic, {str(n): {"id": n, "name": None, "qty": None} for n in range(20)})
        assert "a bulk request timed out; waiting up to 1 s" in caplog.text
    finally:
        proxy.close()


def test_a_full_buffer_waits_for_a_slow_server_that_keeps_writing(
    runtime: Runtime, search: Search, caplog: pytest.LogCaptureFixture
) -> None:
    """With the buffer full and the server answering slowly (1.5 s a request) but steadily, ``put`` keeps sending
    as requests finish instead of asking for a redelivery (during which no request would be sent and the server
    would idle)."""
    caplog.set_level("WARNING")
    proxy = FaultProxy(search.url)
    try:
        proxy.delay_bulk(100, 1.5)
        topic = topic_name("full")
        options = {"max.buffered.records": "20", "batch.size": "10", "max.in.flight.requests": "1"}
        config = sink_config(search, topic, **options)
        config["connection.url"] = proxy.url
        runtime.create("es", config)
        runtime.produce(topic, [row(n, {"id": n}) for n in range(40)])
        wait_for(lambda: proxy.bulk_requests >= 1, what="the first bulk request")
        runtime.produce(topic, [row(n, {"id": n}) for n in range(40, 60)])  # put while 30 wait: 3 s to make room
        wait_documents(search, topic, {str(n): {"id": n, "name": None, "qty": None} for n in range(60)}, 90)
        assert "asked for a retry" not in caplog.text
    finally:
        proxy.close()


def test_a_server_that_goes_away_and_comes_back_loses_nothing(runtime: Runtime, search: Search) -> None:
    proxy = FaultProxy(search.url)
    try:
        topic = topic_name("outage")
        options = {"retry.backoff.ms": "20", "max.retries": "1", "max.buffered.records": "20", "batch.size": "10"}
        config = sink_config(search, topic, **options)
        config["connection.url"] = proxy.url
        runtime.create("es", config)
        runtime.produce(topic, [row(n, {"id": n}) for n in range(10)])
        wait_documents(search, topic, {str(n): {"id": n, "name": None, "qty": None} for n in range(10)})
        proxy.down()
        runtime.produce(topic, [row(n, {"id": n}) for n in range(10, 100)])
        wait_for(lambda: runtime.herder.offsets("es"), what="offsets")
        committed_during_outage = runtime.herder.offsets("es")[0]["offset"]["kafka_offset"]
        assert committed_during_outage <= 10, "offsets moved past documents that were not written"
        assert runtime.herder.connector_status("es")["tasks"][0]["state"] == "RUNNING"
        proxy.up()
        wait_documents(search, topic, {str(n): {"id": n, "name": None, "qty": None} for n in range(100)}, 90)
    finally:
        proxy.close()


def test_restart_mid_stream_loses_nothing(runtime: Runtime, search: Search) -> None:
    topic = topic_name("restart")
    runtime.create("es", sink_config(search, topic))
    runtime.produce(topic, [row(n, {"id": n}) for n in range(200)])
    runtime.restart()
    runtime.produce(topic, [row(n, {"id": n, "qty": 1}) for n in range(150, 300)])
    expected = {str(n): {"id": n, "name": None, "qty": 1 if n >= 150 else None} for n in range(300)}
    wait_documents(search, topic, expected)


def test_data_streams(runtime: Runtime, elasticsearch_server: HttpServer) -> None:
    """Elasticsearch only: osmem-server has no data streams."""
    search = Search("elasticsearch", elasticsearch_server)
    topic = topic_name("events")
    name = f"logs-hub-{topic}"
    template = {"index_patterns": ["logs-hub-*"], "data_stream": {}, "priority": 500}
    search.client.indices.put_index_template(name="logs-hub", **template)
    options = {"data.stream.type": "logs", "data.stream.dataset": "hub"}
    runtime.create("es", sink_config(search, topic, **options))
    runtime.produce(topic, [row(1, {"id": 1}), row(2, {"id": 2})])

    def two() -> bool:
        return search.client.indices.exists(index=name) and len(search.documents(name)) == 2

    wait_for(two, 60, f"two documents in data stream {name}")
    assert all("@timestamp" in doc for doc in search.documents(name).values())


def test_bad_options_are_named() -> None:
    from connectors.elasticsearch.config import CONFIG

    problems = CONFIG.errors({"connection.url": "http://x", "external.version.header": "v", "write.method": "merge"})[1]
    assert set(problems) == {"external.version.header", "write.method"}


class TestElasticsearchSinkConformance(SinkConnectorConformance):
    connector_class = ElasticsearchSinkConnector
    schema = struct_schema([("id", INT32_SCHEMA), ("text", STRING_SCHEMA)], name="conformance")

    @pytest.fixture(autouse=True)
    def _server(self, elasticsearch_server: HttpServer) -> None:
        self.search = Search("elasticsearch", elasticsearch_server)
        self.index = topic_name("conformance")

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"connection.url": self.search.url, "index.name.format": self.index}

    def make_record(self, topic: str, partition: int, offset: int) -> SinkRecord:
        value = Struct(self.schema, {"id": offset, "text": f"record-{offset}"})
        return SinkRecord(
            topic=topic,
            value=value,
            value_schema=self.schema,
            key=str(offset),
            kafka_partition=partition,
            kafka_offset=offset,
        )

    def record_id(self, record: Any) -> Any:
        return str(record.key)

    def read_output(self, config: dict[str, str]) -> Collection[Any]:
        return set(self.search.documents(self.index))


def test_a_field_added_at_the_source_is_mapped(runtime: Runtime, search: Search) -> None:
    topic = topic_name("evolve")
    runtime.create("es", sink_config(search, topic))
    runtime.produce(topic, [row(1, {"id": 1})])
    wait_documents(search, topic, {"1": {"id": 1, "name": None, "qty": None}})
    wider = {**ROW_SCHEMA, "fields": [*ROW_SCHEMA["fields"], {"field": "color", "type": "string", "optional": True}]}
    key = json.dumps({"schema": {"type": "string", "optional": False}, "payload": "2"}).encode()
    value = json.dumps({"schema": wider, "payload": {"id": 2, "color": "red"}}).encode()
    runtime.produce(topic, [(key, value)])
    wait_documents(
        search,
        topic,
        {"1": {"id": 1, "name": None, "qty": None}, "2": {"id": 2, "name": None, "qty": None, "color": "red"}},
    )
    assert search.mapping(topic)["properties"]["color"]["type"] == "text"


def test_tombstones_ignored_or_failing_and_invalid_records_dropped(runtime: Runtime, search: Search) -> None:
    ignoring = topic_name("ignore")
    runtime.create("ignore", sink_config(search, ignoring, **{"behavior.on.null.values": "ignore"}))
    runtime.produce(ignoring, [row(1, {"id": 1}), row(1, None)])
    wait_documents(search, ignoring, {"1": {"id": 1, "name": None, "qty": None}})
    dropping = topic_name("drop")
    strings = {"key.converter": "org.apache.kafka.connect.storage.StringConverter"}
    options = {**SCHEMALESS, **strings, "drop.invalid.message": "true"}
    runtime.create("drop", sink_config(search, dropping, **options))
    runtime.produce(dropping, [(None, b'{"id": 1}'), (b"2", b'"not an object"'), (b"3", b'{"id": 3}')])
    wait_documents(search, dropping, {"3": {"id": 3}})  # no key and a non-object value: dropped, not fatal
    failing = topic_name("fail")
    runtime.create("fail", sink_config(search, failing))
    runtime.produce(failing, [row(1, None)])
    status = runtime.wait_state("fail", "FAILED")
    assert "behavior.on.null.values=FAIL" in status["tasks"][0]["trace"]


def test_malformed_documents_can_be_ignored(runtime: Runtime, search: Search) -> None:
    topic = topic_name("lenient")
    search.client.indices.create(index=topic, body={"mappings": {"properties": {"qty": {"type": "integer"}}}})
    options = {**SCHEMALESS, "key.ignore": "true", "behavior.on.malformed.documents": "warn"}
    runtime.create("es", sink_config(search, topic, **options))
    runtime.produce(topic, [(None, b'{"qty": "many"}'), (None, b'{"qty": 2}')])
    wait_documents(search, topic, {f"{topic}+0+1": {"qty": 2}})
    wait_for(lambda: runtime.herder.offsets("es"), what="offsets")
    assert runtime.herder.offsets("es")[0]["offset"]["kafka_offset"] == 2
    assert runtime.herder.connector_status("es")["tasks"][0]["state"] == "RUNNING"


def test_regex_router_chooses_the_index(runtime: Runtime, search: Search) -> None:
    topic = topic_name("routed")
    options = {
        "transforms": "route",
        "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
        "transforms.route.regex": "routed-(.*)",
        "transforms.route.replacement": "search-$1",
    }
    runtime.create("es", sink_config(search, topic, **options))
    runtime.produce(topic, [row(1, {"id": 1})])
    wait_documents(search, topic.replace("routed-", "search-"), {"1": {"id": 1, "name": None, "qty": None}})
