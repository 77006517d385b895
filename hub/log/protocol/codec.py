"""Encoder and decoder of Kafka protocol messages, compiled from the generated schemas in ``messages.py``.

A schema (a message, or a nested struct) is compiled once per version into a ``MessageCodec``: a list of small
closures, one per field, with runs of fixed-width fields (int8 ... int64, float64) merged into one
``struct.Struct`` call. Messages are plain dicts keyed by the snake_case field names.

Encoding reads each field with ``message.get(name, default)``: a missing key encodes the field's default, a field
not present in the version is not written, a wrong type raises ``ProtocolEncodeError`` naming the field.
Decoding returns a dict holding *every* field of the schema: fields absent from the version (or tagged fields not
sent) carry their default, so callers never branch on the version to read a field.

Wire forms (big-endian)::

    int8/16/32/64, uint16/32, float64    fixed width
    bool                                 int8, 0 = false
    uuid                                 16 bytes
    string                               int16 length (-1 = null) + UTF-8;   compact: uvarint(length + 1), 0 = null
    bytes, records                       int32 length (-1 = null) + bytes;   compact: uvarint(length + 1), 0 = null
    array                                int32 count (-1 = null) + items;    compact: uvarint(count + 1), 0 = null
    struct (flexible versions)           fields, then tagged section: uvarint count, (uvarint tag, uvarint size,
                                         value)* in ascending tag order; unknown tags are skipped on read

Values: ints, bool, float, ``uuid.UUID``, ``str``, ``bytes`` for bytes fields. ``records`` decode as a
``memoryview`` into the input (never copied or parsed here); to encode they may be one bytes-like object or a
list of them (e.g. slices of segment files), and ``encode_to_parts`` hands pieces of at least
``ZERO_COPY_MIN_BYTES`` back as separate buffers instead of copying them.

Compiled codecs are immutable and thread-safe; the encode/decode calls allocate only their own buffers.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from hub.log.protocol.errors import ProtocolDecodeError, ProtocolEncodeError

ZERO_COPY_MIN_BYTES = 1024

Buffer = bytes | bytearray | memoryview
Big = list[tuple[int, Buffer]]
EncodeFn = Callable[[Any, bytearray, Big], None]
DecodeFn = Callable[[Buffer, int], tuple[Any, int]]
FieldEncodeOp = Callable[[Mapping[str, Any], bytearray, Big], None]
FieldDecodeOp = Callable[[Buffer, int, dict[str, Any]], int]

_FIXED: dict[str, str] = {
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
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_ZERO_UUID = uuid.UUID(int=0)


class _Malformed(Exception):  # noqa: N818 - internal signal, converted to ProtocolDecodeError
    def __init__(self, field: str, position: int, reason: str) -> None:
        super().__init__(reason)
        self.field, self.position, self.reason = field, position, reason


class _BadValue(Exception):  # noqa: N818 - internal signal, converted to ProtocolEncodeError
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
            raise _Malformed(field, pos, "truncated unsigned varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 28:
            raise _Malformed(field, pos, "unsigned varint longer than 5 bytes")


def _need(buf: Buffer, pos: int, n: int, field: str) -> int:
    end = pos + n
    if end > len(buf):
        raise _Malformed(field, pos, f"truncated: needs {n} bytes, {len(buf) - pos} left")
    return end


def _byte_len(piece: Buffer) -> int:
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
                raise _Malformed(field, pos, "null in a non-nullable field")
            return n - 1, end

        return write, read

    pack, unpack, size = fmt.pack, fmt.unpack_from, fmt.size

    def write_fixed(buf: bytearray, n: int) -> None:
        buf += pack(n)

    def read_fixed(buf: Buffer, pos: int) -> tuple[int, int]:
        _need(buf, pos, size, field)
        (n,) = unpack(buf, pos)
        if n < 0 and (n != -1 or not nullable):
            raise _Malformed(field, pos, "null in a non-nullable field" if n == -1 else f"negative length {n}")
        return n, pos + size

    return write_fixed, read_fixed


def _null(write_len: Callable[[bytearray, int], None], nullable: bool, field: str) -> Callable[[bytearray], None]:
    def write_null(buf: bytearray) -> None:
        if not nullable:
            raise _BadValue(field, "None in a non-nullable field")
        write_len(buf, -1)

    return write_null


# --- value codecs --------------------------------------------------------------------------------------------------


def _fixed_codec(type_name: str, field: str) -> tuple[EncodeFn, DecodeFn]:
    fmt = struct.Struct(">" + _FIXED[type_name])
    pack, unpack, size = fmt.pack, fmt.unpack_from, fmt.size

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        buf += pack(v)

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        _need(buf, pos, size, field)
        return unpack(buf, pos)[0], pos + size

    return enc, dec


def _bool_codec(field: str) -> tuple[EncodeFn, DecodeFn]:
    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is True:
            buf.append(1)
        elif v is False:
            buf.append(0)
        else:
            raise _BadValue(field, f"expected bool, got {type(v).__name__}")

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        _need(buf, pos, 1, field)
        return buf[pos] != 0, pos + 1

    return enc, dec


def _uuid_codec(field: str) -> tuple[EncodeFn, DecodeFn]:
    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if not isinstance(v, uuid.UUID):
            raise _BadValue(field, f"expected uuid.UUID, got {type(v).__name__}")
        buf += v.bytes

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        end = _need(buf, pos, 16, field)
        return uuid.UUID(bytes=bytes(buf[pos:end])), end

    return enc, dec


def _string_codec(compact: bool, nullable: bool, field: str) -> tuple[EncodeFn, DecodeFn]:
    write_len, read_len = _length_codec(compact, _INT16, nullable, field)
    write_null = _null(write_len, nullable, field)

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is None:
            write_null(buf)
            return
        if not isinstance(v, str):
            raise _BadValue(field, f"expected str, got {type(v).__name__}")
        data = v.encode()
        write_len(buf, len(data))
        buf += data

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        n, pos = read_len(buf, pos)
        if n < 0:
            return None, pos
        end = _need(buf, pos, n, field)
        try:
            return str(buf[pos:end], "utf-8"), end
        except UnicodeDecodeError as e:
            raise _Malformed(field, pos, f"invalid UTF-8: {e.reason}") from None

    return enc, dec


def _bytes_codec(compact: bool, nullable: bool, records: bool, field: str) -> tuple[EncodeFn, DecodeFn]:
    write_len, read_len = _length_codec(compact, _INT32, nullable, field)
    write_null = _null(write_len, nullable, field)

    def enc(v: Any, buf: bytearray, big: Big) -> None:
        if v is None:
            write_null(buf)
        elif isinstance(v, (bytes, bytearray, memoryview)):
            n = _byte_len(v)
            write_len(buf, n)
            if records and n >= ZERO_COPY_MIN_BYTES:
                big.append((len(buf), v))
            else:
                buf += v
        elif records and isinstance(v, (list, tuple)):
            if not all(isinstance(p, (bytes, bytearray, memoryview)) for p in v):
                raise _BadValue(field, "expected a list of bytes-like pieces")
            write_len(buf, sum(_byte_len(p) for p in v))
            for piece in v:
                if _byte_len(piece) >= ZERO_COPY_MIN_BYTES:
                    big.append((len(buf), piece))
                else:
                    buf += piece
        else:
            raise _BadValue(field, f"expected bytes-like, got {type(v).__name__}")

    def dec(buf: Buffer, pos: int) -> tuple[Any, int]:
        n, pos = read_len(buf, pos)
        if n < 0:
            return None, pos
        end = _need(buf, pos, n, field)
        view = buf[pos:end]
        return (view if records else bytes(view)), end

    return enc, dec


def _array_codec(
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
            raise _BadValue(field, f"expected a list, got {type(v).__name__}")
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
            raise _Malformed(field, pos, f"array of {n} items exceeds the {len(buf) - pos} bytes left")
        if item_fixed:
            return list(struct.unpack_from(f">{n}{item_fixed}", buf, pos)), pos + n * item_size
        items: list[Any] = []
        append = items.append
        for _ in range(n):
            item, pos = item_dec(buf, pos)
            append(item)
        return items, pos

    return enc, dec


class CompiledStruct:
    """The encoder, decoder and default factory of one struct schema at one version."""

    __slots__ = ("decode", "encode", "make_default")

    def __init__(self, encode: EncodeFn, decode: DecodeFn, make_default: Callable[[], dict[str, Any]]) -> None:
        self.encode = encode
        self.decode = decode
        self.make_default = make_default


def _default_factory(spec: Mapping[str, Any], version: int, flexible: bool, path: str) -> Callable[[], Any] | None:
    """A factory for a mutable default (list or struct), or None when the generated default is immutable."""
    type_name = spec["type"]
    if type_name == "struct":
        return compile_struct(spec["fields"], version, flexible, path).make_default
    if type_name.startswith("[]") and spec["default"] is not None:
        return list
    return None


def _immutable_default(spec: Mapping[str, Any]) -> Any:
    return _ZERO_UUID if spec["type"] == "uuid" else spec["default"]


def _value_codec(spec: Mapping[str, Any], version: int, flexible: bool, path: str) -> tuple[EncodeFn, DecodeFn]:
    type_name: str = spec["type"]
    nullable = in_range(version, spec.get("nullable_versions"))
    compact = in_range(version, spec["flexible_versions"]) if "flexible_versions" in spec else flexible
    if type_name in _FIXED:
        return _fixed_codec(type_name, path)
    if type_name == "bool":
        return _bool_codec(path)
    if type_name == "uuid":
        return _uuid_codec(path)
    if type_name == "string":
        return _string_codec(compact, nullable, path)
    if type_name in ("bytes", "records"):
        return _bytes_codec(compact, nullable, type_name == "records", path)
    if type_name == "struct":
        nested = compile_struct(spec["fields"], version, flexible, path)
        return nested.encode, nested.decode
    if type_name.startswith("[]"):
        item_type = type_name[2:]
        if item_type == "struct":
            nested = compile_struct(spec["fields"], version, flexible, path + "[]")
            return _array_codec(nested.encode, nested.decode, None, compact, nullable, path)
        item_spec = {"type": item_type}
        if "flexible_versions" in spec:
            item_spec["flexible_versions"] = spec["flexible_versions"]
        item_enc, item_dec = _value_codec(item_spec, version, flexible, path + "[]")
        return _array_codec(item_enc, item_dec, _FIXED.get(item_type), compact, nullable, path)
    raise ValueError(f"{path}: unknown type {type_name!r}")


def _diagnose_pack(
    message: Mapping[str, Any], names: Sequence[str], defaults: Sequence[Any], fmts: str, path: str
) -> _BadValue:
    for name, default, fmt in zip(names, defaults, fmts, strict=True):
        value = message.get(name, default)
        try:
            struct.pack(">" + fmt, value)
        except struct.error as e:
            return _BadValue(_join(path, name), f"{e} (got {value!r})")
    return _BadValue(path, "cannot pack fixed-width fields")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _group_ops(run: list[Mapping[str, Any]], path: str) -> tuple[FieldEncodeOp, FieldDecodeOp]:
    names = tuple(f["name"] for f in run)
    defaults = tuple(f["default"] for f in run)
    fmts = "".join(_FIXED[f["type"]] for f in run)
    fmt = struct.Struct(">" + fmts)
    pack, unpack, size = fmt.pack, fmt.unpack_from, fmt.size
    offsets = [struct.calcsize(">" + fmts[:i]) for i in range(len(fmts))]

    def enc(message: Mapping[str, Any], buf: bytearray, big: Big) -> None:
        try:
            buf += pack(*map(message.get, names, defaults))
        except struct.error:
            raise _diagnose_pack(message, names, defaults, fmts, path) from None

    def dec(buf: Buffer, pos: int, out: dict[str, Any]) -> int:
        if pos + size > len(buf):
            left = len(buf) - pos
            index = max(i for i, off in enumerate(offsets) if off <= max(left, 0))
            raise _Malformed(_join(path, names[index]), pos + offsets[index], "truncated fixed-width field")
        out.update(zip(names, unpack(buf, pos), strict=True))
        return pos + size

    return enc, dec


def _field_ops(
    name: str, default: Any, value_enc: EncodeFn, value_dec: DecodeFn, field: str
) -> tuple[FieldEncodeOp, FieldDecodeOp]:
    def enc(message: Mapping[str, Any], buf: bytearray, big: Big) -> None:
        try:
            value_enc(message.get(name, default), buf, big)
        except (_BadValue, _Malformed):
            raise
        except (struct.error, TypeError, ValueError, OverflowError) as e:
            raise _BadValue(field, str(e)) from None

    def dec(buf: Buffer, pos: int, out: dict[str, Any]) -> int:
        out[name], pos = value_dec(buf, pos)
        return pos

    return enc, dec


_COMPILED: dict[tuple[int, int, bool], tuple[Sequence[Mapping[str, Any]], CompiledStruct]] = {}


def compile_struct(fields: Sequence[Mapping[str, Any]], version: int, flexible: bool, path: str = "") -> CompiledStruct:
    """Compile a struct's fields (generated schema data) for one version; results are cached."""
    key = (id(fields), version, flexible)
    cached = _COMPILED.get(key)
    if cached is not None and cached[0] is fields:
        return cached[1]
    static_defaults: dict[str, Any] = {}
    factories: list[tuple[str, Callable[[], Any]]] = []
    enc_ops: list[FieldEncodeOp] = []
    dec_ops: list[FieldDecodeOp] = []
    tagged: dict[int, tuple[str, EncodeFn, DecodeFn, bytes | None, str]] = {}
    run: list[Mapping[str, Any]] = []

    def flush_run() -> None:
        if run:
            enc_op, dec_op = _group_ops(list(run), path)
            enc_ops.append(enc_op)
            dec_ops.append(dec_op)
            run.clear()

    for spec in fields:
        name = spec["name"]
        field_path = _join(path, name)
        factory = _default_factory(spec, version, flexible, field_path)
        default = _EMPTY if spec["type"] == "struct" else _immutable_default(spec)
        if factory is None:
            static_defaults[name] = default
        else:
            factories.append((name, factory))
        if not in_range(version, spec["versions"]):
            continue
        if flexible and in_range(version, spec.get("tagged_versions")):
            value_enc, value_dec = _value_codec(spec, version, flexible, field_path)
            tagged[spec["tag"]] = (name, value_enc, value_dec, _encoded_default(value_enc, default), field_path)
        elif spec["type"] in _FIXED:
            run.append(spec)
        else:
            flush_run()
            value_enc, value_dec = _value_codec(spec, version, flexible, field_path)
            enc_op, dec_op = _field_ops(name, default, value_enc, value_dec, field_path)
            enc_ops.append(enc_op)
            dec_ops.append(dec_op)
    flush_run()
    compiled = _build_struct(path, flexible, static_defaults, factories, enc_ops, dec_ops, tagged)
    _COMPILED[key] = (fields, compiled)
    return compiled


def _encoded_default(value_enc: EncodeFn, default: Any) -> bytes | None:
    buf = bytearray()
    try:
        value_enc(default, buf, [])
    except (_BadValue, struct.error, TypeError, ValueError):
        return None
    return bytes(buf)


def _build_struct(
    path: str,
    flexible: bool,
    static_defaults: dict[str, Any],
    factories: list[tuple[str, Callable[[], Any]]],
    enc_ops: list[FieldEncodeOp],
    dec_ops: list[FieldDecodeOp],
    tagged: dict[int, tuple[str, EncodeFn, DecodeFn, bytes | None, str]],
) -> CompiledStruct:
    tag_order = sorted(tagged.items())
    where = path or "<message>"

    def make_default() -> dict[str, Any]:
        out = dict(static_defaults)
        for name, factory in factories:
            out[name] = factory()
        return out

    def write_tags(message: Mapping[str, Any], buf: bytearray) -> None:
        present: list[tuple[int, bytes | bytearray]] = []
        for tag, (name, value_enc, _, encoded_default, field) in tag_order:
            if name not in message:
                continue
            tmp = bytearray()
            big: Big = []
            try:
                value_enc(message[name], tmp, big)
            except (struct.error, TypeError, ValueError, OverflowError) as e:
                raise _BadValue(field, str(e)) from None
            if big:
                tmp = _join_parts(tmp, big)
            if encoded_default is None or bytes(tmp) != encoded_default:
                present.append((tag, tmp))
        write_uvarint(buf, len(present))
        for tag, data in present:
            write_uvarint(buf, tag)
            write_uvarint(buf, len(data))
            buf += data

    def encode(message: Any, buf: bytearray, big: Big) -> None:
        if not isinstance(message, Mapping):
            raise _BadValue(where, f"expected a dict, got {type(message).__name__}")
        for op in enc_ops:
            op(message, buf, big)
        if flexible:
            if tag_order:
                write_tags(message, buf)
            else:
                buf.append(0)

    def read_tags(buf: Buffer, pos: int, out: dict[str, Any]) -> int:
        count, pos = read_uvarint(buf, pos, where + " (tagged fields)")
        for _ in range(count):
            tag, pos = read_uvarint(buf, pos, where + " (tag)")
            size, pos = read_uvarint(buf, pos, where + " (tag size)")
            end = _need(buf, pos, size, f"{where} (tag {tag})")
            known = tagged.get(tag)
            if known is not None:
                name, _, value_dec, _, field = known
                out[name], stop = value_dec(buf, pos)
                if stop != end:
                    raise _Malformed(field, pos, f"tagged field is {size} bytes but its value used {stop - pos}")
            pos = end
        return pos

    def decode(buf: Buffer, pos: int) -> tuple[Any, int]:
        out = dict(static_defaults)
        for name, factory in factories:
            out[name] = factory()
        for op in dec_ops:
            pos = op(buf, pos, out)
        if flexible:
            pos = read_tags(buf, pos, out)
        return out, pos

    return CompiledStruct(encode, decode, make_default)


def _join_parts(buf: bytearray, big: Big) -> bytearray:
    out = bytearray()
    start = 0
    for at, piece in big:
        out += buf[start:at]
        out += piece
        start = at
    out += buf[start:]
    return out


def assemble_parts(buf: bytearray, big: Big) -> list[Buffer]:
    """Split ``buf`` at the recorded zero-copy insertion points into the final list of parts."""
    if not big:
        return [buf]
    parts: list[Buffer] = []
    view = memoryview(buf)
    start = 0
    for at, piece in big:
        if at > start:
            parts.append(view[start:at])
        parts.append(piece)
        start = at
    if start < len(buf):
        parts.append(view[start:])
    return parts


class MessageCodec:
    """Encodes and decodes one message schema (request, response, header or data) at one version."""

    __slots__ = ("_struct", "flexible", "name", "version")

    def __init__(self, name: str, version: int, fields: Sequence[Mapping[str, Any]], flexible: bool) -> None:
        self.name = name
        self.version = version
        self.flexible = flexible
        self._struct = compile_struct(fields, version, flexible)

    def __repr__(self) -> str:
        return f"MessageCodec({self.name} v{self.version})"

    def encode_into(self, message: Mapping[str, Any], buf: bytearray, big: Big) -> None:
        """Append the encoding to ``buf``; large records pieces are recorded in ``big`` as (position, buffer)."""
        try:
            self._struct.encode(message, buf, big)
        except _BadValue as e:
            raise ProtocolEncodeError(self.name, self.version, e.field, e.reason) from None

    def encode(self, message: Mapping[str, Any]) -> bytes:
        buf = bytearray()
        big: Big = []
        self.encode_into(message, buf, big)
        return bytes(_join_parts(buf, big) if big else buf)

    def encode_to_parts(self, message: Mapping[str, Any]) -> list[Buffer]:
        """The encoding as a list of buffers; records pieces >= ZERO_COPY_MIN_BYTES are passed through uncopied."""
        buf = bytearray()
        big: Big = []
        self.encode_into(message, buf, big)
        return assemble_parts(buf, big)

    def decode_from(self, data: Buffer, offset: int = 0) -> tuple[dict[str, Any], int]:
        """Decode one message starting at ``offset``; returns it and the offset just past it."""
        view = data if isinstance(data, memoryview) else memoryview(data)
        try:
            message, end = self._struct.decode(view, offset)
        except _Malformed as e:
            raise ProtocolDecodeError(self.name, self.version, e.field, e.position, e.reason) from None
        return message, end

    def decode(self, data: Buffer, offset: int = 0) -> dict[str, Any]:
        """Decode a message that must span exactly ``data[offset:]``."""
        message, end = self.decode_from(data, offset)
        if end != len(data):
            raise ProtocolDecodeError(self.name, self.version, "<message>", end, f"{len(data) - end} trailing bytes")
        return message

    def default(self) -> dict[str, Any]:
        """A message holding every field's default."""
        return self._struct.make_default()
