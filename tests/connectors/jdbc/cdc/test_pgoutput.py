"""The pgoutput decoder on hand-built messages in PostgreSQL's documented layout."""

from __future__ import annotations

import struct

import pytest

from connectors.jdbc.cdc.pgoutput import (
    PG_EPOCH_MICROS,
    UNCHANGED_TOAST,
    Begin,
    Commit,
    DecodeError,
    Delete,
    Insert,
    Relation,
    Truncate,
    Update,
    decode,
    lsn_int,
    lsn_text,
)


def _tuple(*values: bytes | object | None) -> bytes:
    out = struct.pack(">h", len(values))
    for value in values:
        if value is None:
            out += b"n"
        elif value is UNCHANGED_TOAST:
            out += b"u"
        else:
            assert isinstance(value, bytes)
            out += b"t" + struct.pack(">i", len(value)) + value
    return out


def test_begin_and_commit() -> None:
    assert decode(b"B" + struct.pack(">qqI", 100, 5, 42)) == Begin(100, PG_EPOCH_MICROS + 5, 42)
    assert decode(b"C\0" + struct.pack(">qqq", 100, 120, 7)) == Commit(100, 120, PG_EPOCH_MICROS + 7)


def test_relation() -> None:
    columns = b"\x01id\0" + struct.pack(">Ii", 23, -1) + b"\x00name\0" + struct.pack(">Ii", 25, -1)
    message = b"R" + struct.pack(">I", 16384) + b"public\0orders\0d" + struct.pack(">h", 2) + columns
    relation = decode(message)
    assert isinstance(relation, Relation)
    assert (relation.relation_id, relation.schema, relation.table, relation.replica_identity) == (
        16384,
        "public",
        "orders",
        "d",
    )
    assert [(c.name, c.type_oid, c.is_key) for c in relation.columns] == [("id", 23, True), ("name", 25, False)]


def test_insert_update_delete_truncate() -> None:
    relid = struct.pack(">I", 7)
    assert decode(b"I" + relid + b"N" + _tuple(b"1", None)) == Insert(7, (b"1", None))
    assert decode(b"U" + relid + b"N" + _tuple(b"1", UNCHANGED_TOAST)) == Update(7, None, (b"1", UNCHANGED_TOAST))
    assert decode(b"U" + relid + b"O" + _tuple(b"1", b"a") + b"N" + _tuple(b"1", b"b")) == Update(
        7, (b"1", b"a"), (b"1", b"b")
    )
    assert decode(b"D" + relid + b"K" + _tuple(b"1", None)) == Delete(7, (b"1", None), True)
    assert decode(b"T" + struct.pack(">ib", 2, 0) + struct.pack(">II", 7, 8)) == Truncate((7, 8))
    assert decode(b"Y" + struct.pack(">I", 1) + b"public\0mood\0") is None


SHORT_TEXT = b"I" + struct.pack(">I", 7) + b"N" + struct.pack(">h", 1) + b"t\0\0\0\x09ab"


@pytest.mark.parametrize("message", [b"B\0\0", SHORT_TEXT, b"R" + struct.pack(">I", 1) + b"public"])
def test_truncated_messages_are_errors(message: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(message)


def test_lsn_forms() -> None:
    assert lsn_text(lsn_int("16/B374D848")) == "16/B374D848"
    assert lsn_int("0/1") == 1
