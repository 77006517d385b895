"""The embedded consumer's isolation level: read_committed stops at the last stable offset and drops aborted records
and markers itself, read_uncommitted (the default) reads every record; seeks to the end and end offsets follow."""

from __future__ import annotations

from hub.log.broker import Broker
from hub.log.client import IsolationLevel, OffsetSpec, TopicPartition
from hub.log.client.embedded import EmbeddedConsumer
from hub.log.records import NewRecord, encode_batch

PID_A, PID_B = 7001, 7002
TP = TopicPartition("rc", 0)


def _txn(pid: int, sequence: int, value: bytes) -> bytes:
    return encode_batch(
        [NewRecord(None, value)], producer_id=pid, producer_epoch=0, base_sequence=sequence, transactional=True
    )


def _fill(broker: Broker) -> None:
    """0 plain, 1 A, 2 B (aborted), 3 A, 4 B's ABORT, 5 A's COMMIT, 6 plain, 7 A's open transaction."""
    log = broker.partition("rc", 0, create=True)
    log.append_and_wait(encode_batch([NewRecord(None, b"p1")]))
    log.append_and_wait(_txn(PID_A, 0, b"a1"))
    log.append_and_wait(_txn(PID_B, 0, b"b1"))
    log.append_and_wait(_txn(PID_A, 1, b"a2"))
    log.append_marker(PID_B, 0, False, 0).wait()
    log.append_marker(PID_A, 0, True, 0).wait()
    log.append_and_wait(encode_batch([NewRecord(None, b"p2")]))
    log.append_and_wait(_txn(PID_A, 2, b"open"))


def _read(consumer: EmbeddedConsumer) -> list[bytes | None]:
    consumer.assign([TP])
    consumer.seek(TP, OffsetSpec.EARLIEST)
    values: list[bytes | None] = []
    while batch := consumer.poll(0.2):
        values.extend(record.value for record in batch)
    return values


def test_read_committed_drops_aborted_records_and_stops_at_the_open_transaction(broker: Broker) -> None:
    _fill(broker)
    consumer = EmbeddedConsumer(broker, isolation_level=IsolationLevel.READ_COMMITTED)
    assert _read(consumer) == [b"p1", b"a1", b"a2", b"p2"]
    assert consumer.position(TP) == 7
    assert consumer.end_offsets([TP]) == {TP: 7}
    consumer.seek(TP, OffsetSpec.LATEST)
    assert consumer.position(TP) == 7
    broker.store.partition("rc", 0).append_marker(PID_A, 0, True, 0).wait()
    assert [record.value for record in consumer.poll(1.0)] == [b"open"]
    consumer.close()


def test_read_uncommitted_is_the_default_and_reads_everything(broker: Broker) -> None:
    _fill(broker)
    consumer = EmbeddedConsumer(broker)
    assert _read(consumer) == [b"p1", b"a1", b"b1", b"a2", b"p2", b"open"]
    assert consumer.end_offsets([TP]) == {TP: 8}
    consumer.close()
