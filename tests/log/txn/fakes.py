"""In-memory stand-ins for the transaction coordinator's collaborators: its state log and the log's MarkerWriter."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import Future

from hub.log.error_codes import ErrorCode
from hub.log.errors import NotLeaderOrFollowerError
from hub.log.group.offsets_log import Record
from hub.log.txn.contracts import TopicPartitionKey, TxnMarker


class MemoryTxnStateLog:
    """``__transaction_state`` in memory; ``fail`` makes appends raise it."""

    def __init__(self, partitions: int = 50) -> None:
        self.partitions = partitions
        self.records: dict[int, list[Record]] = defaultdict(list)
        self.fail: Exception | None = None

    def partition_count(self) -> int:
        return self.partitions

    def append(self, partition: int, records: Sequence[Record]) -> None:
        if self.fail is not None:
            raise self.fail
        self.records[partition].extend(records)

    def read_all(self, partition: int) -> Iterable[Record]:
        return list(self.records[partition])


class RecordingMarkerWriter:
    """Answers each partition's marker with ``errors`` (NONE by default) at once, or holds the answers while
    ``hold`` is set (``release()`` answers them)."""

    def __init__(self) -> None:
        self.written: list[TxnMarker] = []
        self.errors: dict[TopicPartitionKey, list[ErrorCode]] = {}
        self.hold = False
        self._held: list[tuple[TxnMarker, Future[dict[tuple[int, TopicPartitionKey], ErrorCode]]]] = []
        self._lock = threading.Lock()

    def write_markers(self, markers: Sequence[TxnMarker]) -> Future[dict[tuple[int, TopicPartitionKey], ErrorCode]]:
        future: Future[dict[tuple[int, TopicPartitionKey], ErrorCode]] = Future()
        with self._lock:
            if self.hold:
                self._held.extend((marker, future) for marker in markers)
                return future
        future.set_result(self._answer(markers))
        return future

    def _answer(self, markers: Sequence[TxnMarker]) -> dict[tuple[int, TopicPartitionKey], ErrorCode]:
        result = {}
        with self._lock:
            for marker in markers:
                for tp in marker.partitions:
                    queued = self.errors.get(tp)
                    error = queued.pop(0) if queued else ErrorCode.NONE
                    result[(marker.producer_id, tp)] = error
                    if error is ErrorCode.NONE:
                        self.written.append(
                            TxnMarker(
                                marker.producer_id,
                                marker.producer_epoch,
                                marker.commit,
                                marker.coordinator_epoch,
                                (tp,),
                            )
                        )
        return result

    def release(self) -> None:
        with self._lock:
            self.hold = False
            held, self._held = self._held, []
        for marker, future in held:
            future.set_result(self._answer([marker]))


def not_leader() -> Exception:
    return NotLeaderOrFollowerError("not the leader")
