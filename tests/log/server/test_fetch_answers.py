"""The Fetch handler's answer sizes: the broker's ``fetch.max.bytes`` caps an answer, and consecutive answers on a
connection start after the last partition that gave data, so a capped answer starves no partition. And the leader
hints of Fetch 16+ and Produce 10+ (KIP-951) for a partition not led here."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode
from hub.log.protocol import RequestHeader
from hub.log.server.context import ConnectionState, RequestContext, ServerIdentity
from hub.log.server.handlers import RequestHandlers
from hub.log.store import TopicStore
from tests.log.conftest import BatchFactory

PARTITIONS = 4
BATCH_VALUES = [b"v" * 1000] * 10  # one batch of about 10 kB


@pytest.fixture
def handlers(store: TopicStore, make_batch: BatchFactory) -> RequestHandlers:
    broker = Broker(store, fetch_max_bytes=25_000)  # room for two partitions' batch per answer
    store.create_topic("t", PARTITIONS)
    for partition in range(PARTITIONS):
        broker.produce("t", partition, make_batch(BATCH_VALUES))

    async def no_wait(timeout_s: float) -> None:
        await asyncio.sleep(0)

    return RequestHandlers(broker, ServerIdentity("127.0.0.1", 9092, "test"), no_wait)


def fetch_body(offsets: dict[int, int], max_bytes: int = 50 << 20) -> dict[str, Any]:
    return {
        "max_wait_ms": 0,
        "min_bytes": 1,
        "max_bytes": max_bytes,
        "topics": [
            {
                "topic": "t",
                "partitions": [
                    {"partition": p, "fetch_offset": offset, "partition_max_bytes": 1 << 20}
                    for p, offset in offsets.items()
                ],
            }
        ],
    }


ALL_FROM_START = dict.fromkeys(range(PARTITIONS), 0)


def fetch(handlers: RequestHandlers, connection: ConnectionState, body: dict[str, Any]) -> dict[int, int]:
    """Bytes per partition in the answer (every requested partition is listed, in request order)."""
    return served(asyncio.run(handlers.fetch(context(connection), body)))


def served(answer: dict[str, Any]) -> dict[int, int]:
    """Bytes per partition in an answer (every requested partition is listed, in request order)."""
    return {p["partition_index"]: len(p["records"]) for p in answer["responses"][0]["partitions"]}


def context(connection: ConnectionState) -> RequestContext:
    return RequestContext(RequestHeader(1, 11, 1, "test", 1), "127.0.0.1", connection)


def test_an_answer_carries_at_most_the_brokers_fetch_max_bytes_and_lists_every_partition(
    handlers: RequestHandlers,
) -> None:
    sizes = fetch(handlers, ConnectionState(), fetch_body(ALL_FROM_START))
    assert list(sizes) == list(range(PARTITIONS)), "the request's order"
    assert 0 < sum(sizes.values()) <= 25_000
    assert sizes[0] > 0, "a new connection starts with the first partition asked for"


def test_the_requests_max_bytes_caps_too_but_one_batch_always_goes(handlers: RequestHandlers) -> None:
    sizes = fetch(handlers, ConnectionState(), fetch_body(ALL_FROM_START, max_bytes=1))
    assert [size > 0 for size in sizes.values()] == [True, False, False, False]


def test_capped_answers_rotate_over_the_partitions_of_a_connection(handlers: RequestHandlers) -> None:
    connection = ConnectionState()
    answers = [fetch(handlers, connection, fetch_body(ALL_FROM_START)) for _ in range(2)]  # always from offset 0
    assert [sorted(p for p, size in sizes.items() if size) for sizes in answers] == [[0, 1], [2, 3]]
    assert fetch(handlers, ConnectionState(), fetch_body(ALL_FROM_START))[0] > 0, "the rotation is per connection"


@pytest.mark.parametrize("version", [15, 16])
def test_a_partition_that_is_not_led_here_carries_its_current_leader_from_version_16(
    handlers: RequestHandlers, store: TopicStore, version: int
) -> None:
    store.partition("t", 1).close()  # a closed log answers NOT_LEADER_OR_FOLLOWER, as after it moved away
    header = RequestHeader(1, version, 1, "test", 2)
    body = fetch_body({0: 0, 1: 0})
    body["topics"][0]["topic_id"] = uuid.UUID(hex=store.topics()["t"].topic_id)  # versions 13+ name topics by id
    answer = asyncio.run(handlers.fetch(RequestContext(header, "127.0.0.1"), body))
    partitions = {p["partition_index"]: p for p in answer["responses"][0]["partitions"]}
    assert partitions[1]["error_code"] == ErrorCode.NOT_LEADER_OR_FOLLOWER
    if version >= 16:
        assert partitions[1]["current_leader"] == {"leader_id": 0, "leader_epoch": 0}
        assert answer["node_endpoints"] == [{"node_id": 0, "host": "127.0.0.1", "port": 9092, "rack": None}]
    else:
        assert "current_leader" not in partitions[1]
        assert "node_endpoints" not in answer
    assert "current_leader" not in partitions[0]


@pytest.mark.parametrize("version", [9, 10])
def test_a_produce_to_a_partition_not_led_here_carries_its_current_leader_from_version_10(
    handlers: RequestHandlers, store: TopicStore, make_batch: BatchFactory, version: int
) -> None:
    store.partition("t", 2).close()
    header = RequestHeader(0, version, 1, "test", 2)
    body = {
        "acks": 1,
        "timeout_ms": 1000,
        "topic_data": [{"name": "t", "partition_data": [{"index": 2, "records": make_batch([b"x"])}]}],
    }
    answer = asyncio.run(handlers.produce(RequestContext(header, "127.0.0.1"), body))
    assert answer is not None
    (partition,) = answer["responses"][0]["partition_responses"]
    assert partition["error_code"] == ErrorCode.NOT_LEADER_OR_FOLLOWER
    assert ("current_leader" in partition, "node_endpoints" in answer) == (version >= 10, version >= 10)
    if version >= 10:
        assert partition["current_leader"] == {"leader_id": 0, "leader_epoch": 0}
