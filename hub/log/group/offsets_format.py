"""Record formats of the ``__consumer_offsets`` topic, as Kafka writes them, so Kafka's tools can read ours.

Every key and value starts with an int16 schema version. Strings are int16-length-prefixed UTF-8 (length -1 =
null), bytes are int32-length-prefixed, arrays int32-count-prefixed::

    offset commit key    v1: group string, topic string, partition int32
    offset commit value  v3: offset int64, leader_epoch int32, metadata string, commit_timestamp int64
    group metadata key   v2: group string
    group metadata value v3: protocol_type string, generation int32, protocol string?, leader string?,
                             current_state_timestamp int64,
                             members [member_id string, group_instance_id string?, client_id string,
                                      client_host string, rebalance_timeout int32, session_timeout int32,
                                      subscription bytes, assignment bytes]

A deleted group or offset is a tombstone (null value) for its key. Reading accepts the versions above and the
older offset commit values (v0: offset, metadata, timestamp; v1: plus expire timestamp) that Kafka also reads.
Pure functions; thread-safe.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

OFFSET_KEY_VERSION = 1
OFFSET_VALUE_VERSION = 3
GROUP_KEY_VERSION = 2
GROUP_VALUE_VERSION = 3
#: The longest group id a record key's int16-length string holds, in UTF-8 bytes.
MAX_GROUP_ID_BYTES = 32_767


def valid_group_id(group_id: str) -> bool:
    """Whether ``group_id`` can name a group: not empty, and short enough for the keys of its records."""
    return 0 < len(group_id.encode()) <= MAX_GROUP_ID_BYTES


_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")


class OffsetsFormatError(ValueError):
    """A ``__consumer_offsets`` record could not be decoded."""


@dataclass(frozen=True, slots=True)
class OffsetKey:
    group: str
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class GroupKey:
    group: str


@dataclass(frozen=True, slots=True)
class OffsetValue:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int


@dataclass(frozen=True, slots=True)
class MemberValue:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout_ms: int
    session_timeout_ms: int
    subscription: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupValue:
    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    current_state_timestamp: int
    members: tuple[MemberValue, ...]


class _Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def i16(self, value: int) -> _Writer:
        self.out += _I16.pack(value)
        return self

    def i32(self, value: int) -> _Writer:
        self.out += _I32.pack(value)
        return self

    def i64(self, value: int) -> _Writer:
        self.out += _I64.pack(value)
        return self

    def string(self, value: str | None) -> _Writer:
        if value is None:
            return self.i16(-1)
        data = value.encode()
        self.i16(len(data))
        self.out += data
        return self

    def blob(self, value: bytes) -> _Writer:
        self.i32(len(value))
        self.out += value
        return self


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def _take(self, size: int) -> bytes:
        if size < 0 or self.position + size > len(self.data):
            raise OffsetsFormatError(f"record ends early at byte {self.position} (needs {size} more)")
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk

    def i16(self) -> int:
        return int(_I16.unpack(self._take(2))[0])

    def i32(self) -> int:
        return int(_I32.unpack(self._take(4))[0])

    def i64(self) -> int:
        return int(_I64.unpack(self._take(8))[0])

    def string(self) -> str | None:
        length = self.i16()
        if length == -1:
            return None
        try:
            return self._take(length).decode()
        except UnicodeDecodeError as exc:
            raise OffsetsFormatError(f"string is not UTF-8: {exc}") from None

    def required_string(self) -> str:
        value = self.string()
        if value is None:
            raise OffsetsFormatError("null where a string is required")
        return value

    def blob(self) -> bytes:
        return self._take(self.i32())


def encode_offset_key(key: OffsetKey) -> bytes:
    return bytes(_Writer().i16(OFFSET_KEY_VERSION).string(key.group).string(key.topic).i32(key.partition).out)


def encode_group_key(key: GroupKey) -> bytes:
    return bytes(_Writer().i16(GROUP_KEY_VERSION).string(key.group).out)


def encode_offset_value(value: OffsetValue) -> bytes:
    writer = _Writer().i16(OFFSET_VALUE_VERSION).i64(value.offset).i32(value.leader_epoch)
    return bytes(writer.string(value.metadata).i64(value.commit_timestamp).out)


def encode_group_value(value: GroupValue) -> bytes:
    writer = _Writer().i16(GROUP_VALUE_VERSION).string(value.protocol_type).i32(value.generation)
    writer.string(value.protocol).string(value.leader).i64(value.current_state_timestamp).i32(len(value.members))
    for member in value.members:
        writer.string(member.member_id).string(member.group_instance_id).string(member.client_id)
        writer.string(member.client_host).i32(member.rebalance_timeout_ms).i32(member.session_timeout_ms)
        writer.blob(member.subscription).blob(member.assignment)
    return bytes(writer.out)


def decode_key(data: bytes) -> OffsetKey | GroupKey:
    """The key of a ``__consumer_offsets`` record; OffsetsFormatError for other versions or bad bytes."""
    reader = _Reader(data)
    version = reader.i16()
    if version in (0, 1):
        key: OffsetKey | GroupKey = OffsetKey(reader.required_string(), reader.required_string(), reader.i32())
    elif version == 2:
        key = GroupKey(reader.required_string())
    else:
        raise OffsetsFormatError(f"unknown __consumer_offsets key version {version}")
    _end(reader)
    return key


def decode_offset_value(data: bytes) -> OffsetValue:
    reader = _Reader(data)
    version = reader.i16()
    if version == 0:
        value = OffsetValue(reader.i64(), -1, reader.required_string(), reader.i64())
    elif version == 1:
        offset, metadata, timestamp = reader.i64(), reader.required_string(), reader.i64()
        reader.i64()  # expire timestamp, unused since Kafka 2.1
        value = OffsetValue(offset, -1, metadata, timestamp)
    elif version in (2, 3):
        offset = reader.i64()
        epoch = reader.i32() if version == 3 else -1
        value = OffsetValue(offset, epoch, reader.required_string(), reader.i64())
    else:
        raise OffsetsFormatError(f"unknown offset commit value version {version}")
    _end(reader)
    return value


def decode_group_value(data: bytes) -> GroupValue:
    reader = _Reader(data)
    version = reader.i16()
    if version != GROUP_VALUE_VERSION:
        raise OffsetsFormatError(f"unsupported group metadata value version {version}")
    protocol_type = reader.required_string()
    generation = reader.i32()
    protocol = reader.string()
    leader = reader.string()
    timestamp = reader.i64()
    members = []
    for _ in range(reader.i32()):
        members.append(
            MemberValue(
                reader.required_string(),
                reader.string(),
                reader.required_string(),
                reader.required_string(),
                reader.i32(),
                reader.i32(),
                reader.blob(),
                reader.blob(),
            )
        )
    _end(reader)
    return GroupValue(protocol_type, generation, protocol, leader, timestamp, tuple(members))


def _end(reader: _Reader) -> None:
    if reader.position != len(reader.data):
        raise OffsetsFormatError(f"{len(reader.data) - reader.position} unexpected bytes at the end of the record")
