"""Which columns a sink record writes, and with which values: Confluent's ``pk.mode`` / ``pk.fields`` /
``fields.whitelist`` rules, for struct values with schemas and for schemaless maps.

A ``RowShape`` lists the columns records of one key schema and value schema write, key columns first; a
``RowPlan`` adds whether they are writes or deletes and a reader of a record's value per column (defaults applied
as configured, not yet converted for the database). Plans are cached per schema pair (by identity: converters
hand out the same schema object for every record of a schema); a reader picks struct fields by position from the
struct's values in one step, so planning a record costs a few identity checks and reading it one tuple.

Record-level problems (a null key with ``pk.mode=record_key``, a value that is not a struct or map) raise
DataError; settings that cannot work for the records at all (a primitive key without one ``pk.fields`` name)
raise ConnectorError.

Not thread-safe (the plan cache); one planner per task.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from connectors.jdbc.sink.config import SinkSettings
from hub.sdk import Schema, SinkRecord, Struct, Type
from hub.sdk.errors import ConnectorError, DataError
from hub.sdk.schema import INT32_SCHEMA, INT64_SCHEMA, STRING_SCHEMA

_CACHE_LIMIT = 1000

# Where a column's value comes from.
TOPIC, PARTITION, OFFSET, KEY, VALUE = "topic", "partition", "offset", "key", "value"


@dataclass(frozen=True)
class ColumnSpec:
    """One column a record writes: its name, its Connect schema (None when schemaless), where its value is."""

    name: str
    schema: Schema | None
    primary: bool
    source: str
    field: str | None = None  # the struct field or map key; None: the whole key


@dataclass(frozen=True)
class RowShape:
    """The columns written by records of one key and value schema: primary key columns first."""

    columns: tuple[ColumnSpec, ...]
    keys: tuple[ColumnSpec, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(column for column in self.columns if column.primary))

    @property
    def schemaless(self) -> tuple[str, ...]:
        """Names of the columns whose type is unknown (schemaless data)."""
        return tuple(column.name for column in self.columns if column.schema is None)


Reader = Callable[[SinkRecord], tuple[Any, ...]]


class RowPlan(NamedTuple):
    """How records of one key schema and value schema become a write (or a delete): the columns, and the reader
    of a record's value for each column."""

    shape: RowShape
    delete: bool
    read: Reader


class RowPlanner:
    """Plans the rows of sink records per the sink's key and field settings (see the module docstring)."""

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings
        self._plans: dict[tuple[Any, ...], tuple[Any, Any, RowPlan]] = {}
        # The plan of the last record, by its key and value schemas (records come in runs of one schema).
        self._last: tuple[Schema | None, Schema | None, RowPlan] | None = None

    def plan(self, record: SinkRecord) -> RowPlan | None:
        """The record's RowPlan; None for a tombstone when deletes are off (Confluent skips those too)."""
        value_schema, key_schema, last = record.value_schema, record.key_schema, self._last
        if (
            last is not None
            and value_schema is last[1]
            and key_schema is last[0]
            and value_schema is not None
            and record.value is not None
            and (key_schema is not None or record.key is None)
            and not last[2].delete
        ):
            return last[2]  # same schemas (or no key, as before), a write again
        delete = record.value is None
        if delete and not self.settings.delete_enabled:
            return None
        plan = self._plan(record, delete)
        self._last = (key_schema, value_schema, plan) if key_schema is not None or record.key is None else None
        return plan

    def _plan(self, record: SinkRecord, delete: bool) -> RowPlan:
        key_sig, value_sig = _signature(record.key_schema, record.key), _signature(record.value_schema, record.value)
        cache_key = (_hashed(key_sig), _hashed(value_sig), delete)
        found = self._plans.get(cache_key)
        if found is not None and _same(found[0], key_sig) and _same(found[1], value_sig):
            return found[2]
        keys = self._key_columns(record)
        values = () if delete else self._value_columns(record, {column.name for column in keys})
        shape = RowShape((*keys, *values))
        plan = RowPlan(shape, delete, _reader(record, shape.columns, self.settings.replace_null_with_default))
        if len(self._plans) >= _CACHE_LIMIT:
            self._plans.clear()
        self._plans[cache_key] = (key_sig, value_sig, plan)
        return plan

    # --- primary key columns (pk.mode) -------------------------------------------------------------------------

    def _key_columns(self, record: SinkRecord) -> tuple[ColumnSpec, ...]:
        mode = self.settings.pk_mode
        if mode == "kafka":
            topic, partition, offset = self.settings.kafka_pk_columns
            return (
                ColumnSpec(topic, STRING_SCHEMA, True, TOPIC),
                ColumnSpec(partition, INT32_SCHEMA, True, PARTITION),
                ColumnSpec(offset, INT64_SCHEMA, True, OFFSET),
            )
        if mode == "record_key":
            if record.key is None:
                raise DataError("the record has no key, but pk.mode=record_key takes the primary key from it")
            return self._struct_or_primitive_key(record.key_schema, record.key)
        if mode == "record_value":
            if record.value is None:
                return ()
            names = self.settings.pk_fields or tuple(_field_names(record.value_schema, record.value, "value"))
            return tuple(_column(record.value_schema, record.value, name, VALUE, primary=True) for name in names)
        return ()

    def _struct_or_primitive_key(self, schema: Schema | None, key: Any) -> tuple[ColumnSpec, ...]:
        if (schema is not None and schema.type is Type.STRUCT) or (schema is None and isinstance(key, Mapping)):
            names = self.settings.pk_fields or tuple(_field_names(schema, key, "key"))
            return tuple(_column(schema, key, name, KEY, primary=True) for name in names)
        if schema is not None and not schema.type.is_primitive:
            raise DataError(f"a record key of type {schema.type.value} cannot be a primary key")
        if len(self.settings.pk_fields) != 1:
            raise ConnectorError(
                "pk.mode=record_key with a primitive key (not a struct) needs exactly one column name in pk.fields, "
                f"got {list(self.settings.pk_fields)}"
            )
        return (ColumnSpec(self.settings.pk_fields[0], schema, True, KEY),)

    # --- other columns (fields.whitelist) ----------------------------------------------------------------------

    def _value_columns(self, record: SinkRecord, key_names: set[str]) -> tuple[ColumnSpec, ...]:
        allowed = self.settings.fields_whitelist
        names = [
            name
            for name in _field_names(record.value_schema, record.value, "value")
            if name not in key_names and (not allowed or name in allowed)
        ]
        return tuple(_column(record.value_schema, record.value, name, VALUE, primary=False) for name in names)


def _reader(record: SinkRecord, columns: Sequence[ColumnSpec], replace_defaults: bool) -> Reader:
    """A function reading the values of ``columns`` from records like ``record`` (same key and value schemas)."""
    parts = [
        _struct_reader(record, list(group), replace_defaults)
        if source in (KEY, VALUE)
        else _column_reader(list(group), replace_defaults)
        for source, group in itertools.groupby(columns, key=lambda column: column.source)
    ]
    if not parts:
        return lambda record: ()
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda record: first(record) + second(record)
    return lambda record: tuple(itertools.chain.from_iterable(part(record) for part in parts))


def _struct_reader(record: SinkRecord, columns: list[ColumnSpec], replace_defaults: bool) -> Reader:
    """Fields of the key or the value: by position when the record's struct has the shape's schema object."""
    generic = _column_reader(columns, replace_defaults)
    key = columns[0].source == KEY
    schema = record.key_schema if key else record.value_schema
    if schema is None or schema.type is not Type.STRUCT or any(column.field is None for column in columns):
        return generic
    fields = [schema.field(column.field) for column in columns if column.field is not None]
    indices = [item.index for item in fields]
    pick: Callable[[list[Any]], Any] = operator.itemgetter(*indices)
    single = len(indices) == 1
    defaults = [
        (position, item.schema.default)
        for position, item in enumerate(fields)
        if replace_defaults and item.schema.default is not None
    ]

    def read(record: SinkRecord) -> tuple[Any, ...]:
        container = record.key if key else record.value
        if type(container) is not Struct or container.schema is not schema:
            return generic(record)
        values: tuple[Any, ...] = (pick(container.raw_values()),) if single else pick(container.raw_values())
        if not defaults:
            return values
        row = list(values)
        for position, default in defaults:
            if row[position] is None:
                row[position] = default
        return tuple(row)

    return read


def _column_reader(columns: list[ColumnSpec], replace_defaults: bool) -> Reader:
    return lambda record: tuple(_read(record, column, replace_defaults) for column in columns)


def _read(record: SinkRecord, column: ColumnSpec, replace_defaults: bool) -> Any:
    source = column.source
    if source == TOPIC:
        return record.topic
    if source == PARTITION:
        return record.kafka_partition
    if source == OFFSET:
        return record.kafka_offset
    container = record.key if source == KEY else record.value
    if column.field is None:
        return container
    if isinstance(container, Struct):
        if replace_defaults:
            return container.get(column.field)
        return container.get_without_default(column.field)
    return container.get(column.field)


def _signature(schema: Schema | None, value: Any) -> Any:
    """What a shape depends on: the schema, or for schemaless data the map's keys or the value's kind."""
    if schema is not None:
        return schema
    if isinstance(value, Mapping):
        return tuple(value)
    return type(value).__name__


def _hashed(signature: Any) -> Any:
    # Hashing a schema walks all of it; the identity of the converter's cached schema object is enough.
    return id(signature) if isinstance(signature, Schema) else signature


def _same(cached: Any, signature: Any) -> bool:
    return cached is signature if isinstance(signature, Schema) else bool(cached == signature)


def _field_names(schema: Schema | None, value: Any, what: str) -> Sequence[str]:
    if schema is not None and schema.type is Type.STRUCT:
        return [item.name for item in schema.fields]
    if schema is None and isinstance(value, Mapping):
        return [str(name) for name in value]
    kind = schema.type.value if schema is not None else type(value).__name__
    raise DataError(
        f"the record {what} must be a struct (or a JSON object without schema) to map to columns, not {kind}"
    )


def _column(schema: Schema | None, value: Any, name: str, source: str, *, primary: bool) -> ColumnSpec:
    if schema is not None:
        if schema.type is not Type.STRUCT:
            raise DataError(f"the record {source} must be a struct to take the field {name!r} from it")
        if not schema.has_field(name):
            raise DataError(f"the record {source} has no field {name!r} (named in pk.fields)")
        return ColumnSpec(name, schema.field(name).schema, primary, source, name)
    if not isinstance(value, Mapping):
        raise DataError(f"the record {source} must be a JSON object to take the field {name!r} from it")
    if primary and name not in value:
        raise DataError(f"the record {source} has no field {name!r} (named in pk.fields)")
    return ColumnSpec(name, None, primary, source, name)
