"""The records of ``__transaction_state`` in Kafka's formats, and which of its partitions holds a transactional id.

Key (TransactionLogKey, version 0): ``int16 version | string transactional_id`` (a string being an int16 length
and UTF-8 bytes). Value (TransactionLogValue), a tombstone (None) once the id expired; version 0, written here as a
Kafka broker writes it while ``transaction.version`` is below 2::

    int16 version = 0 | int64 producer_id | int16 producer_epoch | int32 transaction_timeout_ms | int8 status
    | int32 count (-1: null) of (string topic | int32 count of int32 partition) | int64 last_update_ms | int64 start_ms

Version 1 (flexible: compact strings and arrays, tagged fields 0 previous producer id, 1 next producer id,
2 client transaction version) is read too. An Empty state has a null partition list. A record of an unknown
version raises ValueError.

The partition of an id is Kafka's: ``abs(hash) % partitions`` with Java's ``String.hashCode`` over UTF-16 code
units, and Kafka's ``Utils.abs`` (whose abs of Integer.MIN_VALUE is 0).

Pure functions.
"""

from __future__ import annotations

import struct
from collections import defaultdict

from hub.log.txn.metadata import TxnRecord, TxnState

KEY_VERSION = 0
VALUE_VERSION = 0
#: The longest transactional id the key's int16-length string holds, in UTF-8 bytes.
MAX_TRANSACTIONAL_ID_BYTES = 32_767

_HEAD = struct.Struct(">hqhib")
_TIMES = struct.Struct(">qq")


def java_string_hash(text: str) -> int:
    """Java's ``String.hashCode``: a 32-bit signed sum over the UTF-16 code units."""
    h = 0
    data = text.encode("utf-16-be")
    for index in range(0, len(data), 2):
        h = (31 * h + ((data[index] << 8) | data[index + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(transactional_id: str, partitions: int) -> int:
    """The ``__transaction_state`` partition of an id, as Kafka computes it."""
    h = java_string_hash(transactional_id)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def encode_key(transactional_id: str) -> bytes:
    return struct.pack(">h", KEY_VERSION) + _string(transactional_id)


def decode_key(data: bytes) -> str | None:
    """The transactional id of a key; None for a key of another version (Kafka skips those)."""
    (version,) = struct.unpack_from(">h", data)
    if version != KEY_VERSION:
        return None
    (length,) = struct.unpack_from(">h", data, 2)
    return data[4 : 4 + length].decode()


def encode_value(record: TxnRecord) -> bytes:
    if record.state is TxnState.EMPTY and record.partitions:
        raise ValueError(f"{record.transactional_id}: an Empty transaction has no partitions")
    out = bytearray(
        _HEAD.pack(VALUE_VERSION, record.producer_id, record.producer_epoch, record.timeout_ms, record.state.value)
    )
    if record.state is TxnState.EMPTY:
        out += struct.pack(">i", -1)
    else:
        by_topic: dict[str, list[int]] = defaultdict(list)
        for topic, partition in sorted(record.partitions):
            by_topic[topic].append(partition)
        out += struct.pack(">i", len(by_topic))
        for topic, indexes in by_topic.items():
            out += _string(topic) + struct.pack(f">i{len(indexes)}i", len(indexes), *indexes)
    out += _TIMES.pack(record.last_update_ms, record.start_ms)
    return bytes(out)


def decode_value(transactional_id: str, data: bytes) -> TxnRecord:
    (version,) = struct.unpack_from(">h", data)
    if version == 0:
        return _decode_v0(transactional_id, data)
    if version == 1:
        return _Flexible(data).record(transactional_id)
    raise ValueError(f"{transactional_id}: unknown __transaction_state value version {version}")


def _decode_v0(transactional_id: str, data: bytes) -> TxnRecord:
    _, producer_id, epoch, timeout_ms, status = _HEAD.unpack_from(data)
    position = _HEAD.size
    (count,) = struct.unpack_from(">i", data, position)
    position += 4
    partitions: set[tuple[str, int]] = set()
    for _ in range(max(count, 0)):
        (length,) = struct.unpack_from(">h", data, position)
        topic = data[position + 2 : position + 2 + length].decode()
        position += 2 + length
        (n,) = struct.unpack_from(">i", data, position)
        indexes = struct.unpack_from(f">{n}i", data, position + 4)
        position += 4 + 4 * n
        partitions.update((topic, index) for index in indexes)
    last_update_ms, start_ms = _TIMES.unpack_from(data, position)
    return _record(transactional_id, producer_id, epoch, timeout_ms, status, partitions, last_update_ms, start_ms)


def _record(
    transactional_id: str,
    producer_id: int,
    epoch: int,
    timeout_ms: int,
    status: int,
    partitions: set[tuple[str, int]],
    last_update_ms: int,
    start_ms: int,
    previous_producer_id: int = -1,
) -> TxnRecord:
    state = TxnState(status)
    return TxnRecord(
        transactional_id,
        producer_id,
        epoch,
        timeout_ms,
        state,
        frozenset() if state is TxnState.EMPTY else frozenset(partitions),
        start_ms,
        last_update_ms,
        previous_producer_id,
    )


class _Flexible:
    """A reader of version 1 (compact encodings, tagged fields)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 2

    def uvarint(self) -> int:
        shift = result = 0
        while True:
            byte = self.data[self.position]
            self.position += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    def fixed(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.position)
        self.position += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        length = self.uvarint() - 1
        text = self.data[self.position : self.position + length].decode()
        self.position += length
        return text

    def tags(self) -> dict[int, bytes]:
        found = {}
        for _ in range(self.uvarint()):
            tag, size = self.uvarint(), self.uvarint()
            found[tag] = self.data[self.position : self.position + size]
            self.position += size
        return found

    def record(self, transactional_id: str) -> TxnRecord:
        producer_id, epoch = self.fixed(">q"), self.fixed(">h")
        timeout_ms, status = self.fixed(">i"), self.fixed(">b")
        partitions: set[tuple[str, int]] = set()
        for _ in range(self.uvarint() - 1):
            topic = self.string()
            for _ in range(self.uvarint() - 1):
                partitions.add((topic, self.fixed(">i")))
            self.tags()
        last_update_ms, start_ms = self.fixed(">q"), self.fixed(">q")
        tags = self.tags()
        previous = struct.unpack(">q", tags[0])[0] if 0 in tags else -1
        return _record(
            transactional_id, producer_id, epoch, timeout_ms, status, partitions, last_update_ms, start_ms, previous
        )
