"""JsonConverter, byte-compatible with Kafka Connect's ``org.apache.kafka.connect.json.JsonConverter``.

With ``schemas.enable=true`` (the default) each message is an envelope with exactly two fields::

    {"schema": {...}, "payload": ...}

Schema JSON keeps Connect's key order — ``type``, then ``items`` / ``keys``+``values`` / ``fields``, then
``optional``, ``name``, ``version``, ``doc``, ``parameters``, ``default`` — and struct fields carry their name
as a trailing ``field`` key, so the bytes equal Connect's. Payload encoding: BYTES as base64; Decimal as base64 of
the unscaled two's-complement value (or a JSON number with ``decimal.format=NUMERIC``); Date, Time and
Timestamp as integers; maps with string keys as objects, other maps as arrays of ``[key, value]`` pairs.

With ``schemas.enable=false`` messages are plain JSON; reading infers types (integers → INT64, other numbers →
FLOAT64, objects → maps, arrays → lists) and gives a null schema.

Writing: payload writers compiled per schema turn a struct into an instance of a msgspec Struct type made for the
schema (no dict per record), and msgspec writes it; the schema part of the envelope is written once per schema.
Reading: orjson parses, and when a message starts with the same envelope bytes as the previous one only its
payload is parsed.

An instance is used by one task thread; its schema cache is not shared.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from functools import lru_cache, partial
from operator import itemgetter
from typing import Annotated, Any, cast

import msgspec
import msgspec.structs
import orjson

from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.converter import NULL, Converter, HeaderConverter, SchemaAndValue
from hub.sdk.errors import DataError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.json_rows import json_row_type
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    Field,
    Schema,
    SchemaError,
    Type,
    date_from_days,
    date_to_days,
    decimal_from_bytes,
    decimal_scale,
    decimal_to_bytes,
    time_from_millis,
    time_to_millis,
    timestamp_from_millis,
    timestamp_to_millis,
    validate,
)
from hub.sdk.struct import Struct

ENVELOPE_ERROR = (
    'JsonConverter with schemas.enable requires "schema" and "payload" fields and may not contain additional '
    "fields. If you are trying to deserialize plain JSON data, set schemas.enable=false in your converter "
    "configuration."
)

CONFIG = (
    ConfigDef()
    .define("schemas.enable", ConfigType.BOOLEAN, True, "Include the schema in each message (Connect's envelope).")
    .define("schemas.cache.size", ConfigType.INT, 1000, "Parsed schemas to keep.", minimum=0)
    .define(
        "decimal.format",
        ConfigType.STRING,
        "BASE64",
        "How Decimal payloads are written.",
        choices=("BASE64", "NUMERIC"),
        case_insensitive_choices=True,
    )
    .define("replace.null.with.default", ConfigType.BOOLEAN, True, "Write a field's default instead of null.")
)

_TYPES = {kind.value: kind for kind in Type}


# --- schemas -----------------------------------------------------------------------------------------------------


def schema_to_json(schema: Schema, *, numeric_decimals: bool = False) -> dict[str, Any]:
    """Connect's JSON form of a schema, keys in Connect's order."""
    node: dict[str, Any] = {"type": schema.type.value}
    if schema.type is Type.ARRAY:
        assert schema.value_schema is not None
        node["items"] = schema_to_json(schema.value_schema, numeric_decimals=numeric_decimals)
    elif schema.type is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        node["keys"] = schema_to_json(schema.key_schema, numeric_decimals=numeric_decimals)
        node["values"] = schema_to_json(schema.value_schema, numeric_decimals=numeric_decimals)
    elif schema.type is Type.STRUCT:
        node["fields"] = [
            {**schema_to_json(field.schema, numeric_decimals=numeric_decimals), "field": field.name}
            for field in schema.fields
        ]
    node["optional"] = schema.optional
    if schema.name is not None:
        node["name"] = schema.name
    if schema.version is not None:
        node["version"] = schema.version
    if schema.doc is not None:
        node["doc"] = schema.doc
    if schema.parameters:
        node["parameters"] = dict(schema.parameters)
    if schema.default is not None:
        node["default"] = value_to_json(schema, schema.default, numeric_decimals=numeric_decimals)
    return node


def schema_from_json(node: Any) -> Schema:
    """A Schema from Connect's JSON form; DataError naming what is wrong."""
    if not isinstance(node, dict):
        raise DataError(f"a schema must be a JSON object, got {type(node).__name__}")
    type_name = node.get("type")
    kind = _TYPES.get(type_name) if isinstance(type_name, str) else None
    if kind is None:
        raise DataError(f"unknown schema type {type_name!r}")
    parameters = node.get("parameters") or {}
    if not isinstance(parameters, dict) or not all(isinstance(v, str) for v in parameters.values()):
        raise DataError("schema parameters must be an object with string values")
    name, version, doc = node.get("name"), node.get("version"), node.get("doc")
    common: dict[str, Any] = {
        "optional": node.get("optional") is True,  # as Connect: anything but true means required
        "name": name if isinstance(name, str) else None,
        "version": version if isinstance(version, int) and not isinstance(version, bool) else None,
        "doc": doc if isinstance(doc, str) else None,
        "parameters": tuple(sorted(parameters.items())),
    }
    try:
        if kind is Type.ARRAY:
            if "items" not in node:
                raise DataError("array schema without 'items'")
            schema = Schema(kind, value_schema=schema_from_json(node["items"]), **common)
        elif kind is Type.MAP:
            if "keys" not in node or "values" not in node:
                raise DataError("map schema without 'keys' and 'values'")
            schema = Schema(
                kind, key_schema=schema_from_json(node["keys"]), value_schema=schema_from_json(node["values"]), **common
            )
        elif kind is Type.STRUCT:
            fields_node = node.get("fields")
            if not isinstance(fields_node, list):
                raise DataError("struct schema without a 'fields' array")
            fields = []
            for index, field_node in enumerate(fields_node):
                if not isinstance(field_node, dict) or not isinstance(field_node.get("field"), str):
                    raise DataError(f"struct field {index} has no 'field' name")
                fields.append(Field(field_node["field"], index, schema_from_json(field_node)))
            schema = Schema(kind, fields=tuple(fields), **common)
        else:
            schema = Schema(kind, **common)
    except SchemaError as exc:
        raise DataError(f"invalid schema: {exc}") from None
    if node.get("default") is not None:
        try:
            schema = schema.with_default(value_from_json(schema, node["default"]))
        except SchemaError as exc:
            raise DataError(f"invalid schema default: {exc}") from None
    return schema


# --- values ------------------------------------------------------------------------------------------------------


_PLAIN = frozenset(
    {Type.INT8, Type.INT16, Type.INT32, Type.INT64, Type.FLOAT32, Type.FLOAT64, Type.BOOLEAN, Type.STRING}
)
_INT_BOUNDS = {
    Type.INT8: (-(2**7), 2**7 - 1),
    Type.INT16: (-(2**15), 2**15 - 1),
    Type.INT32: (-(2**31), 2**31 - 1),
    Type.INT64: (-(2**63), 2**63 - 1),
}

# Per struct schema, each field's (name, schema, kind when it is a plain primitive without a logical name, and for
# those the Python class and integer bounds a decoded JSON value must have to be taken as it is). Records of one
# stream share their schema object, so looking the plan up by identity saves hashing the schema.
_FieldPlan = tuple[str, Schema, Type | None, type | None, int | None, int | None]
_Plan = tuple[tuple[_FieldPlan, ...], tuple[str, ...] | None]


def _make_plan(schema: Schema) -> _Plan:
    """The struct's field plan, and its field names when every field is a plain primitive (the fastest path)."""
    plan = tuple(_field_plan(field.name, field.schema) for field in schema.fields)
    all_plain = tuple(p[0] for p in plan) if all(p[2] for p in plan) else None
    return plan, all_plain


_plan_of: IdentityCache[Schema, _Plan] = IdentityCache(_make_plan)


def _field_plan(name: str, schema: Schema) -> _FieldPlan:
    kind = schema.type
    if kind not in _PLAIN or schema.name is not None:
        return (name, schema, None, None, None, None)
    if kind in _INT_BOUNDS:
        return (name, schema, kind, int, *_INT_BOUNDS[kind])
    python = {Type.STRING: str, Type.BOOLEAN: bool}.get(kind, float)
    return (name, schema, kind, python, None, None)


def _struct_plan(schema: Schema) -> tuple[_FieldPlan, ...]:
    return _plan_of(schema)[0]


PayloadReader = Callable[[Any], Any]
PayloadWriter = Callable[[Any], Any]


class _GeneralPathError(Exception):
    """A value the compiled path does not take as it is: the general path converts it, or reports the error."""


def payload_writer(schema: Schema, *, numeric_decimals: bool, replace_null: bool) -> PayloadWriter:
    """``value_to_json`` specialised for ``schema``, for the values records usually carry: plain primitives,
    logical types, and structs of those (Struct.put or the decoder already checked their fields). Other values,
    and any value that fails the quick checks, take the general path, which converts or reports them."""
    general = partial(value_to_json, schema, numeric_decimals=numeric_decimals, replace_null=replace_null)
    if schema.type is not Type.STRUCT:
        field_writer = _field_writer(schema, numeric_decimals, replace_null)
        if field_writer is None:
            _, _, _, python, low, high = _field_plan("", schema)
            if low is None or high is None:

                def write_unbounded(value: Any) -> Any:
                    return value if type(value) is python else general(value)

                return write_unbounded

            lower: int = low  # closures do not keep the narrowing
            upper: int = high

            def write_integer(value: Any) -> Any:
                if type(value) is int and lower <= value <= upper:  # exactly int: bools are not integers here
                    return value
                return general(value)

            return write_integer

        def write_value(value: Any) -> Any:
            if value is None:
                return general(value)
            try:
                return field_writer(value)
            except _GeneralPathError:
                return general(value)

        return write_value
    names = tuple(field.name for field in schema.fields)
    converters = tuple(
        (field.index, writer)
        for field in schema.fields
        if (writer := _field_writer(field.schema, numeric_decimals, replace_null))
    )
    defaults = tuple(
        (field.index, value_to_json(field.schema, field.schema.default, numeric_decimals=numeric_decimals))
        for field in schema.fields
        if field.schema.default is not None and replace_null
    )
    required = tuple(field.index for field in schema.fields if not field.schema.optional)
    row_type = json_row_type(names)

    def write_struct(value: Any) -> Any:
        if type(value) is not Struct or value.schema is not schema:
            return general(value)
        items = value.raw_values()
        try:
            for index, convert in converters:
                item = items[index]
                if item is not None:
                    items[index] = convert(item)
        except _GeneralPathError:
            return general(value)
        if None in items:
            for index, default in defaults:
                if items[index] is None:
                    items[index] = default
            if any(items[index] is None for index in required):
                return general(value)  # its error names the field
        return row_type(*items)

    return write_struct


def _field_writer(schema: Schema, numeric_decimals: bool, replace_null: bool) -> PayloadWriter | None:
    """The JSON form of a non-null field value of ``schema`` (None: plain, written as it is); raises
    _GeneralPathError for values it does not handle."""
    name = schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)

        def write_decimal(value: Any) -> Any:
            if type(value) is not decimal.Decimal:
                raise _GeneralPathError
            return value if numeric_decimals else base64.b64encode(decimal_to_bytes(value, scale)).decode()

        return write_decimal
    if name == TIMESTAMP_NAME:
        return _typed(dt.datetime, timestamp_to_millis)
    if name == DATE_NAME:
        return _typed(dt.date, date_to_days)
    if name == TIME_NAME:
        return _typed(dt.time, time_to_millis)
    kind = schema.type
    if kind is Type.BYTES:
        return _typed(bytes, lambda value: base64.b64encode(value).decode())
    if kind is Type.STRUCT:
        return payload_writer(schema, numeric_decimals=numeric_decimals, replace_null=replace_null)
    if kind in _PLAIN and name is None:
        return None
    return partial(value_to_json, schema, numeric_decimals=numeric_decimals, replace_null=replace_null)


def _typed(python: type, convert: Callable[[Any], Any]) -> PayloadWriter:
    def write(value: Any) -> Any:
        if not isinstance(value, python):
            raise _GeneralPathError
        return convert(value)

    return write


def _compile_reader(schema: Schema) -> PayloadReader:
    """``value_from_json`` specialised for ``schema``: plain primitives and structs of them are checked with a
    few type comparisons and taken as parsed, logical types converted directly; anything else (and any value
    that fails the quick checks, so errors read the same) goes through the general path."""
    if schema.type is Type.STRUCT:
        return _struct_reader(schema)
    read_field = _field_reader(schema)

    def read_value(node: Any) -> Any:
        try:
            return read_field(node)
        except _GeneralPathError:
            return value_from_json(schema, node)

    return read_value


def _struct_reader(schema: Schema) -> PayloadReader:
    plan, plain_names = _plan_of(schema)
    from_values = Struct.from_values
    if plain_names is not None:  # every field a plain primitive: one comparison of the value types
        names = plain_names
        types = tuple(python for *_, python, _, _ in plan)
        bounded: list[tuple[int, int, int]] = []
        for index, (*_, low, high) in enumerate(plan):
            if low is not None and high is not None:
                bounded.append((index, low, high))

        # itemgetter reads every field in one C call; it returns a bare value for one name, hence the tuple.
        get_fields = itemgetter(*names) if len(names) > 1 else (lambda node: (node[names[0]],))

        def read_plain_struct(node: Any) -> Any:
            if type(node) is dict:
                try:
                    values = get_fields(node)
                except KeyError:  # a field left out: the general path applies defaults and reports nulls
                    pass
                else:
                    if tuple(map(type, values)) == types:
                        for position, lowest, highest in bounded:
                            if not lowest <= values[position] <= highest:
                                break
                        else:
                            return from_values(schema, list(values))
            return value_from_json(schema, node)

        return read_plain_struct
    fields = tuple((field.name, _field_reader(field.schema)) for field in schema.fields)

    def read_struct(node: Any) -> Any:
        if type(node) is dict:
            try:
                values = [read(node.get(name)) for name, read in fields]
            except _GeneralPathError:
                pass
            else:
                return from_values(schema, values)
        return value_from_json(schema, node)

    return read_struct


def _field_reader(schema: Schema) -> PayloadReader:
    """A value of ``schema`` from parsed JSON (null included); raises _GeneralPathError for what it does not take."""
    null = schema.default
    nullable = schema.optional or schema.default is not None
    name = schema.name
    if name == DECIMAL_NAME:
        scale = decimal_scale(schema)

        def read_decimal(node: Any) -> Any:
            kind = type(node)
            if kind is str:
                try:
                    return decimal_from_bytes(base64.b64decode(node, validate=True), scale)
                except binascii.Error:
                    raise _GeneralPathError from None
            if kind is int or kind is float:
                return decimal.Decimal(str(node))
            if node is None and nullable:
                return null
            raise _GeneralPathError

        return read_decimal
    if name == TIMESTAMP_NAME:
        return _integer_reader(timestamp_from_millis, null, nullable)
    if name == DATE_NAME:
        return _integer_reader(date_from_days, null, nullable)
    if schema.type is Type.STRUCT:
        nested = payload_reader(schema)

        def read_nested(node: Any) -> Any:
            if node is None:
                if nullable:
                    return null
                raise _GeneralPathError
            return nested(node)

        return read_nested
    _, _, kind, python, low, high = _field_plan("", schema)
    if kind is None:  # Time (its range check), bytes, arrays, maps: the general path, nulls included

        def read_general(node: Any) -> Any:
            value = value_from_json(schema, node)
            if value is None and not schema.optional:
                raise _GeneralPathError  # so the struct's general path reports the null field
            return value

        return read_general
    as_float = python is float

    def read_plain(node: Any) -> Any:
        found = type(node)
        if found is python:
            if low is None or low <= node <= high:
                return node
        elif node is None:
            if nullable:
                return null
        elif as_float and found is int:
            return float(node)
        raise _GeneralPathError

    return read_plain


#: The compiled reader of each schema object.
payload_reader: IdentityCache[Schema, PayloadReader] = IdentityCache(_compile_reader)

PayloadDecoder = Callable[[bytes], Any]
#: What a payload decoder raises for JSON it does not take as it is: the caller then takes the general path.
DECODER_REFUSALS = (msgspec.MsgspecError, orjson.JSONDecodeError)


def _compile_decoder(schema: Schema) -> PayloadDecoder:
    """A function from a payload's JSON bytes to its value. Plain primitives and structs of them are parsed by
    msgspec into their types, checked (types, integer bounds, no nulls, no missing fields) while parsing; other
    schemas are parsed by orjson and read by :data:`payload_reader`. Raises one of :data:`DECODER_REFUSALS` for
    what it does not take as it is (so the general path reports it) and DataError for invalid values."""
    if schema.type is Type.STRUCT:
        plan, plain_names = _plan_of(schema)
        if plain_names is not None:
            row_type = json_row_type(plain_names, [_msgspec_type(kind) for _, _, kind, *_ in plan])
            decode_row = msgspec.json.Decoder(row_type).decode
            from_values = Struct.from_values
            astuple = msgspec.structs.astuple

            def decode_struct(payload: bytes) -> Any:
                return from_values(schema, list(astuple(decode_row(payload))))

            return decode_struct
    else:
        kind = _field_plan("", schema)[2]
        if kind is not None:
            return msgspec.json.Decoder(_msgspec_type(kind)).decode
    read = payload_reader(schema)
    loads = orjson.loads
    return lambda payload: read(loads(payload))


def _msgspec_type(kind: Type | None) -> Any:
    """The msgspec type of a plain primitive's JSON value: integers within their Connect bounds; JSON integers are
    taken for floats as the general path does (as floats)."""
    if kind in _INT_BOUNDS:
        low, high = _INT_BOUNDS[kind]
        return Annotated[int, msgspec.Meta(ge=low, le=high)]
    return {Type.STRING: str, Type.BOOLEAN: bool}.get(kind, float)  # type: ignore[arg-type]


#: The compiled decoder of each schema object.
payload_decoder: IdentityCache[Schema, PayloadDecoder] = IdentityCache(_compile_decoder)


def _integer_reader(convert: Callable[[int], Any], null: Any, nullable: bool) -> PayloadReader:
    def read(node: Any) -> Any:
        if type(node) is int:
            try:
                return convert(node)
            except (OverflowError, SchemaError):
                raise _GeneralPathError from None
        if node is None and nullable:
            return null
        raise _GeneralPathError

    return read


def value_to_json(
    schema: Schema | None, value: Any, *, numeric_decimals: bool = False, replace_null: bool = True
) -> Any:
    """The JSON-able form of a value under ``schema`` (or inferred when schema is None)."""
    if schema is None:
        return _schemaless_to_json(value)
    if value is None:
        if replace_null and schema.default is not None:
            return value_to_json(schema, schema.default, numeric_decimals=numeric_decimals)
        if not schema.optional:
            raise DataError(f"null value for a required {schema.type.value} schema")
        return None
    name = schema.name
    if name == DECIMAL_NAME:
        if not isinstance(value, decimal.Decimal):
            raise DataError(f"Decimal schema needs a decimal.Decimal, got {type(value).__name__}")
        if numeric_decimals:
            return value
        return base64.b64encode(decimal_to_bytes(value, decimal_scale(schema))).decode()
    if name == DATE_NAME and isinstance(value, dt.date):
        return date_to_days(value)
    if name == TIME_NAME and isinstance(value, dt.time):
        return time_to_millis(value)
    if name == TIMESTAMP_NAME and isinstance(value, dt.datetime):
        return timestamp_to_millis(value)
    kind = schema.type
    if kind is Type.BYTES:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise DataError(f"bytes schema needs bytes, got {type(value).__name__}")
        return base64.b64encode(bytes(value)).decode()
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        return [value_to_json(schema.value_schema, item, numeric_decimals=numeric_decimals) for item in value]
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        if schema.key_schema.type is Type.STRING:
            return {
                key: value_to_json(schema.value_schema, item, numeric_decimals=numeric_decimals)
                for key, item in value.items()
            }
        return [
            [
                value_to_json(schema.key_schema, key, numeric_decimals=numeric_decimals),
                value_to_json(schema.value_schema, item, numeric_decimals=numeric_decimals),
            ]
            for key, item in value.items()
        ]
    if kind is Type.STRUCT:
        if not isinstance(value, Struct):
            raise DataError(f"struct schema needs a Struct, got {type(value).__name__}")
        if value.schema is not schema and value.schema != schema:
            raise DataError("Struct's schema does not match the schema it is written with")
        # Struct.put checked every value against its field schema: plain primitives pass as they are.
        _, plain_names = _plan_of(schema)
        items = value.raw_values()
        if plain_names is not None and None not in items:
            return dict(zip(plain_names, items, strict=True))
        return {
            name: item
            if item is not None and plain is not None
            else value_to_json(field_schema, item, numeric_decimals=numeric_decimals, replace_null=replace_null)
            for (name, field_schema, plain, *_), item in zip(_struct_plan(schema), items, strict=True)
        }
    try:
        validate(schema, value)
    except SchemaError as exc:
        raise DataError(str(exc)) from None
    return value


def _schemaless_to_json(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Struct):
        raise DataError("a Struct needs a schema; use schemas with struct values")
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _schemaless_to_json(item) for key, item in value.items()}
        return [[_schemaless_to_json(key), _schemaless_to_json(item)] for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [_schemaless_to_json(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise DataError(f"cannot write a {type(value).__name__} as schemaless JSON")


def value_from_json(schema: Schema | None, node: Any) -> Any:
    """A Connect value from JSON under ``schema`` (schemaless JSON is returned as parsed)."""
    if schema is None:
        return node
    if node is None:
        if schema.default is not None:
            return schema.default
        if not schema.optional:
            raise DataError(f"null payload for a required {schema.type.value} schema")
        return None
    name = schema.name
    try:
        if name == DECIMAL_NAME:
            if isinstance(node, str):
                return decimal_from_bytes(base64.b64decode(node, validate=True), decimal_scale(schema))
            if isinstance(node, int | float):
                return decimal.Decimal(str(node))
            raise DataError("Decimal payload must be a base64 string or a number")
        if name == DATE_NAME:
            return date_from_days(_integer(node))
        if name == TIME_NAME:
            return time_from_millis(_integer(node))
        if name == TIMESTAMP_NAME:
            return timestamp_from_millis(_integer(node))
    except (binascii.Error, SchemaError, OverflowError) as exc:
        raise DataError(f"invalid {name} payload: {exc}") from None
    kind = schema.type
    if kind is Type.BYTES:
        if not isinstance(node, str):
            raise DataError("bytes payload must be a base64 string")
        try:
            return base64.b64decode(node, validate=True)
        except binascii.Error as exc:
            raise DataError(f"bytes payload is not base64: {exc}") from None
    if kind is Type.ARRAY:
        if not isinstance(node, list):
            raise DataError("array payload must be a JSON array")
        assert schema.value_schema is not None
        return [value_from_json(schema.value_schema, item) for item in node]
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        if isinstance(node, dict):
            return {
                value_from_json(schema.key_schema, key): value_from_json(schema.value_schema, v)
                for key, v in node.items()
            }
        if isinstance(node, list) and all(isinstance(pair, list) and len(pair) == 2 for pair in node):
            return {value_from_json(schema.key_schema, k): value_from_json(schema.value_schema, v) for k, v in node}
        raise DataError("map payload must be an object or an array of [key, value] pairs")
    if kind is Type.STRUCT:
        if not isinstance(node, dict):
            raise DataError("struct payload must be a JSON object")
        values = []
        for name, field_schema, _, python, low, high in _struct_plan(schema):
            item = node.get(name)
            found = type(item)
            if found is python and (low is None or low <= item <= high):  # type: ignore[operator]
                values.append(item)  # already a valid value of a plain field
                continue
            if python is float and found is int:
                item = float(cast(int, item))
            else:
                item = value_from_json(field_schema, item)  # the general path checks and reports
                if item is None and not field_schema.optional and field_schema.default is None:
                    raise DataError(f"{name} is null but its schema is not optional")
            values.append(item)
        return Struct.from_values(schema, values)  # each value was checked above
    if kind in (Type.FLOAT32, Type.FLOAT64):
        if isinstance(node, bool) or not isinstance(node, int | float):
            raise DataError(f"{kind.value} payload must be a number")
        return float(node)
    try:
        validate(schema, node)
    except SchemaError as exc:
        raise DataError(f"payload does not match its schema: {exc}") from None
    return node


def _envelope_prefix(schema_text: bytes) -> bytes:
    return b'{"schema":' + schema_text + b',"payload":'


_NULL_SCHEMA_PREFIX = _envelope_prefix(b"null")
_new_tuple = tuple.__new__


def _read_schemaless(node: Any) -> Any:
    return node


_decode_schemaless: PayloadDecoder = orjson.loads


def _integer(node: Any) -> int:
    if isinstance(node, bool) or not isinstance(node, int):
        raise DataError(f"expected an integer payload, got {node!r}")
    return node


def _refuse(value: Any) -> Any:
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


#: The JSON bytes of what payload writers and ``value_to_json`` return, and of schemas (decimals reach it only as
#: numbers: ``decimal.format=NUMERIC``); thread-safe.
dump_json = msgspec.json.Encoder(enc_hook=_refuse, decimal_format="number").encode


class JsonConverter(Converter, HeaderConverter):
    """Kafka Connect's JsonConverter (see the module docstring)."""

    def __init__(self) -> None:
        self.schemas_enabled = True
        self.numeric_decimals = False
        self.replace_null = True
        self._parse_schema = lru_cache(maxsize=1000)(self._parse_schema_text)
        self._writers: IdentityCache[Schema, tuple[bytes, PayloadWriter]] = IdentityCache(self._make_writer)
        self._last_prefix = b""
        self._last_schema: Schema | None = None
        self._last_decoder: PayloadDecoder = _decode_schemaless

    def _make_writer(self, schema: Schema) -> tuple[bytes, PayloadWriter]:
        """The envelope's start up to the payload (``{"schema":…,"payload":``) and the payload writer."""
        text = _envelope_prefix(dump_json(schema_to_json(schema, numeric_decimals=self.numeric_decimals)))
        return text, payload_writer(schema, numeric_decimals=self.numeric_decimals, replace_null=self.replace_null)

    def config_def(self) -> ConfigDef:
        return CONFIG

    def configure(self, config: Mapping[str, Any], *, is_key: bool = False) -> None:
        parsed = CONFIG.parse({key: value for key, value in config.items() if CONFIG.key(key) is not None})
        self.schemas_enabled = parsed["schemas.enable"]
        self.numeric_decimals = str(parsed["decimal.format"]).upper() == "NUMERIC"
        self.replace_null = parsed["replace.null.with.default"]
        self._parse_schema = lru_cache(maxsize=parsed["schemas.cache.size"])(self._parse_schema_text)
        self._writers.clear()

    def from_connect(self, topic: str, schema: Schema | None, value: Any) -> bytes | None:
        if schema is None:
            if value is None:
                return None
            payload = _schemaless_to_json(value)
            prefix = _NULL_SCHEMA_PREFIX
        else:
            prefix, write = self._writers(schema)
            payload = write(value)
        if not self.schemas_enabled:
            return dump_json(payload)
        # Byte for byte what dumping {"schema": …, "payload": …} gives, with the schema part serialised once.
        return prefix + dump_json(payload) + b"}"

    def to_connect(self, topic: str, data: bytes | None) -> SchemaAndValue:
        if data is None:
            return NULL
        prefix = self._last_prefix
        if prefix and data.startswith(prefix) and data.endswith(b"}") and self.schemas_enabled:
            # Same schema as the previous record, byte for byte: parse only the payload.
            try:
                value = self._last_decoder(data[len(prefix) : -1])  # a bytes slice: cheaper than a memoryview here
            except DECODER_REFUSALS:
                pass
            else:  # tuple.__new__ skips the generated __new__ of a NamedTuple, a fifth of this path
                return _new_tuple(SchemaAndValue, (self._last_schema, value))
        try:
            node = orjson.loads(data) if data else None
        except orjson.JSONDecodeError as exc:
            raise DataError(f"converting bytes to JSON failed for topic {topic!r}: {exc}") from None
        if not self.schemas_enabled:
            return SchemaAndValue(None, node)
        if not isinstance(node, dict) or set(node) != {"schema", "payload"}:
            raise DataError(ENVELOPE_ERROR)
        schema_text = dump_json(node["schema"])
        schema = None if node["schema"] is None else self._parse_schema(schema_text)
        prefix = _envelope_prefix(schema_text)
        reader = _read_schemaless if schema is None else payload_reader(schema)
        if data.startswith(prefix):  # written compactly, as Connect and Hub write it: remember for the next record
            decoder = _decode_schemaless if schema is None else payload_decoder(schema)
            self._last_prefix, self._last_schema, self._last_decoder = prefix, schema, decoder
        return SchemaAndValue(schema, reader(node["payload"]))

    @staticmethod
    def _parse_schema_text(text: bytes) -> Schema:
        return schema_from_json(orjson.loads(text))

    def from_connect_header(self, topic: str, key: str, schema: Schema | None, value: Any) -> bytes | None:
        return self.from_connect(topic, schema, value)

    def to_connect_header(self, topic: str, key: str, data: bytes | None) -> SchemaAndValue:
        return self.to_connect(topic, data)
