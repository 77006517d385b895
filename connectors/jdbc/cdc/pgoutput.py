"""A decoder of PostgreSQL's built-in logical decoding output plugin, ``pgoutput`` (protocol version 1).

Each message of a decoding session (one row of ``pg_logical_slot_peek_binary_changes``) is decoded into a typed
event: Begin, Commit, Relation (a table's columns, sent before its first change in a session and again after a
schema change), Insert, Update, Delete, Truncate. Column values arrive as PostgreSQL's text form; the caller turns
them into Python values with the column's type OID. The layout is PostgreSQL's documented "Logical Replication
Message Formats"; unknown message kinds (origins, types, logical messages) decode to None and are skipped.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass

#: PostgreSQL timestamps count microseconds from 2000-01-01 UTC.
PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PG_EPOCH_MICROS = int(PG_EPOCH.timestamp()) * 1_000_000

UNCHANGED_TOAST = object()
"""The value of a large column an UPDATE did not change (PostgreSQL does not resend it)."""


class DecodeError(ValueError):
    """A message is truncated or of an unexpected shape."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type_oid: int
    type_modifier: int
    is_key: bool


@dataclass(frozen=True, slots=True)
class Begin:
    final_lsn: int
    commit_micros: int  # since the Unix epoch
    xid: int


@dataclass(frozen=True, slots=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    commit_micros: int


@dataclass(frozen=True, slots=True)
class Relation:
    relation_id: int
    schema: str
    table: str
    replica_identity: str  # d(efault), n(othing), f(ull), i(ndex)
    columns: tuple[Column, ...]


#: A row: per column, its text (bytes), None for NULL, or UNCHANGED_TOAST.
Tuple = tuple[bytes | object | None, ...]


@dataclass(frozen=True, slots=True)
class Insert:
    relation_id: int
    new: Tuple


@dataclass(frozen=True, slots=True)
class Update:
    relation_id: int
    old: Tuple | None  # the key (K) or whole old row (O), when the replica identity sends it
    new: Tuple


@dataclass(frozen=True, slots=True)
class Delete:
    relation_id: int
    old: Tuple
    old_is_key_only: bool


@dataclass(frozen=True, slots=True)
class Truncate:
    relation_ids: tuple[int, ...]


Message = Begin | Commit | Relation | Insert | Update | Delete | Truncate


class _Reader:
    __slots__ = ("data", "position")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.position = 0

    def take(self, size: int) -> bytes:
        end = self.position + size
        if end > len(self.data):
            raise DecodeError(f"message truncated at byte {self.position} (wanted {size} more)")
        chunk = self.data[self.position : end]
        self.position = end
        return chunk

    def byte(self) -> str:
        return chr(self.take(1)[0])

    def int8(self) -> int:
        return self.take(1)[0]

    def int16(self) -> int:
        value: int = struct.unpack(">h", self.take(2))[0]
        return value

    def int32(self) -> int:
        value: int = struct.unpack(">i", self.take(4))[0]
        return value

    def uint32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def int64(self) -> int:
        value: int = struct.unpack(">q", self.take(8))[0]
        return value

    def string(self) -> str:
        end = self.data.find(b"\0", self.position)
        if end < 0:
            raise DecodeError(f"unterminated string at byte {self.position}")
        text = self.data[self.position : end].decode()
        self.position = end + 1
        return text

    def tuple(self) -> Tuple:
        values: list[bytes | object | None] = []
        for _ in range(self.int16()):
            kind = self.byte()
            if kind == "n":
                values.append(None)
            elif kind == "u":
                values.append(UNCHANGED_TOAST)
            elif kind in ("t", "b"):
                values.append(self.take(self.int32()))
            else:
                raise DecodeError(f"unknown tuple column kind {kind!r}")
        return tuple(values)


def _micros(pg_micros: int) -> int:
    return pg_micros + PG_EPOCH_MICROS


def decode(data: bytes) -> Message | None:
    """One pgoutput message; None for kinds Hub does not act on."""
    reader = _Reader(bytes(data))
    kind = reader.byte()
    if kind == "B":
        return Begin(reader.int64(), _micros(reader.int64()), reader.uint32())
    if kind == "C":
        reader.int8()  # flags, unused
        return Commit(reader.int64(), reader.int64(), _micros(reader.int64()))
    if kind == "R":
        relation_id = reader.uint32()
        schema, table = reader.string(), reader.string()
        identity = chr(reader.int8())
        columns = []
        for _ in range(reader.int16()):
            flags = reader.int8()
            name = reader.string()
            columns.append(Column(name, reader.uint32(), reader.int32(), bool(flags & 1)))
        return Relation(relation_id, schema, table, identity, tuple(columns))
    if kind == "I":
        relation_id = reader.uint32()
        reader.byte()  # 'N'
        return Insert(relation_id, reader.tuple())
    if kind == "U":
        relation_id = reader.uint32()
        marker = reader.byte()
        old = None
        if marker in ("K", "O"):
            old = reader.tuple()
            marker = reader.byte()
        if marker != "N":
            raise DecodeError(f"update of relation {relation_id}: expected a new tuple, got {marker!r}")
        return Update(relation_id, old, reader.tuple())
    if kind == "D":
        relation_id = reader.uint32()
        marker = reader.byte()
        return Delete(relation_id, reader.tuple(), marker == "K")
    if kind == "T":
        count = reader.int32()
        reader.int8()  # options (CASCADE, RESTART IDENTITY)
        return Truncate(tuple(reader.uint32() for _ in range(count)))
    return None


def lsn_text(lsn: int) -> str:
    """PostgreSQL's ``X/Y`` form of an LSN."""
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def lsn_int(text: str) -> int:
    """The integer of an ``X/Y`` LSN."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)
