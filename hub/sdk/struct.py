"""Struct: a value of a struct schema, with fields set by name and checked against the schema."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hub.sdk.schema import Schema, SchemaError, Type, validate


class Struct:
    """A struct value. ``put`` checks each field against its schema; ``validate`` checks required fields.

    Not thread-safe while being filled; treat a finished Struct as immutable (transforms copy, never mutate).
    """

    __slots__ = ("_values", "schema")

    def __init__(self, schema: Schema, values: Mapping[str, Any] | None = None) -> None:
        if schema.type is not Type.STRUCT:
            raise SchemaError(f"a Struct needs a struct schema, got {schema.type.value}")
        self.schema = schema
        self._values: list[Any] = [None] * len(schema.fields)
        for name, value in (values or {}).items():
            self.put(name, value)

    def put(self, name: str, value: Any) -> Struct:
        """Set a field; SchemaError when the struct has no such field or the value does not fit."""
        field = self.schema.field(name)
        validate(field.schema, value, name)
        self._values[field.index] = value
        return self

    @classmethod
    def from_values(cls, schema: Schema, values: list[Any]) -> Struct:
        """A struct from values already checked against their field schemas, in field order (for converters that
        validated while decoding; anything else should use the constructor, which validates)."""
        struct = cls.__new__(cls)
        struct.schema = schema
        struct._values = values
        return struct

    def raw_values(self) -> list[Any]:
        """The field values in field order, without defaults applied (a copy)."""
        return list(self._values)

    def get(self, name: str) -> Any:
        """A field's value, or its schema default when unset."""
        field = self.schema.field(name)
        value = self._values[field.index]
        return field.schema.default if value is None else value

    def get_without_default(self, name: str) -> Any:
        return self._values[self.schema.field(name).index]

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def items(self) -> Iterator[tuple[str, Any]]:
        """(name, value) pairs in field order, defaults applied."""
        for field in self.schema.fields:
            value = self._values[field.index]
            yield field.name, field.schema.default if value is None else value

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data: nested structs become dicts too."""
        return {name: _plain(value) for name, value in self.items()}

    def validate(self, path: str = "") -> None:
        """Check every field, required ones included; SchemaError names the first offending path."""
        for field in self.schema.fields:
            validate(field.schema, self._values[field.index], f"{path}.{field.name}" if path else field.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Struct) and self.schema == other.schema and self._values == other._values

    def __hash__(self) -> int:
        return hash((self.schema, tuple(repr(v) for v in self._values)))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self.items())
        return f"Struct{{{inner}}}"


def _plain(value: Any) -> Any:
    if isinstance(value, Struct):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
