"""ExtractNewRecordState ("unwrap"): turns Debezium-style change events into plain rows, as Debezium's
``io.debezium.transforms.ExtractNewRecordState`` does, for sinks that want the row rather than the envelope.

The value becomes the envelope's ``after`` row. Deletes follow ``delete.tombstone.handling.mode``:

- ``tombstone`` (default): the delete event is dropped and the tombstone after it kept, so a sink deletes by key;
- ``drop``: both dropped;
- ``rewrite``: the delete becomes its ``before`` row with ``__deleted=true`` (other rows get ``__deleted=false``),
  the tombstone is dropped; ``rewrite-with-tombstone`` keeps the tombstone too;
- ``delete-to-tombstone``: the delete event itself becomes the tombstone (the separate one is dropped).

The deprecated ``drop.tombstones`` and ``delete.handling.mode`` options are understood when the new one is unset.
``add.fields`` copies envelope fields (``op``, ``ts_ms``) or source fields (``table``, ``lsn``, ``source.ts_ms``…)
into the row as ``<add.fields.prefix><name>`` (dots become underscores); ``add.headers`` does the same into headers.
Records that are not change events (heartbeats) pass unchanged. Works on Struct values with schemas and on plain
maps (schemaless JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from hub.sdk import ConfigDef, ConfigType, Struct, Transformation
from hub.sdk.errors import ConfigError
from hub.sdk.identity_cache import IdentityCache
from hub.sdk.schema import OPTIONAL_STRING_SCHEMA, Schema, Type, struct_schema
from hub.sdk.transform import R

MODES = ("tombstone", "drop", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone")
ENVELOPE_FIELDS = ("op", "ts_ms", "ts_us", "ts_ns")

CONFIG = (
    ConfigDef()
    .define("delete.tombstone.handling.mode", ConfigType.STRING, None, "What deletes become.", choices=MODES)
    .define("drop.tombstones", ConfigType.BOOLEAN, None, "Deprecated: drop tombstones.")
    .define(
        "delete.handling.mode",
        ConfigType.STRING,
        None,
        "Deprecated: drop, rewrite or none.",
        choices=("drop", "rewrite", "none"),
    )
    .define("add.fields", ConfigType.LIST, [], "Envelope or source fields to copy into the row.")
    .define("add.fields.prefix", ConfigType.STRING, "__", "Prefix of added fields.")
    .define("add.headers", ConfigType.LIST, [], "Envelope or source fields to copy into headers.")
    .define("add.headers.prefix", ConfigType.STRING, "__", "Prefix of added headers.")
    .unsupported("route.by.field", "use the RegexRouter transform")
    .unsupported("drop.fields.header.name", "not implemented")
    .unsupported("drop.fields.from.key", "not implemented")
)

DELETED = "__deleted"


def _mode(settings: Mapping[str, Any]) -> str:
    if settings["delete.tombstone.handling.mode"]:
        return str(settings["delete.tombstone.handling.mode"])
    legacy = settings["delete.handling.mode"]
    drop_tombstones = settings["drop.tombstones"]
    if legacy is None and drop_tombstones is None:
        return "tombstone"
    keep_tombstones = drop_tombstones is False
    if legacy == "rewrite":
        return "rewrite-with-tombstone" if keep_tombstones else "rewrite"
    if legacy == "none":
        return "delete-to-tombstone"
    return "tombstone" if keep_tombstones else "drop"


class ExtractNewRecordState(Transformation):
    """See the module docstring."""

    aliases = ("io.debezium.transforms.ExtractNewRecordState", "UnwrapChangeEvent")

    def config_def(self) -> ConfigDef:
        return CONFIG

    def configure(self, config: Mapping[str, Any]) -> None:
        super().configure(config)
        self.mode = _mode(self.config)
        for key in ("add.fields", "add.headers"):
            for name in self.config[key]:
                if not name.strip():
                    raise ConfigError({key: ["empty field name"]})
        self._schemas: dict[tuple[int, int], tuple[Schema, Schema, Schema]] = {}

    def apply(self, record: R) -> R | None:
        value = record.value
        if value is None:  # a tombstone
            return None if self.mode in ("drop", "rewrite", "delete-to-tombstone") else record
        if isinstance(value, Struct):
            layout = _layout_of(value.schema)
            if layout is None:
                return record
            values = value.raw_values()
            op = values[layout.op]
            row_index, row_schema = (
                (layout.before, layout.before_schema) if op == "d" else (layout.after, layout.after_schema)
            )
            row = values[row_index] if row_index >= 0 else None
        else:
            envelope = _fields(value)
            if envelope is None or "op" not in envelope or "after" not in envelope:
                return record
            op = envelope["op"]
            row, row_schema = envelope.get("before" if op == "d" else "after"), None
        if op == "d":
            if self.mode in ("tombstone", "drop"):
                return None
            if self.mode == "delete-to-tombstone":
                return record.replace(value=None, value_schema=None)
        if row is None:
            return None
        additions = self._additions(record.value_schema, value, "add.fields")
        if self.mode.startswith("rewrite"):
            additions.append((DELETED, "true" if op == "d" else "false", OPTIONAL_STRING_SCHEMA))
        new_value, new_schema = self._extend(row, row_schema, record.value_schema, additions)
        headers = record.headers
        if self.config["add.headers"]:
            for name, field_value, schema in self._additions(record.value_schema, value, "add.headers"):
                headers = headers.add(name, field_value, schema)
        return record.replace(value=new_value, value_schema=new_schema, headers=headers)

    def _additions(self, envelope_schema: Schema | None, envelope: Any, option: str) -> list[tuple[str, Any, Schema]]:
        """(name, value, schema) of each field ``option`` names, from the envelope or its source block."""
        if not self.config[option]:
            return []
        envelope = _fields(envelope) or {}
        source = _fields(envelope.get("source")) or {}
        source_schema = _field_schema(envelope_schema, "source")
        prefix = self.config[f"{option}.prefix"]
        out = []
        for name in (n.strip() for n in self.config[option]):
            key = name.removeprefix("source.")
            on_envelope = name in ENVELOPE_FIELDS
            found = envelope.get(key) if on_envelope else source.get(key)
            schema = _field_schema(envelope_schema if on_envelope else source_schema, key)
            out.append((prefix + name.replace(".", "_"), found, (schema or OPTIONAL_STRING_SCHEMA).as_optional()))
        return out

    def _extend(
        self,
        row: Any,
        row_schema: Schema | None,
        envelope_schema: Schema | None,
        additions: list[tuple[str, Any, Schema]],
    ) -> tuple[Any, Schema | None]:
        if not additions:
            return row, row_schema
        values = {name: value for name, value, _ in additions}
        if not isinstance(row, Struct) or row_schema is None or envelope_schema is None:
            return {**(_fields(row) or {}), **values}, None
        # By identity: hashing schemas for every record costs more than the rest of the transform.
        found = self._schemas.get((id(row_schema), id(envelope_schema)))
        if found is not None and found[0] is row_schema and found[1] is envelope_schema:
            schema = found[2]
        else:
            fields = [(f.name, f.schema) for f in row_schema.fields] + [(n, s) for n, _, s in additions]
            schema = struct_schema(fields, name=row_schema.name, optional=row_schema.optional)
            self._schemas[(id(row_schema), id(envelope_schema))] = (row_schema, envelope_schema, schema)
        # The row's values fit its schema, and each addition came from the envelope with the schema it takes.
        return Struct.from_values(schema, [*row.raw_values(), *(value for _, value, _ in additions)]), schema


class _Layout(NamedTuple):
    op: int
    before: int
    before_schema: Schema | None
    after: int
    after_schema: Schema | None


def _layout(schema: Schema) -> _Layout | None:
    """Where an envelope schema keeps op, before and after (None: not a change event)."""
    if schema.type is not Type.STRUCT or not schema.has_field("op") or not schema.has_field("after"):
        return None
    before = schema.field("before") if schema.has_field("before") else None
    after = schema.field("after")
    return _Layout(
        schema.field("op").index,
        before.index if before is not None else -1,
        before.schema if before is not None else None,
        after.index,
        after.schema,
    )


_layout_of: IdentityCache[Schema, _Layout | None] = IdentityCache(_layout)


def _fields(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Struct):
        return dict(value.items())
    if isinstance(value, Mapping):
        return dict(value)
    return None


def _field_schema(schema: Schema | None, name: str) -> Schema | None:
    return schema.field(name).schema if schema is not None and schema.has_field(name) else None
