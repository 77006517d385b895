"""The Avro binary of one datum, written and read by fastavro, by the quickest entry fastavro has.

``schemaless_writer`` and ``schemaless_reader`` set up an output buffer, named-type tables and options on every
call, which costs as much as encoding a small record. Their inner functions (``fastavro._write.write_data``,
``fastavro._read._read_data``) do the work alone. ``codec`` uses them when this fastavro has them and they agree
with the public functions — checked once per process on a datum that has every kind of Avro type (nested and
referenced records, unions of records, maps, arrays, enums, fixed, logical types) — and the public functions
otherwise. A datum that does not fit its schema raises what fastavro raises either way.

Encoders and decoders hold no state between calls: safe from any thread.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import io
from collections.abc import Callable
from typing import Any

Encode = Callable[[bytes, Any], bytes]
Decode = Callable[[io.BytesIO], Any]
#: How the converter reads unions of several records: as (record name, record) pairs.
READ_OPTIONS = {"return_record_name": True, "return_record_name_override": True}
#: The options fastavro's public functions give its inner ones (for READ_OPTIONS, when reading).
WRITE_OPTIONS = {"strict": False, "strict_allow_default": False, "disable_tuple_notation": False}
INNER_READ_OPTIONS = {
    **READ_OPTIONS,
    "handle_unicode_errors": "strict",
    "return_named_type": False,
    "return_named_type_override": False,
}

_CHECK_SCHEMA = {
    "type": "record",
    "name": "Check",
    "namespace": "hub.check",
    "fields": [
        {"name": "n", "type": "long"},
        {"name": "s", "type": ["null", "string"]},
        {"name": "inner", "type": {"type": "record", "name": "Inner", "fields": [{"name": "a", "type": "int"}]}},
        {"name": "again", "type": "Inner"},
        {
            "name": "either",
            "type": ["Inner", {"type": "record", "name": "Other", "fields": [{"name": "b", "type": "int"}]}],
        },
        {"name": "m", "type": {"type": "map", "values": "double"}},
        {"name": "xs", "type": {"type": "array", "items": "float"}},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["X", "Y"]}},
        {"name": "f", "type": {"type": "fixed", "name": "F", "size": 2}},
        {"name": "d", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "t", "type": {"type": "int", "logicalType": "time-millis"}},
    ],
}
_CHECK_DATUM = {
    "n": -(2**40),
    "s": "é",
    "inner": {"a": 1},
    "again": {"a": 2},
    "either": ("hub.check.Other", {"b": 3}),
    "m": {"k": 0.5},
    "xs": [1.5],
    "e": "Y",
    "f": b"ab",
    "d": decimal.Decimal("12.34"),
    "day": dt.date(2024, 2, 29),
    "at": dt.datetime(2024, 2, 29, 1, 2, 3, 4000, tzinfo=dt.UTC),
    "t": dt.time(1, 2, 3, 4000),
}


def public_codec(parsed: Any) -> tuple[Encode, Decode]:
    """Encoder (header, datum → header + Avro binary) and decoder (stream → datum) through fastavro's public API."""
    import fastavro

    writer, reader = fastavro.schemaless_writer, fastavro.schemaless_reader

    def encode(header: bytes, datum: Any) -> bytes:
        out = io.BytesIO()
        out.write(header)
        writer(out, parsed, datum)
        return out.getvalue()

    def decode(stream: io.BytesIO) -> Any:
        return reader(stream, parsed, None, return_record_name=True, return_record_name_override=True)

    return encode, decode


def _inner_codec(parsed: Any) -> tuple[Encode, Decode]:
    from fastavro._read import _read_data  # type: ignore[attr-defined]
    from fastavro._write import write_data  # type: ignore[attr-defined]

    named_write = parsed.get("__named_schemas", {}) if isinstance(parsed, dict) else {}
    named_read = {"writer": named_write, "reader": {}}
    write_options = dict(WRITE_OPTIONS)
    read_options = dict(INNER_READ_OPTIONS)

    def encode(header: bytes, datum: Any) -> bytes:
        out = bytearray(header)
        write_data(out, datum, parsed, named_write, "", write_options)
        return bytes(out)

    def decode(stream: io.BytesIO) -> Any:
        return _read_data(stream, parsed, named_read, None, read_options)

    return encode, decode


@functools.cache
def inner_functions_agree() -> bool:
    """Whether fastavro's inner functions exist here and write and read what its public functions do."""
    import fastavro

    parsed = fastavro.parse_schema(_CHECK_SCHEMA)
    public_encode, public_decode = public_codec(parsed)
    try:
        encode, decode = _inner_codec(parsed)
        expected = public_encode(b"\x00", _CHECK_DATUM)
        return bool(
            encode(b"\x00", _CHECK_DATUM) == expected
            and decode(io.BytesIO(expected[1:])) == public_decode(io.BytesIO(expected[1:])) == _CHECK_DATUM
        )
    except Exception:  # another fastavro: its inner functions are not what this module expects
        return False


def codec(parsed: Any) -> tuple[Encode, Decode]:
    """The quickest encoder and decoder for a parsed schema (see the module docstring)."""
    return _inner_codec(parsed) if inner_functions_agree() else public_codec(parsed)
