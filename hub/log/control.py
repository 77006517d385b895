"""Transaction markers: the control batches that end a transaction in a partition (Kafka's ``EndTransactionMarker``).

A marker is a RecordBatch v2 with the control and transactional attribute bits set, the transaction's producer id
and epoch, no sequence (-1), and one record (all integers big-endian)::

    key   int16 version (0) | int16 type (0 = ABORT, 1 = COMMIT)
    value int16 version (0) | int32 coordinator epoch

Kafka's clients read exactly this: a read_committed consumer drops control batches and, on an ABORT, stops skipping
the producer's records. A key of an unknown type or version is refused (InvalidRecordError) when a marker is read.

Pure functions; thread-safe.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from hub.log.batch import HEADER_SIZE, BatchHeader
from hub.log.errors import InvalidRecordError
from hub.log.records import NewRecord, decode_batch, encode_batch

ABORT = 0
COMMIT = 1
CONTROL_VERSION = 0

_KEY = struct.Struct(">hh")
_VALUE = struct.Struct(">hi")


@dataclass(frozen=True, slots=True)
class EndTxnMarker:
    """What a marker says: commit or abort, and the epoch of the coordinator that wrote it."""

    commit: bool
    coordinator_epoch: int


def encode_marker(
    producer_id: int,
    producer_epoch: int,
    commit: bool,
    coordinator_epoch: int,
    *,
    timestamp: int | None = None,
    partition_leader_epoch: int = -1,
) -> bytes:
    """One control batch ending ``producer_id``'s transaction (base offset 0; the log stamps it)."""
    record = NewRecord(
        _KEY.pack(CONTROL_VERSION, COMMIT if commit else ABORT),
        _VALUE.pack(CONTROL_VERSION, coordinator_epoch),
        timestamp=timestamp,
    )
    return encode_batch(
        [record],
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        transactional=True,
        control=True,
        partition_leader_epoch=partition_leader_epoch,
    )


def control_type(key: bytes | None) -> int:
    """ABORT or COMMIT from a control record's key; InvalidRecordError for anything else (Kafka also knows
    leader-change and snapshot control records, which only its metadata log holds)."""
    if key is None or len(key) < _KEY.size:
        raise InvalidRecordError("control record without a version and type key")
    version, kind = _KEY.unpack_from(key)
    if version != CONTROL_VERSION or kind not in (ABORT, COMMIT):
        raise InvalidRecordError(f"control record of version {version} and type {kind} is not a transaction marker")
    return int(kind)


def decode_marker(batch: bytes | bytearray | memoryview, position: int = 0) -> EndTxnMarker:
    """The marker held by the control batch at ``position``; InvalidRecordError when it is not one."""
    decoded = decode_batch(batch, position)
    if not decoded.header.is_control or len(decoded.records) != 1:
        raise InvalidRecordError(f"batch at offset {decoded.header.base_offset} is not a transaction marker")
    record = decoded.records[0]
    kind = control_type(record.key)
    value = record.value or b""
    if len(value) < _VALUE.size:
        raise InvalidRecordError(f"transaction marker at offset {record.offset} has no coordinator epoch")
    _, coordinator_epoch = _VALUE.unpack_from(value)
    return EndTxnMarker(kind == COMMIT, int(coordinator_epoch))


def is_marker_header(header: BatchHeader) -> bool:
    """A control batch of a producer: the only control batches a data partition holds."""
    return header.is_control and header.producer_id >= 0 and header.size > HEADER_SIZE
