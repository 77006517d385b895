"""Wire types of the Kafka protocol: varints, length prefixes and one encoder/decoder pair per value type.

Each ``*_codec`` factory returns ``(encode, decode)`` closures for one field, specialised at compile time for the
version's compactness and nullability::

    encode(value, buf: bytearray, big: list[(position, buffer)]) -> None     appends to buf
    decode(buf, pos) -> (value, new_pos)                                      buf is a memoryview of the input

Layouts (big-endian): fixed-width ints and float64; bool = int8; uuid = 16 bytes; string = int16 length + UTF-8;
bytes/records = int32 length + bytes; array = int32 count + items; -1 = null. In flexible versions lengths and
counts are unsigned varints of N + 1 (0 = null). Unsigned varints are 7 bits per byte, low group first, high bit =
more bytes follow (not zig-zag).

Errors are raised as ``Malformed`` / ``BadValue`` carrying the field path; hub.log.protocol.codec turns them into
the public errors with the message name and version. Pure functions; thread-safe.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from typing import Any

ZERO_COPY_MIN_BYTES = 1024

Buffer = bytes | bytearray | memoryview
Big = list[tuple[int, Buffer]]
EncodeFn = Callable[[Any, bytearray, Big], None]
DecodeFn = Callable[[Buffer, int], tuple[Any, int]]

FIXED: dict[str, str] = {
    "int8": "b",
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "int64": "q",
    "float64": "d",
}
_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")


class Malformed(Exception):  # noqa: N818 - a signal inside the codec, re-raised as ProtocolDecodeError
    """Bytes do not decode; ``field`` is the dotted path of the field being read."""

    def __init__(self, field: str, position: int, reason: str) -> None:
        super().__init__(reason)
        self.field, self.position, self.reason = field, position, reason


class BadValue(Exception):  # noqa: N818 - a signal inside the codec, re-raised as ProtocolEncodeError
    """A value does not fit its field; ``field`` is the dotted path of the field being written."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def in_range(version: int, versions: tuple[int, int] | None) -> bool:
    return versions is not None and versions[0] <= version <= versions[1]


def write_uvarint(buf: bytearray, n: int) -> None:
    while n >= 0x80:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def read_uvarint(buf: Buffer, pos: int, field: str) -> tuple[int, int]:
    result = shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise Malformed(field, pos, "truncated unsigned varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 28:
            raise Malformed(field, pos, "unsigned varint longer than 5 bytes")


def need(buf: Buffer, pos: int, n: int, field: str) -> int:
    end = pos + n
    if end > len(buf):
        raise Malformed(field, pos, f"truncated: needs {n} bytes, {len(buf) - pos} left")
    return end


def byte_len(piece: Buffer) -> int:
    return piece.nbytes if isinstance(piece, memoryview) else len(piece)


# --- lengths -------------------------------------------------------------------------------------------------------


def _length_codec(
    compact: bool, fmt: struct.Struct, nullable: bool, field: str
) -> tuple[Callable[[bytearray, int], None], Callable[[Buffer, int], tuple[int, int]]]:
    """Writer and reader of a length/count prefix; the reader returns -1 for null and rejects bad values."""
    if compact:

        def write(buf: bytearray, n: int) -> None:
            write_uvarint(buf, n + 1)

        def read(buf: Buffer, pos: int) -> tuple[int, int]:
            n, end = read_uvarint(buf, pos, field)
            if n == 0 and not nullable:
                raise Malformed(field, pos, "null in a non-nullable field")
            return n - 1, end

        return write, read

    pack, unpack, size = fmt.pack, fmt.unpack_from, fmt.size

    def write_fixed(buf: bytearray, n: int) -> None:
        buf += pack(n)

    def read_fixed(buf: Buffer, pos: int) -> tuple[int, int]:
        need(buf, pos, size, field)
        (n,) = unpack(buf, pos)
        if n < 0 and (n != -1 or not nullable):
            raise Malformed(field, pos, "null in a non-nullable field" if n == -1 else f"negative length {n}")
        return n, pos + size

    return write_fixed, read_fixed


def _null(write_len: Callable[[bytearray, int], None], nullable: bool, field: str) -> Callable[[bytearray], None]:
    def write_null(buf: bytearray) -> None:
        if not nullable:
            raise BadValue(field, "None in a non-nullable field")
        write_len(buf, -1)

    return write_null


# --- value codecs --------------------------------------------------------------------------------------------------


def fixed_codec(type_name: str, field: str) -> tuple[EncodeFn, DecodeFn]:
    fmt = struct.Struct(">" + FIXED[type_name])
    pack, unpack, size = fmt.pack, fmt.unpack_from, fmt.size

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        buf += pack(v)

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        need(buf, pos, size, field)
        return unpack(buf, pos)[0], pos + size

    return enc, dec


def bool_codec(field: str) -> tuple[EncodeFn, DecodeFn]:
    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is True:
            buf.append(1)
        elif v is False:
            buf.append(0)
        else:
            raise BadValue(field, f"expected bool, got {type(v).__name__}")

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        need(buf, pos, 1, field)
        return buf[pos] != 0, pos + 1

    return enc, dec


def nullable_struct_codec(inner_enc: EncodeFn, inner_dec: DecodeFn, field: str) -> tuple[EncodeFn, DecodeFn]:
    """A struct that may be null: an int8 marker (-1 null, 1 present) before the struct, as Kafka writes it."""

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is None:
            buf.append(0xFF)
        else:
            buf.append(1)
            inner_enc(v, buf, big)

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        need(buf, pos, 1, field)
        if buf[pos] >= 0x80:
            return None, pos + 1
        return inner_dec(buf, pos + 1)

    return enc, dec


def uuid_codec(field: str) -> tuple[EncodeFn, DecodeFn]:
    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if not isinstance(v, uuid.UUID):
            raise BadValue(field, f"expected uuid.UUID, got {type(v).__name__}")
        buf += v.bytes

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        end = need(buf, pos, 16, field)
        return uuid.UUID(bytes=bytes(buf[pos:end])), end

    return enc, dec


def string_codec(compact: bool, nullable: bool, field: str) -> tuple[EncodeFn, DecodeFn]:
    write_len, read_len = _length_codec(compact, _INT16, nullable, field)
    write_null = _null(write_len, nullable, field)

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is None:
            write_null(buf)
            return
        if not isinstance(v, str):
            raise BadValue(field, f"expected str, got {type(v).__name__}")
        data = v.encode()
        write_len(buf, len(data))
        buf += data

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        n, pos = read_len(buf, pos)
        if n < 0:
            return None, pos
        end = need(buf, pos, n, field)
        try:
            return str(buf[pos:end], "utf-8"), end
        except UnicodeDecodeError as e:
            raise Malformed(field, pos, f"invalid UTF-8: {e.reason}") from None

    return enc, dec


def bytes_codec(compact: bool, nullable: bool, records: bool, field: str) -> tuple[EncodeFn, DecodeFn]:
    write_len, read_len = _length_codec(compact, _INT32, nullable, field)
    write_null = _null(write_len, nullable, field)

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is None:
            write_null(buf)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            n = byte_len(v)
            write_len(buf, n)
            if records and n >= ZERO_COPY_MIN_BYTES:
                big.append((len(buf), v))
            else:
                buf += v
        elif records and isinstance(v, (list, tuple)):
            if not all(isinstance(p, (bytes, bytearray, memoryview)) for p in v):
                raise BadValue(field, "expected a list of bytes-like pieces")
            write_len(buf, sum(byte_len(p) for p in v))
            for piece in v:
                if byte_len(piece) >= ZERO_COPY_MIN_BYTES:
                    big.append((len(buf), piece))
                else:
                    buf += piece
        else:
            raise BadValue(field, f"expected bytes-like, got {type(v).__name__}")

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        n, pos = read_len(buf, pos)
        if n < 0:
            return None, pos
        end = need(buf, pos, n, field)
        view = buf[pos:end]
        return (view if records else bytes(view)), end

    return enc, dec


def array_codec(
    item_enc: EncodeFn, item_dec: DecodeFn, item_fixed: str | None, compact: bool, nullable: bool, field: str
) -> tuple[EncodeFn, DecodeFn]:
    write_len, read_len = _length_codec(compact, _INT32, nullable, field)
    write_null = _null(write_len, nullable, field)
    item_size = struct.calcsize(">" + item_fixed) if item_fixed else 1

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is None:
            write_null(buf)
            return
        if not isinstance(v, (list, tuple)):
            raise BadValue(field, f"expected a list, got {type(v).__name__}")
        write_len(buf, len(v))
        if item_fixed:
            buf += struct.pack(f">{len(v)}{item_fixed}", *v)
        else:
            for item in v:
                item_enc(item, buf, big)

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        n, pos = read_len(buf, pos)
        if n < 0:
            return None, pos
        if pos + n * item_size > len(buf):
            raise Malformed(field, pos, f"array of {n} items exceeds the {len(buf) - pos} bytes left")
        if item_fixed:
            return list(struct.unpack_from(f">{n}{item_fixed}", buf, pos)), pos + n * item_size
        items: list[Any] = []
        append = items.append
        for _ in range(n):
            item, pos = item_dec(buf, pos)
            append(item)
        return items, pos

    return enc, dec
