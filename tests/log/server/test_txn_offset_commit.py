"""TxnOffsetCommit over the Kafka listener: every version, Kafka's errors and access rules, and OffsetFetch's
``require_stable`` while a transaction holds an offset (KIP-447). Each commit belongs to a real transaction run over
the same connection (InitProducerId with a transactional id, AddOffsetsToTxn, TxnOffsetCommit, EndTxn), as the
group coordinator verifies the producer with the transaction coordinator."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.protocol import request_codec
from hub.log.security.acl import AclOperation, ResourceType
from hub.log.server.context import Body
from tests.log.server.in_process import QUICK_GROUPS, InProcessNode
from tests.log.server.raw_kafka import RawKafkaConnection
from tests.log.server.test_request_authorization import GROUP_DENIED, TOPIC_DENIED, Harness, _errors, allow

TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
Op = AclOperation
#: Answers a client retries: the coordinator is loading, or the previous transaction's markers are being written.
RETRIABLE = {
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode.COORDINATOR_NOT_AVAILABLE,
    ErrorCode.CONCURRENT_TRANSACTIONS,
}

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


@dataclass(frozen=True)
class Txn:
    """A transactional producer's identity, as InitProducerId answered it."""

    transactional_id: str
    producer_id: int
    producer_epoch: int


def _until(call: Callable[[], Body], what: str, timeout_s: float = 30) -> Body:
    """``call``'s answer once its ``error_code`` is not one a client retries (bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = call()
        if answer["error_code"] not in RETRIABLE:
            return answer
        assert time.monotonic() < deadline, f"{what}: still {ErrorCode(answer['error_code']).name}"
        time.sleep(0.05)


def _init(conn: RawKafkaConnection, transactional_id: str) -> Txn:
    """InitProducerId for ``transactional_id``: a new producer id, or the id's next epoch (fencing the previous)."""
    body = {**request_codec(22, 5).default(), "transactional_id": transactional_id, "transaction_timeout_ms": 60_000}
    answer = _until(lambda: conn.request(22, 5, body), f"InitProducerId {transactional_id}")
    assert answer["error_code"] == ErrorCode.NONE
    return Txn(transactional_id, answer["producer_id"], answer["producer_epoch"])


def _add_offsets(conn: RawKafkaConnection, txn: Txn, group: str) -> None:
    """AddOffsetsToTxn: the group's offsets partition joins the transaction."""
    body = {
        "transactional_id": txn.transactional_id,
        "producer_id": txn.producer_id,
        "producer_epoch": txn.producer_epoch,
        "group_id": group,
    }
    answer = _until(lambda: conn.request(25, 4, body), f"AddOffsetsToTxn {group}")
    assert answer["error_code"] == ErrorCode.NONE


def _begin(conn: RawKafkaConnection, transactional_id: str, group: str) -> Txn:
    txn = _init(conn, transactional_id)
    _add_offsets(conn, txn, group)
    return txn


def _commit(
    conn: RawKafkaConnection,
    version: int,
    group: str,
    txn: Txn,
    topics: dict[str, list[tuple[int, int]]],
    **kw: Any,
) -> dict[tuple[str, int], int]:
    """TxnOffsetCommit in ``txn``: the error per partition."""
    body = {
        **request_codec(28, version).default(),
        "transactional_id": txn.transactional_id,
        "group_id": group,
        "producer_id": txn.producer_id,
        "producer_epoch": txn.producer_epoch,
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


def _end(conn: RawKafkaConnection, txn: Txn, group: str, *, commit: bool, timeout_s: float = 30) -> None:
    """EndTxn, then wait (bounded) until the marker has landed in ``__consumer_offsets``: OffsetFetch with
    ``require_stable`` stops answering UNSTABLE_OFFSET_COMMIT for the group."""
    body = {
        "transactional_id": txn.transactional_id,
        "producer_id": txn.producer_id,
        "producer_epoch": txn.producer_epoch,
        "committed": commit,
    }
    answer = _until(lambda: conn.request(26, 4, body), f"EndTxn {txn.transactional_id}")
    assert answer["error_code"] == ErrorCode.NONE
    deadline = time.monotonic() + timeout_s
    while any(
        p["error_code"] == ErrorCode.UNSTABLE_OFFSET_COMMIT
        for p in _fetch(conn, 8, group, [0, 1], stable=True).values()
    ):
        assert time.monotonic() < deadline, f"the marker of {txn.transactional_id} never reached the group {group}"
        time.sleep(0.05)


@pytest.mark.parametrize("version", range(6))
def test_every_version_commits_into_the_transaction(
    node: InProcessNode, conn: RawKafkaConnection, version: int
) -> None:
    group = f"g-v{version}"
    txn = _begin(conn, f"txn-v{version}", group)
    errors = _commit(conn, version, group, txn, {"in": [(0, 10), (1, 11), (7, 1)], "absent": [(0, 1)]})
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

    _end(conn, txn, group, commit=version % 2 == 0)
    expected = [10, 11] if version % 2 == 0 else [-1, -1]
    for fetch_version in (7, 8):
        answered = _fetch(conn, fetch_version, group, [0, 1], stable=True)
        assert [(p["error_code"], p["committed_offset"]) for p in answered.values()] == [
            (ErrorCode.NONE, expected[0]),
            (ErrorCode.NONE, expected[1]),
        ]


def test_version_3_checks_member_and_generation(conn: RawKafkaConnection) -> None:
    txn = _begin(conn, "txn-v3-checks", "g-new")
    assert _commit(conn, 3, "g-new", txn, {"in": [(0, 1)]}, generation_id=4, member_id="m") == {
        ("in", 0): ErrorCode.ILLEGAL_GENERATION
    }
    assert _commit(conn, 3, "g-new", txn, {"in": [(0, 1)]}, generation_id=-1, member_id="") == {
        ("in", 0): ErrorCode.NONE
    }
    assert _commit(conn, 0, "", txn, {"in": [(0, 1)]}) == {("in", 0): ErrorCode.INVALID_GROUP_ID}
    _end(conn, txn, "g-new", commit=True)
    assert _fetch(conn, 8, "g-new", [0], stable=True)[0]["committed_offset"] == 1


def test_an_older_producer_epoch_is_answered_invalid_producer_epoch(conn: RawKafkaConnection) -> None:
    """As Kafka's transaction verification answers it: the transaction coordinator's PRODUCER_FENCED for an epoch
    older than the one it knows reaches the producer as INVALID_PRODUCER_EPOCH."""
    older = _begin(conn, "txn-epoch", "g-epoch")
    assert _commit(conn, 5, "g-epoch", older, {"in": [(0, 1)]}) == {("in", 0): ErrorCode.NONE}
    # The id's next epoch: as in Kafka, fencing the open transaction takes one epoch (its abort markers), the new
    # producer the next.
    newer = _begin(conn, "txn-epoch", "g-epoch")
    assert (newer.producer_id, newer.producer_epoch) == (older.producer_id, older.producer_epoch + 2)
    assert _commit(conn, 5, "g-epoch", newer, {"in": [(1, 2)]}) == {("in", 1): ErrorCode.NONE}
    for version in (0, 3, 5):
        assert _commit(conn, version, "g-epoch", older, {"in": [(1, 3)]}) == {
            ("in", 1): ErrorCode.INVALID_PRODUCER_EPOCH
        }
    _end(conn, newer, "g-epoch", commit=True)
    answered = _fetch(conn, 8, "g-epoch", [0, 1], stable=True)
    assert [(p["error_code"], p["committed_offset"]) for p in answered.values()] == [
        (ErrorCode.NONE, -1),
        (ErrorCode.NONE, 2),
    ]


def test_a_node_that_does_not_coordinate_answers_not_coordinator(tmp_path: Path) -> None:
    started = InProcessNode(tmp_path, QUICK_GROUPS)
    started.add_listener()
    with started:
        started.node.store.create_topic("in", 1)
        with RawKafkaConnection("127.0.0.1", started.server.port) as conn:
            txn = _begin(conn, "txn-nc", "g")
            started.node.coordinator.resign()
            assert _commit(conn, 5, "g", txn, {"in": [(0, 1)]}) == {("in", 0): ErrorCode.NOT_COORDINATOR}
            assert _commit(conn, 0, "g", txn, {"in": [(0, 1)]}) == {("in", 0): ErrorCode.NOT_COORDINATOR}


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
