"""A produce request's batches on their way into a partition log: the checks made before anything is written
(Kafka's ``UnifiedLog.analyzeAndValidateRecords``), the LogAppendTime stamp, and what an append answers.

``check_batches`` reads every batch header of the request and refuses the whole request when one batch is bad, so
a partition writes all of a request or nothing: a batch over ``max.message.bytes`` (RecordTooLargeError), a
producer id without a sequence, anything hub.log.validator refuses, and on compacted topics a record without a key
(InvalidBatchError / InvalidRecordError). Messages start with the partition's name.

``AppendResult`` is what an append answers: where the batches went and a future resolved once they are durable.

``stamp_log_append_time`` rewrites a stamped batch in place for ``message.timestamp.type=LogAppendTime``: the
timestamp-type attribute bit, the max timestamp, and the CRC over both.

Pure functions and immutable results; thread-safe.
"""

from __future__ import annotations

import struct
from concurrent.futures import Future
from dataclasses import dataclass

import crc32c

from hub.log.batch import ATTR_TIMESTAMP_TYPE, BatchHeader, iter_batches, parse_header
from hub.log.config import TopicConfig
from hub.log.errors import InvalidBatchError, InvalidRecordError, RecordTooLargeError
from hub.log.records import decode_batch
from hub.log.validator import decompressed_limit, validate_client_batch

_ATTRS_AND_MAX_TS = struct.Struct(">h")

Batches = list[tuple[int, BatchHeader]]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Where an append went. ``durable`` resolves once the data is on disk per the topic's flush policy."""

    base_offset: int
    last_offset: int
    log_append_time_ms: int
    record_count: int
    batch_count: int
    durable: Future[None]

    def wait(self, timeout_s: float | None = None) -> AppendResult:
        """Block until the append is durable; raises what the fsync raised."""
        self.durable.result(timeout_s)
        return self


def _resolved() -> Future[None]:
    future: Future[None] = Future()
    future.set_result(None)
    return future


#: Shared by every append that needs no fsync wait; a resolved future cannot change.
DONE = _resolved()


def check_batches(name: str, data: bytes | bytearray | memoryview, config: TopicConfig) -> Batches:
    """Every batch of ``data`` as (position, header), once all of them pass the checks (module docstring)."""
    headers = list(iter_batches(data))
    if not headers:
        raise InvalidBatchError("no record batch in the request")
    max_bytes = config.values["max.message.bytes"]  # plain dict lookups: this is the hot path
    max_decompressed = decompressed_limit(max_bytes)
    for position, header in headers:
        if header.size > max_bytes:
            raise RecordTooLargeError(
                f"{name}: batch at position {position} is {header.size} bytes, max.message.bytes is {max_bytes}"
            )
    for position, header in headers:
        if header.producer_id >= 0 and header.base_sequence < 0:
            raise InvalidBatchError(f"{name}: batch at position {position} has a producer id but no sequence")
        try:
            validate_client_batch(data, position, header, max_decompressed_bytes=max_decompressed)
        except InvalidBatchError as exc:
            raise type(exc)(f"{name}: {exc}") from None
    if config.compact:
        _check_keys(name, data, headers)
    return headers


def _check_keys(name: str, data: bytes | bytearray | memoryview, headers: Batches) -> None:
    for position, header in headers:
        if header.is_control:
            continue
        for record in decode_batch(data, position).records:
            if record.key is None:
                raise InvalidRecordError(
                    f"{name} is compacted: every record needs a key (offset delta "
                    f"{record.offset - header.base_offset} has none)"
                )


def stamp_log_append_time(buffer: bytearray, position: int, now_ms: int) -> None:
    """Mark a batch LogAppendTime with ``now_ms`` as its max timestamp and recompute its CRC."""
    (attributes,) = _ATTRS_AND_MAX_TS.unpack_from(buffer, position + 21)
    _ATTRS_AND_MAX_TS.pack_into(buffer, position + 21, attributes | ATTR_TIMESTAMP_TYPE)
    struct.pack_into(">q", buffer, position + 35, now_ms)
    end = position + parse_header(buffer, position).size
    struct.pack_into(">I", buffer, position + 17, crc32c.crc32c(memoryview(buffer)[position + 21 : end]))
