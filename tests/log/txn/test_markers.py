"""MarkerDispatcher: each partition's marker goes to its leader — this node's MarkerWriter or WriteTxnMarkers to
another node — and is retried with the leader looked up again until written; deleted partitions are skipped, a
fenced answer stops the sending, a cancelled send ends."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future

from hub.log.error_codes import ErrorCode
from hub.log.txn.contracts import TopicPartitionKey, TxnMarker
from hub.log.txn.markers import MarkerDispatcher, MarkerResults
from tests.log.txn.fakes import RecordingMarkerWriter

MARKER = TxnMarker(7, 1, True, 3, (("a", 0), ("a", 1), ("b", 0)))


class Remote:
    """WriteTxnMarkers to other nodes: records (node, partition) and answers from ``errors`` (NONE by default)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, TopicPartitionKey]] = []
        self.errors: dict[TopicPartitionKey, list[ErrorCode]] = {}

    def __call__(self, node: int, markers: Sequence[TxnMarker]) -> Future[MarkerResults]:
        future: Future[MarkerResults] = Future()
        results: MarkerResults = {}
        for marker in markers:
            for tp in marker.partitions:
                queued = self.errors.get(tp)
                error = queued.pop(0) if queued else ErrorCode.NONE
                if error is ErrorCode.NONE:
                    self.sent.append((node, tp))
                results[(marker.producer_id, tp)] = error
        future.set_result(results)
        return future


def send(dispatcher: MarkerDispatcher, cancelled: bool = False) -> bool:
    done: Future[bool] = Future()
    dispatcher.start()
    try:
        dispatcher.send(MARKER, done.set_result, lambda: cancelled)
        return done.result(5)
    finally:
        dispatcher.close()


def test_each_partition_goes_to_its_leader_and_moves_with_it() -> None:
    local, remote = RecordingMarkerWriter(), Remote()
    leaders = {("a", 0): 1, ("a", 1): 2, ("b", 0): 3}
    remote.errors[("a", 1)] = [ErrorCode.NOT_LEADER_OR_FOLLOWER]
    moves = threading.Lock()

    def leader_of(topic: str, partition: int) -> int:
        with moves:
            node = leaders[(topic, partition)]
            if (topic, partition) == ("a", 1):
                leaders[("a", 1)] = 1  # the leader moved here after the first attempt
            return node

    dispatcher = MarkerDispatcher(
        local, node_id=1, leader_of=leader_of, exists=lambda t, p: True, remote=remote, retry_backoff_ms=1
    )
    assert send(dispatcher) is True
    assert sorted(m.partitions[0] for m in local.written) == [("a", 0), ("a", 1)]
    assert remote.sent == [(3, ("b", 0))]
    assert {m.coordinator_epoch for m in local.written} == {3}


def test_a_partition_with_no_leader_that_no_longer_exists_is_skipped() -> None:
    local = RecordingMarkerWriter()
    dispatcher = MarkerDispatcher(
        local,
        leader_of=lambda topic, partition: None if topic == "b" else 0,
        exists=lambda topic, partition: topic != "b",
        retry_backoff_ms=1,
    )
    assert send(dispatcher) is True
    assert sorted(m.partitions[0] for m in local.written) == [("a", 0), ("a", 1)]


def test_a_fenced_answer_stops_the_sending() -> None:
    local = RecordingMarkerWriter()
    local.errors[("b", 0)] = [ErrorCode.TRANSACTION_COORDINATOR_FENCED]
    assert send(MarkerDispatcher(local, exists=lambda t, p: True, retry_backoff_ms=1)) is False


def test_a_cancelled_send_ends_without_writing() -> None:
    local = RecordingMarkerWriter()
    assert send(MarkerDispatcher(local, exists=lambda t, p: True, retry_backoff_ms=1), cancelled=True) is False
    assert local.written == []


def test_closing_ends_the_sends_waiting_for_a_retry() -> None:
    local = RecordingMarkerWriter()
    local.errors[("a", 0)] = [ErrorCode.NOT_ENOUGH_REPLICAS] * 1000
    dispatcher = MarkerDispatcher(local, exists=lambda t, p: True, retry_backoff_ms=10_000)
    dispatcher.start()
    done: Future[bool] = Future()
    dispatcher.send(MARKER, done.set_result, lambda: False)
    dispatcher.close()
    assert done.result(5) is False
