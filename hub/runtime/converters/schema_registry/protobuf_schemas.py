"""Connect schemas ↔ Protobuf descriptors, as Confluent's ``ProtobufData`` maps them (proto3).

Connect → Protobuf: a STRUCT root is a message named after the schema (its last dotted part; the rest is the
package; unnamed ``ConnectDefault1``); a primitive root is written in ``google/protobuf/wrappers.proto``'s wrapper
of its type (``ROOT_WRAPPERS``) and read back unwrapped (``UNWRAPPED``); arrays and maps cannot be roots. INT8/INT16
→ int32 with ``connect.type`` in the field's ``(confluent.field_meta)`` params; INT32 → int32, INT64 → int64 (or the
type the parameter ``io.confluent.connect.protobuf.Type`` names, e.g. ``sint64``); FLOAT32 → float, FLOAT64 →
double, BOOLEAN → bool, STRING → string (with ``io.confluent.connect.protobuf.Enum`` parameters: an enum), BYTES →
bytes; Decimal → ``confluent.type.Decimal`` (``scale``/``precision`` in the meta params), Date →
``google.type.Date``, Time → ``google.type.TimeOfDay``, Timestamp → ``google.protobuf.Timestamp``; a struct → a
nested message named after its schema (unnamed ``ConnectDefaultN``); an ARRAY → a repeated field; a MAP → a repeated
nested ``…Entry`` message with ``key`` = 1 and ``value`` = 2; a struct named
``io.confluent.connect.protobuf.Union.X`` → ``oneof X``. Optional scalars are plain proto3 fields (a null is written
as the type's default, as Confluent's converter does without ``wrapper.for.nullables``).
Numbers: a field's ``io.confluent.connect.protobuf.Tag`` parameter when it has one (schemas read from Protobuf
carry them), else 1, 2, … over the fields without one.

Protobuf → Connect: a message is a STRUCT named after the message (unqualified), its oneofs first (struct
``io.confluent.connect.protobuf.Union.NAME`` of optional members), then its fields, every field optional with its
number in ``io.confluent.connect.protobuf.Tag``; repeated fields arrays of optional items, map entries
(``map<…>`` or ``…Entry`` with key and value) maps; the well-known types above their logical types; other
integer types INT32/INT64 with the ``io.confluent.connect.protobuf.Type`` parameter; enums STRING with
``io.confluent.connect.protobuf.Enum`` parameters (symbol → number).

Pure functions; descriptors and schemas are immutable: safe from any thread.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import TYPE_CHECKING

from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    DECIMAL_SCALE_PARAMETER,
    TIME_NAME,
    TIMESTAMP_NAME,
    Field,
    Schema,
    Type,
)

if TYPE_CHECKING:
    from google.protobuf.descriptor import Descriptor, FieldDescriptor
    from google.protobuf.descriptor_pb2 import DescriptorProto, FileDescriptorProto

NAMESPACE = "io.confluent.connect.protobuf"
UNION_PREFIX = NAMESPACE + ".Union."
ENUM = NAMESPACE + ".Enum"
TAG = NAMESPACE + ".Tag"
PROTOBUF_TYPE = NAMESPACE + ".Type"
DEFAULT_NAME = "ConnectDefault"
DECIMAL_TYPE = "confluent.type.Decimal"
DATE_TYPE = "google.type.Date"
TIME_TYPE = "google.type.TimeOfDay"
TIMESTAMP_TYPE = "google.protobuf.Timestamp"
PRECISION = "connect.decimal.precision"
_LOGICAL_TYPES = {
    DECIMAL_NAME: DECIMAL_TYPE,
    DATE_NAME: DATE_TYPE,
    TIME_NAME: TIME_TYPE,
    TIMESTAMP_NAME: TIMESTAMP_TYPE,
}
_IMPORTS = {
    DECIMAL_TYPE: "confluent/type/decimal.proto",
    DATE_TYPE: "google/type/date.proto",
    TIME_TYPE: "google/type/timeofday.proto",
    TIMESTAMP_TYPE: "google/protobuf/timestamp.proto",
}
META_IMPORT = "confluent/meta.proto"


def _scalar_types() -> dict[str, int]:
    from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

    return {
        "int32": F.TYPE_INT32,
        "sint32": F.TYPE_SINT32,
        "sfixed32": F.TYPE_SFIXED32,
        "uint32": F.TYPE_UINT32,
        "fixed32": F.TYPE_FIXED32,
        "int64": F.TYPE_INT64,
        "sint64": F.TYPE_SINT64,
        "sfixed64": F.TYPE_SFIXED64,
        "uint64": F.TYPE_UINT64,
        "fixed64": F.TYPE_FIXED64,
        "float": F.TYPE_FLOAT,
        "double": F.TYPE_DOUBLE,
        "bool": F.TYPE_BOOL,
        "string": F.TYPE_STRING,
        "bytes": F.TYPE_BYTES,
    }


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) if "_" in name else name


class _Numbers:
    """Field numbers of one message: a field's ``io.confluent.connect.protobuf.Tag`` when it has one (as read from
    Protobuf), else 1, 2, … counting only the fields without one, as ProtobufData numbers them."""

    def __init__(self, schema: Schema | None = None) -> None:
        self.counter = 0
        self.only: int | None = None

    @classmethod
    def fixed(cls, number: int) -> _Numbers:
        numbers = cls()
        numbers.only = number
        return numbers

    def next(self, schema: Schema) -> int:
        if self.only is not None:
            return self.only
        tag = schema.params.get(TAG)
        if tag is not None:
            return int(tag)
        self.counter += 1
        return self.counter


class _ToProtobuf:
    """One Connect → Protobuf conversion: numbers unnamed types and collects the files to import."""

    def __init__(self) -> None:
        self.unnamed = 0
        self.imports: set[str] = set()
        self.scalars = _scalar_types()

    def name_of(self, name: str | None) -> str:
        if name:
            return name.rpartition(".")[2]
        self.unnamed += 1
        return f"{DEFAULT_NAME}{self.unnamed}"

    def message(self, target: DescriptorProto, schema: Schema) -> None:
        numbers = _Numbers(schema)
        for field in schema.fields:
            self.field(target, field.name, field.schema, numbers)

    def field(self, target: DescriptorProto, name: str, schema: Schema, numbers: _Numbers) -> None:
        from google.protobuf.descriptor_pb2 import FieldDescriptorProto as F

        if schema.type is Type.STRUCT and schema.name and schema.name.startswith(UNION_PREFIX):
            index = len(target.oneof_decl)
            target.oneof_decl.add(name=schema.name[len(UNION_PREFIX) :])
            for member in schema.fields:
                self.field(target, member.name, member.schema, numbers)
                target.field[-1].oneof_index = index
            return
        number = numbers.next(schema)
        label = F.LABEL_OPTIONAL
        if schema.type is Type.ARRAY:
            assert schema.value_schema is not None
            label, schema = F.LABEL_REPEATED, schema.value_schema
            if schema.type is Type.ARRAY:
                raise DataError(f"field {name!r}: an array of arrays has no Protobuf schema")
        added = target.field.add(name=name, number=number, label=label)
        params: dict[str, str] = {}
        logical = _LOGICAL_TYPES.get(schema.name or "")
        if logical is not None:
            added.type, added.type_name = F.TYPE_MESSAGE, "." + logical
            self.imports.add(_IMPORTS[logical])
            if schema.name == DECIMAL_NAME:
                params["scale"] = schema.params.get(DECIMAL_SCALE_PARAMETER, "0")
                if PRECISION in schema.params:
                    params["precision"] = schema.params[PRECISION]
        elif schema.type is Type.STRUCT:
            type_name = self.name_of(schema.name)
            if type_name == name:
                type_name += "Message"
            if not any(nested.name == type_name for nested in target.nested_type):
                self.message(target.nested_type.add(name=type_name), schema)
            added.type, added.type_name = F.TYPE_MESSAGE, type_name
        elif schema.type is Type.MAP:
            assert schema.key_schema is not None
            assert schema.value_schema is not None
            entry_name = _camel(self.name_of(schema.name)) + "Entry"
            entry = target.nested_type.add(name=entry_name)
            self.field(entry, "key", schema.key_schema, _Numbers.fixed(1))
            self.field(entry, "value", schema.value_schema, _Numbers.fixed(2))
            added.label, added.type, added.type_name = F.LABEL_REPEATED, F.TYPE_MESSAGE, entry_name
        elif schema.type is Type.STRING and ENUM in schema.params:
            enum_name = schema.params[ENUM] or self.name_of(schema.name)
            if not any(enum.name == enum_name for enum in target.enum_type):
                enum = target.enum_type.add(name=enum_name)
                prefix = ENUM + "."
                symbols = [
                    (key[len(prefix) :], value) for key, value in schema.params.items() if key.startswith(prefix)
                ]
                for symbol, value in sorted(symbols, key=lambda item: int(item[1])):
                    enum.value.add(name=symbol, number=int(value))
            added.type, added.type_name = F.TYPE_ENUM, enum_name
        else:
            kind = schema.type
            if kind in (Type.INT8, Type.INT16):
                params["connect.type"] = kind.name.lower()
                added.type = F.TYPE_INT32
            elif kind in (Type.INT32, Type.INT64):
                wanted = schema.params.get(PROTOBUF_TYPE, "int32" if kind is Type.INT32 else "int64")
                if wanted not in self.scalars:
                    raise DataError(f"field {name!r}: unknown Protobuf type {wanted!r}")
                added.type = self.scalars[wanted]
            else:
                names = {Type.FLOAT32: "float", Type.FLOAT64: "double", Type.BOOLEAN: "bool"}
                added.type = self.scalars[names.get(kind, kind.name.lower())]
        if params:
            from confluent_kafka.schema_registry.confluent import meta_pb2

            meta = added.options.Extensions[meta_pb2.field_meta]  # type: ignore[attr-defined]
            for key, value in params.items():
                meta.params[key] = value
            self.imports.add(META_IMPORT)


#: Connect's primitive types as the root of a record: the wrapper message ProtobufData writes them in.
ROOT_WRAPPERS = {
    Type.INT8: "Int32Value",
    Type.INT16: "Int32Value",
    Type.INT32: "Int32Value",
    Type.INT64: "Int64Value",
    Type.FLOAT32: "FloatValue",
    Type.FLOAT64: "DoubleValue",
    Type.BOOLEAN: "BoolValue",
    Type.STRING: "StringValue",
    Type.BYTES: "BytesValue",
}
#: A wrapper message at the root of a record read: the Connect type its ``value`` has (``wrapper.for.raw.primitives``).
UNWRAPPED = {
    "google.protobuf.DoubleValue": Type.FLOAT64,
    "google.protobuf.FloatValue": Type.FLOAT32,
    "google.protobuf.Int64Value": Type.INT64,
    "google.protobuf.UInt64Value": Type.INT64,
    "google.protobuf.Int32Value": Type.INT32,
    "google.protobuf.UInt32Value": Type.INT64,
    "google.protobuf.BoolValue": Type.BOOLEAN,
    "google.protobuf.StringValue": Type.STRING,
    "google.protobuf.BytesValue": Type.BYTES,
}


def to_file_descriptor(schema: Schema) -> FileDescriptorProto:
    """The proto3 file ProtobufData makes of a Connect schema (one top-level message)."""
    from google.protobuf.descriptor_pb2 import FileDescriptorProto

    if schema.type is not Type.STRUCT:  # primitives are written in wrapper messages (converter), the rest refused
        raise DataError(f"Unsupported root schema of type {schema.type.name}")
    converting = _ToProtobuf()
    package, _, name = (schema.name or "").rpartition(".")
    file = FileDescriptorProto(name=f"{schema.name or DEFAULT_NAME}.proto", syntax="proto3", package=package)
    converting.message(file.message_type.add(name=converting.name_of(name or None)), schema)
    file.dependency.extend(sorted(converting.imports))
    return file


def to_connect_schema(descriptor: Descriptor) -> Schema:
    """The Connect schema ProtobufData makes of a message descriptor."""
    fields: list[Field] = []
    for oneof in descriptor.oneofs:
        if len(oneof.fields) == 1 and oneof.fields[0].has_presence and oneof.name == "_" + oneof.fields[0].name:
            continue  # proto3 `optional`: a synthetic oneof, read as the plain field
        members = tuple(Field(f.name, i, _field_schema(f)) for i, f in enumerate(oneof.fields))
        union = Schema(Type.STRUCT, optional=True, name=UNION_PREFIX + oneof.name, fields=members)
        fields.append(Field(oneof.name, len(fields), union))
    for field in descriptor.fields:
        oneof = field.containing_oneof
        if oneof is not None and not (len(oneof.fields) == 1 and oneof.name == "_" + field.name):
            continue
        fields.append(Field(field.name, len(fields), _field_schema(field)))
    return Schema(Type.STRUCT, name=descriptor.name, fields=tuple(fields))


def is_map_entry(descriptor: Descriptor) -> bool:
    names = [field.name for field in descriptor.fields]
    return bool(descriptor.GetOptions().map_entry or (descriptor.name.endswith("Entry") and names == ["key", "value"]))


def _field_schema(field: FieldDescriptor) -> Schema:
    """A field's Connect schema: optional (as ProtobufData reads without wrapper or optional handling), with the
    field's number in the parameter ``io.confluent.connect.protobuf.Tag``."""
    schema = _type_schema(field)
    if field.is_repeated and schema.type is not Type.MAP:
        schema = Schema(Type.ARRAY, value_schema=schema.as_optional())
    params = tuple(sorted({**schema.params, TAG: str(field.number)}.items()))
    return replace(schema, optional=True, parameters=params)


def _meta_params(field: FieldDescriptor) -> dict[str, str]:
    options = field.GetOptions()
    try:
        from confluent_kafka.schema_registry.confluent import meta_pb2

        extension = meta_pb2.field_meta  # type: ignore[attr-defined]
        if options.HasExtension(extension):
            return dict(options.Extensions[extension].params)
    except (ImportError, KeyError):
        pass
    return {}


def _type_schema(field: FieldDescriptor) -> Schema:
    from google.protobuf.descriptor import FieldDescriptor as Proto

    kind = field.type
    if kind in (Proto.TYPE_INT32, Proto.TYPE_SINT32, Proto.TYPE_SFIXED32):
        connect_type = _meta_params(field).get("connect.type")
        if connect_type in ("int8", "int16"):
            return Schema(Type.INT8 if connect_type == "int8" else Type.INT16)
        return Schema(Type.INT32, parameters=_type_parameter(kind, Proto.TYPE_INT32))
    if kind in (
        Proto.TYPE_UINT32,
        Proto.TYPE_FIXED32,
        Proto.TYPE_INT64,
        Proto.TYPE_UINT64,
        Proto.TYPE_SINT64,
        Proto.TYPE_FIXED64,
        Proto.TYPE_SFIXED64,
    ):
        return Schema(Type.INT64, parameters=_type_parameter(kind, Proto.TYPE_INT64))
    simple = {
        Proto.TYPE_FLOAT: Type.FLOAT32,
        Proto.TYPE_DOUBLE: Type.FLOAT64,
        Proto.TYPE_BOOL: Type.BOOLEAN,
        Proto.TYPE_STRING: Type.STRING,
        Proto.TYPE_BYTES: Type.BYTES,
    }
    if kind in simple:
        return Schema(simple[kind])
    if kind == Proto.TYPE_ENUM:
        enum = field.enum_type
        symbols = {ENUM: enum.name, **{f"{ENUM}.{value.name}": str(value.number) for value in enum.values}}
        return Schema(Type.STRING, optional=True, name=enum.name, parameters=tuple(sorted(symbols.items())))
    if kind != Proto.TYPE_MESSAGE:
        raise DataError(f"unsupported Protobuf field type {kind} of field {field.name!r}")
    message = field.message_type
    full_name = message.full_name
    if full_name == DECIMAL_TYPE:
        meta = _meta_params(field)
        decimal_params = {DECIMAL_SCALE_PARAMETER: meta.get("scale", "0")}
        if "precision" in meta:
            decimal_params[PRECISION] = meta["precision"]
        parameters = tuple(sorted(decimal_params.items()))
        return Schema(Type.BYTES, optional=True, name=DECIMAL_NAME, version=1, parameters=parameters)
    for name, type_name in ((DATE_NAME, DATE_TYPE), (TIME_NAME, TIME_TYPE), (TIMESTAMP_NAME, TIMESTAMP_TYPE)):
        if full_name == type_name:
            return Schema(Type.INT64 if name == TIMESTAMP_NAME else Type.INT32, optional=True, name=name, version=1)
    if is_map_entry(message):
        key, value = message.fields_by_name["key"], message.fields_by_name["value"]
        return Schema(Type.MAP, key_schema=_field_schema(key), value_schema=_field_schema(value))
    return to_connect_schema(message).as_optional()


def _type_parameter(kind: int, plain: int) -> tuple[tuple[str, str], ...]:
    return () if kind == plain else ((PROTOBUF_TYPE, _type_names()[kind]),)


@functools.cache
def _type_names() -> dict[int, str]:
    from google.protobuf.descriptor import FieldDescriptor as Proto

    return {
        Proto.TYPE_SINT32: "sint32",
        Proto.TYPE_SFIXED32: "sfixed32",
        Proto.TYPE_UINT32: "uint32",
        Proto.TYPE_FIXED32: "fixed32",
        Proto.TYPE_UINT64: "uint64",
        Proto.TYPE_SINT64: "sint64",
        Proto.TYPE_FIXED64: "fixed64",
        Proto.TYPE_SFIXED64: "sfixed64",
    }
