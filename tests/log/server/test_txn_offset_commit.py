"""TxnOffsetCommit over the Kafka listener: every version, Kafka's errors and access rules, and OffsetFetch's
``require_stable`` while a transaction holds an offset (KIP-447)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.group import OFFSETS_TOPIC
from hub.log.protocol import request_codec
from hub.log.records import NewRecord, encode_batch
from hub.log.security.acl import AclOperation, ResourceType
from hub.log.server.context import Body
from tests.log.server.in_process import QUICK_GROUPS, InProcessNode
from tests.log.server.raw_kafka import RawKafkaConnection
from tests.log.server.test_request_authorization import GROUP_DENIED, TOPIC_DENIED, Harness, _errors, allow

TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
Op = AclOperation

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    started = InProcessNode(tmp_path_factory.mktemp("txn-offsets"), {**QUICK_GROUPS, "num.partitions": "2"})
    started.add_listener()
    with started:
        started.node.store.create_topic("in", 2)
        yield started


@pytest.fixture
def conn(node: InProcessNode) -> Iterator[RawKafkaConnection]:
    with RawKafkaConnection("127.0.0.1", node.server.port) as connection:
        yield connection


def _commit(
    conn: RawKafkaConnection,
    version: int,
    group: str,
    producer_id: int,
    topics: dict[str, list[tuple[int, int]]],
    **kw: Any,
) -> dict[tuple[str, int], int]:
    body = {
        **request_codec(28, version).default(),
        "transactional_id": f"txn-{producer_id}",
        "group_id": group,
        "producer_id": producer_id,
        "producer_epoch": 0,
        "topics": [
            {
                "name": name,
                "partitions": [
                    {
                        "partition_index": p,
                        "committed_offset": o,
                        "committed_leader_epoch": -1,
                        "committed_metadata": "",
                    }
                    for p, o in partitions
                ],
            }
            for name, partitions in topics.items()
        ],
        **kw,
    }
    response = conn.request(28, version, body)
    return {(t["name"], p["partition_index"]): p["error_code"] for t in response["topics"] for p in t["partitions"]}


def _fetch(conn: RawKafkaConnection, version: int, group: str, partitions: list[int], *, stable: bool) -> Body:
    """OffsetFetch of ``in``'s partitions; the answer's partitions by index."""
    topics = [{"name": "in", "partition_indexes": partitions}]
    if version >= 8:
        body = {"groups": [{"group_id": group, "member_id": None, "member_epoch": -1, "topics": topics}]}
        response = conn.request(9, version, {**body, "require_stable": stable})
        answered = response["groups"][0]["topics"]
    else:
        response = conn.request(9, version, {"group_id": group, "topics": topics, "require_stable": stable})
        answered = response["topics"]
    return {p["partition_index"]: p for t in answered for p in t["partitions"]}


def _end(node: InProcessNode, producer_id: int, commit: bool) -> None:
    """The transaction's marker in __consumer_offsets, and the log's call to the coordinator."""
    partition = node.node.store.partition(OFFSETS_TOPIC, 0)
    append_marker = getattr(partition, "append_marker", None)
    if append_marker is not None:
        offset = int(append_marker(producer_id, 0, commit, 0).last_offset)
    else:  # a log that writes no markers yet: stored as a replica stores its leader's batch
        offset = partition.log_end_offset
        record = NewRecord(struct.pack(">hh", 0, 1 if commit else 0), struct.pack(">hi", 0, 0))
        batch = encode_batch(
            [record], base_offset=offset, producer_id=producer_id, producer_epoch=0, transactional=True, control=True
        )
        partition.append_replicated(batch)
    for listener in node.node.marker_listeners:
        listener(OFFSETS_TOPIC, 0, producer_id, commit, offset)


@pytest.mark.parametrize("version", range(6))
def test_every_version_commits_into_the_transaction(
    node: InProcessNode, conn: RawKafkaConnection, version: int
) -> None:
    group, producer_id = f"g-v{version}", 100 + version
    errors = _commit(conn, version, group, producer_id, {"in": [(0, 10), (1, 11), (7, 1)], "absent": [(0, 1)]})
    assert errors == {
        ("in", 0): ErrorCode.NONE,
        ("in", 1): ErrorCode.NONE,
        ("in", 7): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ("absent", 0): ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
    }
    stable = _fetch(conn, 8, group, [0, 1], stable=True)
    assert [(p["error_code"], p["committed_offset"]) for p in stable.values()] == [
        (ErrorCode.UNSTABLE_OFFSET_COMMIT, -1)
    ] * 2
    assert [p["committed_offset"] for p in _fetch(conn, 8, group, [0, 1], stable=False).values()] == [-1, -1]

    _end(node, producer_id, commit=version % 2 == 0)
    expected = [10, 11] if version % 2 == 0 else [-1, -1]
    for fetch_version in (7, 8):
        answered = _fetch(conn, fetch_version, group, [0, 1], stable=True)
        assert [(p["error_code"], p["committed_offset"]) for p in answered.values()] == [
            (ErrorCode.NONE, expected[0]),
            (ErrorCode.NONE, expected[1]),
        ]


def test_version_3_checks_member_and_generation(conn: RawKafkaConnection) -> None:
    assert _commit(conn, 3, "g-new", 200, {"in": [(0, 1)]}, generation_id=4, member_id="m") == {
        ("in", 0): ErrorCode.ILLEGAL_GENERATION
    }
    assert _commit(conn, 3, "g-new", 200, {"in": [(0, 1)]}, generation_id=-1, member_id="") == {
        ("in", 0): ErrorCode.NONE
    }
    assert _commit(conn, 0, "", 200, {"in": [(0, 1)]}) == {("in", 0): ErrorCode.INVALID_GROUP_ID}


def test_an_older_producer_epoch_is_answered_invalid_producer_epoch(conn: RawKafkaConnection) -> None:
    assert _commit(conn, 5, "g-epoch", 300, {"in": [(0, 1)]}, producer_epoch=2) == {("in", 0): ErrorCode.NONE}
    assert _commit(conn, 5, "g-epoch", 300, {"in": [(1, 1)]}, producer_epoch=1) == {
        ("in", 1): ErrorCode.INVALID_PRODUCER_EPOCH
    }


def test_a_node_that_does_not_coordinate_answers_not_coordinator(tmp_path: Path) -> None:
    started = InProcessNode(tmp_path, QUICK_GROUPS)
    started.add_listener()
    with started:
        started.node.store.create_topic("in", 1)
        started.node.coordinator.resign()
        with RawKafkaConnection("127.0.0.1", started.server.port) as conn:
            assert _commit(conn, 5, "g", 1, {"in": [(0, 1)]}) == {("in", 0): ErrorCode.NOT_COORDINATOR}
            assert _commit(conn, 0, "g", 1, {"in": [(0, 1)]}) == {("in", 0): ErrorCode.NOT_COORDINATOR}


def test_access_needs_write_on_the_transactional_id_read_on_the_group_and_the_topics() -> None:
    h = Harness(
        allow(ResourceType.TRANSACTIONAL_ID, "t", Op.WRITE),
        allow(ResourceType.GROUP, "g", Op.READ),
        allow(ResourceType.TOPIC, "ok", Op.READ),
    )
    topics = [
        {"name": "ok", "partitions": [{"partition_index": 0}]},
        {"name": "no", "partitions": [{"partition_index": 0}]},
    ]

    def answer(request: Body) -> Body:
        return {"topics": [{"name": t["name"], "partitions": [{"partition_index": 0, "error_code": 0}]}
                           for t in request["topics"]]}  # fmt: skip

    request = {"transactional_id": "t", "group_id": "g", "producer_id": 1, "producer_epoch": 0, "topics": topics}
    for version in (0, 3, 5):
        response = h.run(28, version, request, answer)
        assert response is not None
        assert _errors(response["topics"]) == [("ok", [0]), ("no", [TOPIC_DENIED])]
    other_group = h.run(28, 5, {**request, "group_id": "other"}, answer)
    assert other_group is not None
    assert _errors(other_group["topics"]) == [("ok", [GROUP_DENIED]), ("no", [GROUP_DENIED])]
    other_txn = h.run(28, 5, {**request, "transactional_id": "other", "group_id": "other"}, answer)
    assert other_txn is not None
    assert _errors(other_txn["topics"]) == [("ok", [TXN_DENIED]), ("no", [TXN_DENIED])]
