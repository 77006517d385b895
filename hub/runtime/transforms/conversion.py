"""Kafka Connect's type conversions: Cast and TimestampConverter (Key and Value variants)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Any

from hub.runtime.transforms.fields import FieldTransform, fill_struct, rebuild_struct_schema
from hub.runtime.transforms.routing import java_date_format
from hub.sdk.config import ConfigDef, ConfigType
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.schema import (
    INTEGER_RANGES,
    Schema,
    Type,
    date_schema,
    time_schema,
    timestamp_schema,
)
from hub.sdk.transform import R

_CAST_TYPES = {
    "int8": Type.INT8,
    "int16": Type.INT16,
    "int32": Type.INT32,
    "int64": Type.INT64,
    "float32": Type.FLOAT32,
    "float64": Type.FLOAT64,
    "boolean": Type.BOOLEAN,
    "string": Type.STRING,
}


def _cast(value: Any, target: Type) -> Any:
    if value is None:
        return None
    try:
        if target in INTEGER_RANGES:
            number = int(value) if not isinstance(value, str) else int(value.strip())
            low, high = INTEGER_RANGES[target]
            if not low <= number <= high:
                raise DataError(f"Cast: {value!r} does not fit in {target.value}")
            return number
        if target in (Type.FLOAT32, Type.FLOAT64):
            return float(value)
        if target is Type.BOOLEAN:
            if isinstance(value, str):
                if value.strip().lower() not in ("true", "false"):
                    raise DataError(f"Cast: {value!r} is not a boolean")
                return value.strip().lower() == "true"
            return bool(value)
        if isinstance(value, bytes | bytearray):
            return base64.b64encode(bytes(value)).decode()
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Cast: cannot cast {value!r} to {target.value}: {exc}") from None


class Cast(FieldTransform):
    """Casts the whole key/value (``spec`` = a type) or some of its fields (``spec`` = ``field:type,…``) to
    int8, int16, int32, int64, float32, float64, boolean or string."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("spec", ConfigType.LIST, doc="A type, or field:type pairs.", non_empty=True)

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        self.whole: Type | None = None
        self.fields: dict[str, Type] = {}
        problems: list[str] = []
        for item in self.config["spec"]:
            name, sep, type_name = item.rpartition(":")
            target = _CAST_TYPES.get(type_name.strip())
            if target is None:
                problems.append(f"unknown type {type_name!r} in {item!r} (one of {', '.join(_CAST_TYPES)})")
            elif sep:
                self.fields[name.strip()] = target
            else:
                self.whole = target
        if self.whole is not None and (self.fields or len(self.config["spec"]) > 1):
            problems.append("a whole-value cast cannot be combined with field casts")
        if problems:
            raise ConfigError({"spec": problems})

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        if self.whole is not None:
            new_schema = None if schema is None else Schema(self.whole, optional=schema.optional)
            return self._set(record, new_schema, _cast(value, self.whole))
        if value is None:
            return record
        self._require_container(schema, value)
        if schema is None:
            return self._set(
                record, None, {k: _cast(v, self.fields[k]) if k in self.fields else v for k, v in value.items()}
            )
        fields = [
            (f.name, Schema(self.fields[f.name], optional=f.schema.optional) if f.name in self.fields else f.schema)
            for f in schema.fields
        ]
        new_schema = rebuild_struct_schema(schema, fields)
        values = {
            f.name: _cast(value.get(f.name), self.fields[f.name]) if f.name in self.fields else value.get(f.name)
            for f in schema.fields
        }
        return self._set(record, new_schema, fill_struct(new_schema, values))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PRECISION = {"seconds": 1, "milliseconds": 1_000, "microseconds": 1_000_000, "nanoseconds": 1_000_000_000}
_TARGETS = ("string", "unix", "Date", "Time", "Timestamp")


class TimestampConverter(FieldTransform):
    """Converts a timestamp (the whole key/value, or ``field``) between a formatted ``string``, ``unix`` time,
    and Connect's ``Date``, ``Time`` and ``Timestamp`` logical types, in UTC."""

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("target.type", ConfigType.STRING, doc="string, unix, Date, Time or Timestamp.", choices=_TARGETS)
            .define("field", ConfigType.STRING, "", "Field holding the timestamp; empty for the whole value.")
            .define("format", ConfigType.STRING, None, "SimpleDateFormat pattern for string input or output.")
            .define(
                "unix.precision", ConfigType.STRING, "milliseconds", "Unit of unix times.", choices=tuple(_PRECISION)
            )
        )

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        pattern = self.config["format"]
        self.strftime = java_date_format(pattern, "format") if pattern else None
        if self.config["target.type"] == "string" and self.strftime is None:
            raise ConfigError({"format": ["format is required when target.type is string"]})
        self.per_second = _PRECISION[self.config["unix.precision"]]

    def _to_datetime(self, schema: Schema | None, value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        if isinstance(value, dt.time):
            return dt.datetime.combine(dt.date(1970, 1, 1), value, tzinfo=dt.UTC)
        if isinstance(value, int) and not isinstance(value, bool):
            return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(
                microseconds=value * 1_000_000 // self.per_second
            )
        if isinstance(value, str):
            if self.strftime is None:
                raise DataError("TimestampConverter needs 'format' to read string timestamps")
            try:
                parsed = dt.datetime.strptime(value, self.strftime.replace("{millis}", "%f"))
            except ValueError as exc:
                raise DataError(f"TimestampConverter: {value!r} does not match the format: {exc}") from None
            return parsed.replace(tzinfo=dt.UTC)
        raise DataError(f"TimestampConverter cannot read a {type(value).__name__} as a timestamp")

    def _from_datetime(self, moment: dt.datetime) -> tuple[Schema, Any]:
        target = self.config["target.type"]
        if target == "Timestamp":
            return timestamp_schema(), moment
        if target == "Date":
            return date_schema(), moment.date()
        if target == "Time":
            return time_schema(), moment.time().replace(microsecond=moment.microsecond // 1000 * 1000)
        if target == "unix":
            delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
            micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
            return Schema(Type.INT64), micros * self.per_second // 1_000_000
        assert self.strftime is not None
        text = moment.strftime(self.strftime).replace("{millis}", f"{moment.microsecond // 1000:03d}")
        return Schema(Type.STRING), text

    def _convert(self, schema: Schema | None, value: Any) -> tuple[Schema, Any]:
        new_schema, new_value = self._from_datetime(self._to_datetime(schema, value))
        optional = schema.optional if schema is not None else True
        return (new_schema.as_optional() if optional else new_schema), new_value

    def apply(self, record: R) -> R | None:
        schema, value = self._get(record)
        name = self.config["field"]
        if not name:
            if value is None:
                return record
            new_schema, new_value = self._convert(schema, value)
            return self._set(record, None if schema is None else new_schema, new_value)
        if value is None:
            return record
        self._require_container(schema, value)
        if schema is None:
            converted = dict(value)
            if converted.get(name) is not None:
                converted[name] = self._convert(None, converted[name])[1]
            return self._set(record, None, converted)
        if not schema.has_field(name):
            raise DataError(f"TimestampConverter: no field {name!r} in the {self.part}")
        field_schema = schema.field(name).schema
        new_field_schema = self._convert(field_schema, _EPOCH)[0]  # the output schema depends only on the target
        fields = [(f.name, new_field_schema if f.name == name else f.schema) for f in schema.fields]
        new_schema = rebuild_struct_schema(schema, fields)
        values = {f.name: value.get(f.name) for f in schema.fields}
        if values[name] is not None:
            values[name] = self._convert(field_schema, values[name])[1]
        return self._set(record, new_schema, fill_struct(new_schema, values))


class CastKey(Cast):
    """Cast on the record key (Connect's ``Cast$Key``)."""

    part = "key"


class CastValue(Cast):
    """Cast on the record value (Connect's ``Cast$Value``)."""

    part = "value"


class TimestampConverterKey(TimestampConverter):
    """TimestampConverter on the record key (Connect's ``TimestampConverter$Key``)."""

    part = "key"


class TimestampConverterValue(TimestampConverter):
    """TimestampConverter on the record value (Connect's ``TimestampConverter$Value``)."""

    part = "value"
