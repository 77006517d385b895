"""Defects the listener fuzzer found, each pinned by a test: requests a hostile or careless client sends to
`hub log serve`."""

from __future__ import annotations

import os
import socket
import time

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.protocol import encode_request
from hub.log.records import encode_batch
from tests.harness.hub import HubServer
from tests.log.poison_batches import records
from tests.log.server.raw_kafka import RawKafkaConnection, produce

pytestmark = pytest.mark.integration


def _open_files(server: HubServer) -> int:
    assert server.process is not None
    return len(os.listdir(f"/proc/{server.process.pid}/fd"))


def test_abandoned_long_polls_release_their_connections(hub_server: HubServer) -> None:
    topic = "long-poll"
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        assert produce(connection, topic, encode_batch(records(1)))["error_code"] == 0
    before = _open_files(hub_server)
    fetch = {
        "replica_id": -1,
        "max_wait_ms": 0x7FFFFFFF,  # 24 days
        "min_bytes": 0x7FFFFFFF,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "topics": [{"topic": topic, "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1}]}],
    }
    frame = encode_request(1, 11, 1, "gone", fetch)
    for _ in range(200):
        with socket.create_connection(("127.0.0.1", hub_server.port)) as abandoned:
            abandoned.sendall(frame)
    deadline = time.monotonic() + 10
    while _open_files(hub_server) > before + 10:
        assert time.monotonic() < deadline, f"{_open_files(hub_server) - before} connections still held"
        time.sleep(0.1)


@pytest.mark.parametrize("name", ["bad\nname", "name-é1", "x" * 300, ".."])
def test_produce_and_metadata_for_an_illegal_topic_name_answer_invalid_topic(hub_server: HubServer, name: str) -> None:
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        answer = produce(connection, name, encode_batch(records(1)))
        assert answer["error_code"] == ErrorCode.INVALID_TOPIC_EXCEPTION, answer
        metadata = connection.request(3, 8, {"topics": [{"name": name}], "allow_auto_topic_creation": True})
        assert metadata["topics"][0]["error_code"] == ErrorCode.INVALID_TOPIC_EXCEPTION
    assert "bad\nname" not in hub_server.log_path.read_text(errors="replace")  # no forged log lines


def test_create_topics_of_too_many_partitions_is_a_policy_violation(hub_server: HubServer) -> None:
    topics = [
        {"name": f"huge-{i}", "num_partitions": 6_000, "replication_factor": 1, "assignments": [], "configs": []}
        for i in range(2)
    ]
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        answer = connection.request(19, 4, {"topics": topics, "timeout_ms": 1000, "validate_only": False})
        assert [t["error_code"] for t in answer["topics"]] == [ErrorCode.POLICY_VIOLATION] * 2
        assert "12000 partitions requested" in answer["topics"][0]["error_message"]
        metadata = connection.request(3, 8, {"topics": [{"name": "huge-0"}], "allow_auto_topic_creation": False})
        assert metadata["topics"][0]["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION


def test_a_fetch_naming_a_partition_many_times_reads_it_once(hub_server: HubServer) -> None:
    topic = "fetched-twice"
    partition = {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}
    fetch = {
        "replica_id": -1,
        "max_wait_ms": 0,
        "min_bytes": 0,
        "max_bytes": 50 << 20,
        "isolation_level": 0,
        "topics": [{"topic": topic, "partitions": [partition] * 500}] * 2,
    }
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        assert produce(connection, topic, encode_batch(records(50)))["error_code"] == 0
        answer = connection.request(1, 11, fetch)
    answered = [(t["topic"], p["partition_index"]) for t in answer["responses"] for p in t["partitions"]]
    assert answered == [(topic, 0)]
    assert len(answer["responses"][0]["partitions"][0]["records"]) > 0
