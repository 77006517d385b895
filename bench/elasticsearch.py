"""Documents/s from a topic into a search index through ElasticsearchSink, next to the elasticsearch client's
``parallel_bulk`` indexing the same documents straight from memory, against the same server in the same run.

The topic holds schemaless JSON records of ~300 bytes with string keys (document ids), in an embedded store; the
sink runs in a standalone worker (JsonConverter without schemas, one task, its default batch size and
concurrency). The clock runs from the connector's creation until the sink committed the offset of the last record (it
commits only past documents the server acknowledged; the index is counted afterwards to check). The
reference sends the same documents with ``helpers.parallel_bulk`` (batch 2000, 5 threads: the sink's defaults).
Target (the project's issue): sink ≥ 0.80 of the reference.

The server is the test harness's Elasticsearch-API server (noida-db) unless ``HUB_BENCH_ELASTICSEARCH_URL`` names
another; noida-db indexes slowly, so both rates mostly measure it — point the variable at a real Elasticsearch to
measure the sink's own overhead.

Run: ``python -m bench.elasticsearch [DOCUMENTS]`` (default 500,000).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import Elasticsearch, helpers

from bench.report import figure, ratio, stopwatch
from hub.demo.search import LocalSearch
from hub.log.client.embedded import EmbeddedClients
from hub.log.node import LogNode, node_config
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import topic_stores
from hub.runtime.worker_config import WorkerConfig
from hub.tuning import tune_garbage_collector


@contextlib.contextmanager
def search_url() -> Iterator[str]:
    url = os.environ.get("HUB_BENCH_ELASTICSEARCH_URL")
    if url:
        yield url
        return
    local = LocalSearch()
    try:
        yield local.start().url
    finally:
        local.stop()


def make_document(n: int) -> dict[str, Any]:
    return {
        "id": n,
        "customer": f"customer-{n % 5000}",
        "email": f"user{n}@example.com",
        "status": ("new", "paid", "shipped", "done")[n % 4],
        "amount": round((n % 10000) / 7, 2),
        "created_at": 1_700_000_000_000 + n * 1000,
        "note": "order note with a few words of text to search in " + "x" * (90 + n % 10),
    }


def count(client: Elasticsearch, index: str) -> int:
    if not client.indices.exists(index=index):
        return 0
    client.indices.refresh(index=index)
    return int(client.count(index=index)["count"])


def committed(herder: StandaloneHerder) -> int:
    """Records whose offsets the sink committed."""
    return sum(int(entry["offset"]["kafka_offset"]) for entry in herder.offsets("es"))


def reference_rate(client: Elasticsearch, documents: list[dict[str, Any]]) -> float:
    actions = ({"_index": "bench-reference", "_id": str(doc["id"]), "_source": doc} for doc in documents)
    with stopwatch() as elapsed:
        for ok, item in helpers.parallel_bulk(client, actions, chunk_size=2000, thread_count=5):
            if not ok:
                raise RuntimeError(f"reference indexing failed: {item}")
        seconds = elapsed()
    if count(client, "bench-reference") != len(documents):
        raise RuntimeError("the reference index is missing documents")
    client.indices.delete(index="bench-reference")  # the sink then starts from the same empty server
    return len(documents) / seconds


def sink_rate(url: str, documents: list[dict[str, Any]], client: Elasticsearch) -> float:
    with tempfile.TemporaryDirectory() as directory:
        node = LogNode(node_config(Path(directory), {"group.initial.rebalance.delay.ms": "0"}))
        node.open()
        try:
            clients = EmbeddedClients(node.broker)
            with clients.producer() as producer:
                for doc in documents:
                    producer.send("bench-sink", key=str(doc["id"]).encode(), value=orjson.dumps(doc))
                producer.flush(120)
            config = WorkerConfig.parse(
                {
                    "offset.flush.interval.ms": "1000",
                    "key.converter": "org.apache.kafka.connect.storage.StringConverter",
                    "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                    "value.converter.schemas.enable": "false",
                }
            )
            herder = StandaloneHerder("bench", config, Plugins.discover(), clients, *topic_stores(clients, config))
            herder.start()
            try:
                connector = {
                    "connector.class": "ElasticsearchSink",
                    "connection.url": url,
                    "topics": "bench-sink",
                    "read.timeout.ms": "120000",  # the reference's request timeout
                }
                with stopwatch() as elapsed:
                    herder.put_connector_config("es", connector, allow_replace=False)
                    while committed(herder) < len(documents):  # offsets move only past written documents
                        time.sleep(0.1)
                seconds = elapsed()
                indexed = count(client, "bench-sink")
                if indexed != len(documents):
                    raise RuntimeError(f"the index holds {indexed} documents, not {len(documents)}")
                return len(documents) / seconds
            finally:
                herder.stop()
        finally:
            node.close()


def main(argv: list[str]) -> None:
    total = int(argv[1]) if len(argv) > 1 else 500_000
    documents = [make_document(n) for n in range(total)]
    tune_garbage_collector()  # as in Hub's worker process (hub/tuning.py)
    figure("documents", total, "documents")
    figure("document_bytes", sum(len(orjson.dumps(d)) for d in documents[:1000]) / 1000, "bytes")
    with search_url() as url:
        client = Elasticsearch(url, request_timeout=120)
        reference = reference_rate(client, documents)
        figure("parallel_bulk", reference, "documents/s")
        rate = sink_rate(url, documents, client)
        figure("elasticsearch_sink", rate, "documents/s")
        ratio("sink_vs_parallel_bulk", rate, reference, target=0.8)


if __name__ == "__main__":
    main(sys.argv)
