"""Encoder and decoder of Kafka protocol messages, compiled from the generated schemas in ``messages.py``.

A schema (a message, or a nested struct) is compiled once per version into a ``MessageCodec``: a list of small
closures, one per field, with runs of fixed-width fields (int8 ... int64, float64) merged into one
``struct.Struct`` call. Messages are plain dicts keyed by the snake_case field names.

Encoding reads each field with ``message.get(name, default)``: a missing key encodes the field's default, a field
not present in the version is not written, a wrong type raises ``ProtocolEncodeError`` naming the field.
Decoding returns a dict holding *every* field of the schema: fields absent from the version (or tagged fields not
sent) carry their default, so callers never branch on the version to read a field.

Value layouts are in hub.log.protocol.wire. In flexible versions every struct ends with its tagged-field section:
uvarint count, then (uvarint tag, uvarint size, value) in ascending tag order; a tagged field is written only when
its encoding differs from its default's, and unknown tags are skipped on read.

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
from hub.log.protocol.wire import (
    FIXED,
    BadValue,
    Big,
    Buffer,
    DecodeFn,
    EncodeFn,
    Malformed,
    array_codec,
    bool_codec,
    bytes_codec,
    fixed_codec,
    in_range,
    need,
    nullable_struct_codec,
    read_uvarint,
    string_codec,
    uuid_codec,
    write_uvarint,
)

FieldEncodeOp = Callable[[Mapping[str, Any], bytearray, Big], None]
FieldDecodeOp = Callable[[Buffer, int, dict[str, Any]], int]
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_ZERO_UUID = uuid.UUID(int=0)


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
        if "default" in spec:  # a nullable struct whose default is null
            return None
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
    if type_name in FIXED:
        return fixed_codec(type_name, path)
    if type_name == "bool":
        return bool_codec(path)
    if type_name == "uuid":
        return uuid_codec(path)
    if type_name == "string":
        return string_codec(compact, nullable, path)
    if type_name in ("bytes", "records"):
        return bytes_codec(compact, nullable, type_name == "records", path)
    if type_name == "struct":
        nested = compile_struct(spec["fields"], version, flexible, path)
        if nullable:
            return nullable_struct_codec(nested.encode, nested.decode, path)
        return nested.encode, nested.decode
    if type_name.startswith("[]"):
        item_type = type_name[2:]
        if item_type == "struct":
            nested = compile_struct(spec["fields"], version, flexible, path + "[]")
            return array_codec(nested.encode, nested.decode, None, compact, nullable, path)
        item_spec = {"type": item_type}
        if "flexible_versions" in spec:
            item_spec["flexible_versions"] = spec["flexible_versions"]
        item_enc, item_dec = _value_codec(item_spec, version, flexible, path + "[]")
        return array_codec(item_enc, item_dec, FIXED.get(item_type), compact, nullable, path)
    raise ValueError(f"{path}: unknown type {type_name!r}")


def _diagnose_pack(
    message: Mapping[str, Any], names: Sequence[str], defaults: Sequence[Any], fmts: str, path: str
) -> BadValue:
    for name, default, fmt in zip(names, defaults, fmts, strict=True):
        value = message.get(name, default)
        try:
            struct.pack(">" + fmt, value)
        except struct.error as e:
            return BadValue(_join(path, name), f"{e} (got {value!r})")
    return BadValue(path, "cannot pack fixed-width fields")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _group_ops(run: list[Mapping[str, Any]], path: str) -> tuple[FieldEncodeOp, FieldDecodeOp]:
    names = tuple(f["name"] for f in run)
    defaults = tuple(f["default"] for f in run)
    fmts = "".join(FIXED[f["type"]] for f in run)
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
            raise Malformed(_join(path, names[index]), pos + offsets[index], "truncated fixed-width field")
        out.update(zip(names, unpack(buf, pos), strict=True))
        return pos + size

    return enc, dec


def _field_ops(
    name: str, default: Any, value_enc: EncodeFn, value_dec: DecodeFn, field: str
) -> tuple[FieldEncodeOp, FieldDecodeOp]:
    def enc(message: Mapping[str, Any], buf: bytearray, big: Big) -> None:
        try:
            value_enc(message.get(name, default), buf, big)
        except (BadValue, Malformed):
            raise
        except (struct.error, TypeError, ValueError, OverflowError) as e:
            raise BadValue(field, str(e)) from None

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
        default = _EMPTY if spec["type"] == "struct" and "default" not in spec else _immutable_default(spec)
        if factory is None:
            static_defaults[name] = default
        else:
            factories.append((name, factory))
        if not in_range(version, spec["versions"]):
            continue
        if flexible and in_range(version, spec.get("tagged_versions")):
            value_enc, value_dec = _value_codec(spec, version, flexible, field_path)
            tagged[spec["tag"]] = (name, value_enc, value_dec, _encoded_default(value_enc, default), field_path)
        elif spec["type"] in FIXED:
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
    except (BadValue, struct.error, TypeError, ValueError):
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
                raise BadValue(field, str(e)) from None
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
        if type(message) is not dict and not isinstance(message, Mapping):
            raise BadValue(where, f"expected a dict, got {type(message).__name__}")
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
            end = need(buf, pos, size, f"{where} (tag {tag})")
            known = tagged.get(tag)
            if known is not None:
                name, _, value_dec, _, field = known
                out[name], stop = value_dec(buf, pos)
                if stop != end:
                    raise Malformed(field, pos, f"tagged field is {size} bytes but its value used {stop - pos}")
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
        except BadValue as e:
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
        except Malformed as e:
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
