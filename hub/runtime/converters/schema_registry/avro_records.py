"""A Connect struct written as the Avro record made from its schema, and read back, field by field.

fastavro's record writer takes a dict and, on every call, compares the dict's keys with the schema's fields (two
sets built per record); its reader builds a dict per record, which the converter then turns into a Struct. When
the Avro schema is a record with the Connect struct's fields in the same order (the schema the converter makes
from a Connect schema, and what it makes a Connect schema from), neither dict is needed: each field's datum goes
to ``fastavro._write.write_data`` with the field's schema — what fastavro's record writer does for each field,
floats converted as it converts them — and each field is read by fastavro's reader of the field's type into the
list the Struct is made from. The bytes and values are those of avro_codec and avro_values; other schemas, and a
fastavro whose inner functions do not agree with its public ones (avro_codec), go through those modules.

Encoders and decoders hold no state between calls: safe from any thread.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from hub.runtime.converters.schema_registry.avro_codec import INNER_READ_OPTIONS, WRITE_OPTIONS, inner_functions_agree
from hub.runtime.converters.schema_registry.avro_schemas import UNION
from hub.runtime.converters.schema_registry.avro_values import Convert, is_same, reader, writer
from hub.sdk.errors import DataError
from hub.sdk.schema import Schema, Type
from hub.sdk.struct import Struct

#: header, Connect struct → header + the Avro binary of the struct.
RecordEncode = Callable[[bytes, Any], bytes]
#: stream at the datum's first byte → Connect struct.
RecordDecode = Callable[[io.BytesIO], Any]


def _fields_match(schema: Schema, parsed: Any) -> bool:
    if not inner_functions_agree() or schema.type is not Type.STRUCT or schema.name == UNION:
        return False
    if not isinstance(parsed, dict) or parsed.get("type") != "record":
        return False
    return [field["name"] for field in parsed["fields"]] == [field.name for field in schema.fields]


def _to_float(convert: Convert) -> Convert:
    if is_same(convert):
        return float
    return lambda value: float(convert(value))


def _compiled(source: str, namespace: dict[str, Any], name: str) -> Any:
    """The function ``name`` defined by ``source`` in ``namespace``. The source is made here from field positions
    only — never from a schema's text — so one call per field runs with no loop around it."""
    exec(compile(source, f"<avro record {name}>", "exec"), namespace)
    return namespace[name]


def record_encoder(schema: Schema, parsed: Any) -> RecordEncode | None:
    """The encoder of ``schema``'s structs as the parsed Avro record ``parsed``, or None when the record's fields
    are not the struct's (see the module docstring)."""
    if not _fields_match(schema, parsed):
        return None
    from fastavro._write import write_data  # type: ignore[attr-defined]

    namespace: dict[str, Any] = {
        "write": write_data,
        "named": parsed.get("__named_schemas", {}),
        "options": dict(WRITE_OPTIONS),
        "Struct": Struct,
        "DataError": DataError,
        "struct_name": schema.name or "",
    }
    lines = [
        "def encode(header, value):",
        "    if value.__class__ is not Struct and not isinstance(value, Struct):",
        "        raise DataError(f'struct {struct_name} needs a Struct, got {type(value).__name__}')",
        "    raw = value.raw_values()",
        "    out = bytearray(header)",
    ]
    for i, (field, avro_field) in enumerate(zip(schema.fields, parsed["fields"], strict=True)):
        convert = writer(field.schema)
        avro_type = avro_field["type"]
        if avro_type in ("float", "double"):  # as fastavro's record writer does
            convert = _to_float(convert)
        namespace.update({f"t{i}": avro_type, f"n{i}": field.name, f"c{i}": convert, f"d{i}": field.schema.default})
        raw = f"raw[{field.index}]"
        item = raw if field.schema.default is None else f"(d{i} if {raw} is None else {raw})"
        datum = item if is_same(convert) else f"c{i}({item})"
        lines.append(f"    write(out, {datum}, t{i}, named, n{i}, options)")
    lines.append("    return bytes(out)")
    encode: RecordEncode = _compiled("\n".join(lines), namespace, "encode")
    return encode


def record_decoder(schema: Schema, parsed: Any) -> RecordDecode | None:
    """The decoder of the parsed Avro record ``parsed`` into ``schema``'s structs, or None when the record's fields
    are not the struct's (see the module docstring)."""
    if not _fields_match(schema, parsed):
        return None
    from fastavro._read import _read_data, read_bytes, read_long, read_utf8  # type: ignore[attr-defined]

    named = {"writer": parsed.get("__named_schemas", {}), "reader": {}}
    options = dict(INNER_READ_OPTIONS)
    # fastavro's own readers of these types, as its _read_data calls them; the others through _read_data
    direct: dict[str, Callable[[io.BytesIO], Any]] = {
        "int": read_long,
        "long": read_long,
        "string": read_utf8,
        "bytes": read_bytes,
    }

    def through_read_data(avro_type: Any) -> Callable[[io.BytesIO], Any]:
        return lambda stream: _read_data(stream, avro_type, named, None, options)

    namespace: dict[str, Any] = {"from_values": Struct.from_values, "schema": schema}
    items = []
    for i, (field, avro_field) in enumerate(zip(schema.fields, parsed["fields"], strict=True)):
        avro_type = avro_field["type"]
        read = direct.get(avro_type) if isinstance(avro_type, str) else None
        convert = reader(field.schema)
        namespace.update({f"r{i}": read or through_read_data(avro_type), f"c{i}": convert})
        items.append(f"r{i}(stream)" if is_same(convert) else f"c{i}(r{i}(stream))")
    source = f"def decode(stream):\n    return from_values(schema, [{', '.join(items)}])"
    decode: RecordDecode = _compiled(source, namespace, "decode")
    return decode
