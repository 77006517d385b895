"""The coordinators' OrderedWriter, as the group coordinator's offsets writer: one thread appends the records in the
order queued, writes queued during an append go together into the next one (a transaction's alone), writes no
longer current are skipped, and every write completes once, in order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

import pytest

from hub.log.group.offsets_writer import offsets_writer
from hub.log.ordered_writer import StaleWriteError, WriterClosedError

Records = Sequence[tuple[bytes, bytes | None]]


class GatedLog:
    def __init__(self) -> None:
        self.appends: list[list[tuple[bytes, bytes | None]]] = []
        self.producers: list[tuple[int, int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.appending = threading.Event()
        self.failure: Exception | None = None

    def append(self, records: Records, *, producer_id: int = -1, producer_epoch: int = -1) -> None:
        self.appending.set()
        self.gate.wait(10)
        if self.failure is not None:
            raise self.failure
        self.appends.append(list(records))
        self.producers.append((producer_id, producer_epoch))

    def read_all(self) -> Iterable[tuple[bytes, bytes | None]]:
        return [record for batch in self.appends for record in batch]


def _record(n: int) -> tuple[bytes, bytes | None]:
    return b"k%d" % n, b"v%d" % n


def _completer(completed: list[tuple[int, BaseException | None]], n: int) -> Callable[[BaseException | None], None]:
    return lambda exc: completed.append((n, exc))


def test_writes_queued_during_an_append_go_together_in_order_and_complete_in_order() -> None:
    log = GatedLog()
    writer = offsets_writer(log)
    writer.start()
    completed: list[tuple[int, BaseException | None]] = []
    try:
        log.gate.clear()
        writer.submit(None, [_record(0)], lambda: True, lambda exc: completed.append((0, exc)))
        assert log.appending.wait(5)
        for n in (1, 2, 3):
            writer.submit(None, [_record(n)], lambda: True, _completer(completed, n))
        log.gate.set()
        writer.barrier()
    finally:
        writer.close()
    assert log.appends == [[_record(0)], [_record(1), _record(2), _record(3)]]
    assert completed == [(0, None), (1, None), (2, None), (3, None)]


def test_a_transactions_write_is_appended_alone_as_its_producers_batch() -> None:
    log = GatedLog()
    writer = offsets_writer(log)
    writer.start()
    try:
        log.gate.clear()
        writer.submit(None, [_record(0)], lambda: True, lambda exc: None)
        assert log.appending.wait(5)
        writer.submit((7, 2), [_record(1)], lambda: True, lambda exc: None)
        writer.submit((7, 2), [_record(2)], lambda: True, lambda exc: None)
        writer.submit(None, [_record(3)], lambda: True, lambda exc: None)
        writer.submit(None, [_record(4)], lambda: True, lambda exc: None)
        log.gate.set()
        writer.barrier()
    finally:
        writer.close()
    assert log.appends == [[_record(0)], [_record(1)], [_record(2)], [_record(3), _record(4)]]
    assert log.producers == [(-1, -1), (7, 2), (7, 2), (-1, -1)]


def test_a_write_no_longer_current_is_skipped_and_a_failed_append_fails_its_writes() -> None:
    log = GatedLog()
    writer = offsets_writer(log)
    writer.start()
    outcomes: list[BaseException | None] = []
    try:
        writer.submit(None, [_record(0)], lambda: False, outcomes.append)
        writer.barrier()
        log.failure = OSError("disk full")
        writer.submit(None, [_record(1)], lambda: True, outcomes.append)
        writer.barrier()
    finally:
        writer.close()
    assert log.appends == []
    assert isinstance(outcomes[0], StaleWriteError)
    assert isinstance(outcomes[1], OSError)


def test_close_completes_what_is_queued_and_refuses_more() -> None:
    log = GatedLog()
    writer = offsets_writer(log)
    writer.start()
    done = threading.Event()
    log.gate.clear()
    writer.submit(None, [_record(0)], lambda: True, lambda exc: None)
    assert log.appending.wait(5)
    writer.submit(None, [_record(1)], lambda: True, lambda exc: done.set())
    closing = threading.Thread(target=writer.close)
    closing.start()
    log.gate.set()
    closing.join(5)
    assert done.is_set()
    assert log.appends == [[_record(0)], [_record(1)]]
    with pytest.raises(WriterClosedError):
        writer.submit(None, [_record(2)], lambda: True, lambda exc: None)
