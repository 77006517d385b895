"""AvroFormat: Avro container files through fastavro, with the Avro schema derived from the Connect schema.

The mapping follows Confluent's AvroData: INT8/INT16 are Avro ``int`` marked ``connect.type``, INT32 ``int``,
INT64 ``long``, FLOAT32 ``float``, FLOAT64 ``double``, BOOLEAN, STRING, BYTES as themselves; optional schemas are
unions with ``null`` first (default null); structs are records named after the Connect schema (unnamed ones
``io.confluent.connect.avro.ConnectDefault``, numbered when several); maps with string keys are Avro maps, other
maps arrays of ``{key, value}`` records; Decimal is ``bytes`` with the ``decimal`` logical type, Date ``date``,
Time ``time-millis``, Timestamp ``timestamp-millis``. Reading reverses it, so a Connect schema survives the round
trip (names, optionality, logical types).

The sync marker is derived from the object name, so the same records give the same bytes. Writers validate each
batch before encoding it (all or nothing). One thread per writer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import IO, Any, cast

import fastavro
from fastavro.validation import validate_many
from fastavro.write import Writer

from connectors.s3.buffer import SpillBuffer
from connectors.s3.formats import Format, RecordWriter, struct_reader
from connectors.s3.json_values import Convert
from connectors.s3.settings import FormatSettings
from hub.sdk import Schema, Struct, Type
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    DECIMAL_SCALE_PARAMETER,
    TIME_NAME,
    TIMESTAMP_NAME,
    array_schema,
    date_schema,
    decimal_schema,
    map_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)

DEFAULT_NAME = "io.confluent.connect.avro.ConnectDefault"
MAP_ENTRY = "io.confluent.connect.avro.MapEntry"
PRECISION_PARAMETER = "connect.decimal.precision"
_PRIMITIVES = {
    Type.INT8: "int",
    Type.INT16: "int",
    Type.INT32: "int",
    Type.INT64: "long",
    Type.FLOAT32: "float",
    Type.FLOAT64: "double",
    Type.BOOLEAN: "boolean",
    Type.STRING: "string",
    Type.BYTES: "bytes",
}
_LOGICAL = {DATE_NAME: ("int", "date"), TIME_NAME: ("int", "time-millis"), TIMESTAMP_NAME: ("long", "timestamp-millis")}


class _Names:
    """Record names of one Avro schema: Connect's names, or numbered defaults."""

    def __init__(self) -> None:
        self.used: dict[str, Schema] = {}
        self.defaults = 0

    def name_of(self, schema: Schema) -> tuple[str, bool]:
        """The record's name, and whether it was already defined (then it is referred to by name)."""
        if schema.name:
            known = self.used.get(schema.name)
            if known is not None and known == schema:
                return schema.name, True
            if known is None:
                self.used[schema.name] = schema
                return schema.name, False
        self.defaults += 1
        return (DEFAULT_NAME if self.defaults == 1 else f"{DEFAULT_NAME}{self.defaults}"), False


def avro_schema(schema: Schema, names: _Names | None = None) -> Any:
    """The Avro schema (as fastavro takes it) of a Connect schema."""
    names = names or _Names()
    avro = _required_avro(schema, names)
    if schema.optional:
        return ["null", avro]
    return avro


def _required_avro(schema: Schema, names: _Names) -> Any:
    if schema.name == DECIMAL_NAME:
        params = schema.params
        return {
            "type": "bytes",
            "logicalType": "decimal",
            "precision": int(params.get(PRECISION_PARAMETER, 64)),
            "scale": int(params.get(DECIMAL_SCALE_PARAMETER, 0)),
            "connect.version": 1,
            "connect.parameters": params,
            "connect.name": DECIMAL_NAME,
        }
    if schema.name in _LOGICAL:
        base, logical = _LOGICAL[schema.name]
        return {"type": base, "logicalType": logical, "connect.version": 1, "connect.name": schema.name}
    kind = schema.type
    if kind in _PRIMITIVES:
        avro: dict[str, Any] = {"type": _PRIMITIVES[kind]}
        if kind in (Type.INT8, Type.INT16):
            avro["connect.type"] = kind.value
        if schema.name:
            avro["connect.name"] = schema.name
        return avro if len(avro) > 1 else avro["type"]
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        return {"type": "array", "items": avro_schema(schema.value_schema, names)}
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            return {"type": "map", "values": avro_schema(schema.value_schema, names)}
        pair = {
            "type": "record",
            "name": MAP_ENTRY,
            "fields": [
                {"name": "key", "type": avro_schema(schema.key_schema, names)},
                {"name": "value", "type": avro_schema(schema.value_schema, names)},
            ],
        }
        return {"type": "array", "items": pair}
    name, defined = names.name_of(schema)
    if defined:
        return name
    fields = []
    for field in schema.fields:
        entry: dict[str, Any] = {"name": field.name, "type": avro_schema(field.schema, names)}
        if field.schema.optional:
            entry["default"] = None
        fields.append(entry)
    record: dict[str, Any] = {"type": "record", "name": name, "fields": fields}
    if schema.doc:
        record["doc"] = schema.doc
    if schema.name:
        record["connect.name"] = schema.name
    if schema.version is not None:
        record["connect.version"] = schema.version
    return record


def _value_converter(schema: Schema) -> Convert | None:
    """Connect values → what fastavro writes (structs as dicts, maps as entry lists); None: as they are."""
    kind = schema.type
    if kind is Type.STRUCT:
        names = [field.name for field in schema.fields]
        converters = [
            (field.index, convert) for field in schema.fields if (convert := _value_converter(field.schema)) is not None
        ]
        defaults = [(field.index, field.schema.default) for field in schema.fields if field.schema.default is not None]

        def struct(value: Struct | None) -> dict[str, Any] | None:
            if value is None:
                return None
            values = value.raw_values()
            for index, default in defaults:
                if values[index] is None:
                    values[index] = default
            for index, convert in converters:
                if values[index] is not None:
                    values[index] = convert(values[index])
            return dict(zip(names, values, strict=True))

        return struct
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = _value_converter(schema.value_schema)
        return None if item is None else (lambda value: [None if v is None else item(v) for v in value])
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        entry = _value_converter(schema.value_schema) or (lambda v: v)
        if schema.key_schema.type is Type.STRING and not schema.key_schema.optional:
            return lambda value: {k: None if v is None else entry(v) for k, v in value.items()}
        key = _value_converter(schema.key_schema) or (lambda k: k)
        return lambda value: [{"key": key(k), "value": None if v is None else entry(v)} for k, v in value.items()]
    return None


class _AvroWriter(RecordWriter):
    def __init__(self, out: SpillBuffer, schema: Schema | None, key: str, codec: str) -> None:
        if schema is None:
            raise DataError("AvroFormat needs records with a value schema (use a converter with schemas)")
        self.parsed = fastavro.parse_schema(avro_schema(schema))
        self.convert = _value_converter(schema)
        marker = hashlib.blake2b(key.encode(), digest_size=16).digest()
        self.writer = Writer(cast(IO[bytes], out), self.parsed, codec=codec, sync_marker=marker)

    def write(self, values: Sequence[Any]) -> None:
        convert = self.convert
        records = list(values) if convert is None else [convert(value) for value in values]
        # Validated before any is encoded: an error leaves the file as it was.
        validate_many(records, self.parsed, raise_errors=True)
        write = self.writer.write
        for record in records:
            write(record)

    def finish(self) -> None:
        self.writer.flush()


class AvroFormat(Format):
    needs_schema = True

    def __init__(self, settings: FormatSettings) -> None:
        self.codec = settings.avro_codec

    @property
    def extension(self) -> str:
        return ".avro"

    def writer(self, out: SpillBuffer, schema: Schema | None, key: str) -> RecordWriter:
        return _AvroWriter(out, schema, key, self.codec)

    def read(self, data: IO[bytes]) -> Iterator[tuple[Schema | None, Any]]:
        reader = fastavro.reader(data)
        schema = connect_schema(reader.writer_schema)
        convert = _reader_converter(schema)
        for record in reader:
            yield schema, convert(record) if convert is not None else record


def connect_schema(avro: Any, named: dict[str, Schema] | None = None) -> Schema:
    """The Connect schema of an Avro schema written by ``avro_schema`` (or any record schema)."""
    named = {} if named is None else named
    if isinstance(avro, list):
        branches = [branch for branch in avro if branch != "null"]
        if len(branches) != 1:
            raise DataError(f"Avro unions other than [null, T] have no Connect schema: {avro}")
        return connect_schema(branches[0], named).as_optional()
    if isinstance(avro, str):
        if avro in named:
            return named[avro]
        avro = {"type": avro}
    kind = avro["type"]
    if isinstance(kind, dict | list):
        return connect_schema(kind, named)
    name = avro.get("connect.name")
    logical = avro.get("logicalType")
    if logical == "decimal":
        return decimal_schema(int(avro.get("scale", 0)))
    if logical == "date":
        return date_schema()
    if logical == "time-millis":
        return time_schema()
    if logical in ("timestamp-millis", "timestamp-micros"):
        return timestamp_schema()
    if kind == "record":
        if avro.get("name") == MAP_ENTRY:
            raise DataError("a MapEntry record outside an array")
        fields = [(field["name"], connect_schema(field["type"], named)) for field in avro["fields"]]
        schema = struct_schema(fields, name=name, version=avro.get("connect.version"), doc=avro.get("doc"))
        named[avro["name"]] = schema
        named[avro["name"].rsplit(".", 1)[-1]] = schema
        return schema
    if kind == "array":
        items = avro["items"]
        if isinstance(items, dict) and items.get("type") == "record" and items.get("name") == MAP_ENTRY:
            entry = {field["name"]: connect_schema(field["type"], named) for field in items["fields"]}
            return map_schema(entry["key"], entry["value"])
        return array_schema(connect_schema(items, named))
    if kind == "map":
        from hub.sdk.schema import STRING_SCHEMA

        return map_schema(STRING_SCHEMA, connect_schema(avro["values"], named))
    primitive = {
        "int": Type.INT32,
        "long": Type.INT64,
        "float": Type.FLOAT32,
        "double": Type.FLOAT64,
        "boolean": Type.BOOLEAN,
        "string": Type.STRING,
        "bytes": Type.BYTES,
        "enum": Type.STRING,
        "fixed": Type.BYTES,
    }.get(kind)
    if primitive is None:
        raise DataError(f"Avro type {kind!r} has no Connect schema")
    if avro.get("connect.type") == "int8":
        primitive = Type.INT8
    elif avro.get("connect.type") == "int16":
        primitive = Type.INT16
    return Schema(primitive, name=name)


def _reader_converter(schema: Schema) -> Convert | None:
    """What fastavro reads → Connect values (records as Structs, entry lists as maps)."""
    kind = schema.type
    if kind is Type.STRUCT:
        return struct_reader(schema, _reader_converter)
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = _reader_converter(schema.value_schema)
        return None if item is None else (lambda value: None if value is None else [item(v) for v in value])
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        entry = _reader_converter(schema.value_schema) or (lambda v: v)
        if schema.key_schema.type is Type.STRING:
            return lambda value: None if value is None else {k: entry(v) for k, v in value.items()}
        key = _reader_converter(schema.key_schema) or (lambda k: k)
        return lambda value: None if value is None else {key(e["key"]): entry(e["value"]) for e in value}
    return None
