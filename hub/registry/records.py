"""The records of the ``_schemas`` topic, in Confluent Schema Registry's key and value JSON formats.

Keys (JSON objects, fields in this order, absent fields left out):

- ``{"keytype": "SCHEMA", "subject": S, "version": V, "magic": 1}`` — value: ``{"subject", "version", "id",
  "schemaType" (left out for AVRO), "references" (left out when none), "schema", "deleted"}``; a tombstone is a
  version deleted for good.
- ``{"keytype": "CONFIG", "subject": S, "magic": 0}`` (no subject: the global config) — value:
  ``{"subject", "compatibilityLevel"}``; a tombstone removes the subject's own level.
- ``{"keytype": "MODE", "subject": S, "magic": 0}`` — value: ``{"subject", "mode"}``.
- ``{"keytype": "DELETE_SUBJECT" | "CLEAR_SUBJECT" | "NOOP", ...}`` — written by Confluent's registry; read and
  ignored here, since the SCHEMA records that follow them carry the same information.

A registry started on a topic Confluent's registry wrote reads its schemas, configs and modes, and the other way
round. Decoding never raises for a record of another kind: it answers ``None`` (the topic is shared with whatever
else may write to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

SCHEMA_MAGIC = 1
OTHER_MAGIC = 0


@dataclass(frozen=True)
class Reference:
    """A schema's reference to a version of another subject, under the name the schema uses for it."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclass(frozen=True)
class SchemaRecord:
    """One version of a subject: its globally unique ``id`` and the schema's text (as the registry keeps it)."""

    subject: str
    version: int
    id: int
    schema_type: str
    schema: str
    references: tuple[Reference, ...] = field(default=())
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        """The value written to the topic, and (without ``deleted``) the body of the REST API's answers."""
        value: dict[str, Any] = {"subject": self.subject, "version": self.version, "id": self.id}
        if self.schema_type != "AVRO":
            value["schemaType"] = self.schema_type
        if self.references:
            value["references"] = [ref.to_json() for ref in self.references]
        value["schema"] = self.schema
        value["deleted"] = self.deleted
        return value


@dataclass(frozen=True)
class ConfigRecord:
    subject: str | None
    compatibility: str | None  # None: a tombstone


@dataclass(frozen=True)
class ModeRecord:
    subject: str | None
    mode: str | None  # None: a tombstone


@dataclass(frozen=True)
class SchemaTombstone:
    subject: str
    version: int


Record = SchemaRecord | ConfigRecord | ModeRecord | SchemaTombstone


def schema_key(subject: str, version: int) -> bytes:
    return orjson.dumps({"keytype": "SCHEMA", "subject": subject, "version": version, "magic": SCHEMA_MAGIC})


def config_key(subject: str | None) -> bytes:
    return _subject_key("CONFIG", subject)


def mode_key(subject: str | None) -> bytes:
    return _subject_key("MODE", subject)


def _subject_key(keytype: str, subject: str | None) -> bytes:
    key: dict[str, Any] = {"keytype": keytype}
    if subject is not None:
        key["subject"] = subject
    key["magic"] = OTHER_MAGIC
    return orjson.dumps(key)


def encode_schema(record: SchemaRecord) -> tuple[bytes, bytes]:
    return schema_key(record.subject, record.version), orjson.dumps(record.to_json())


def encode_config(subject: str | None, compatibility: str) -> tuple[bytes, bytes]:
    value: dict[str, Any] = {"compatibilityLevel": compatibility}
    if subject is not None:
        value = {"subject": subject, **value}
    return config_key(subject), orjson.dumps(value)


def encode_mode(subject: str | None, mode: str) -> tuple[bytes, bytes]:
    value: dict[str, Any] = {"mode": mode}
    if subject is not None:
        value = {"subject": subject, **value}
    return mode_key(subject), orjson.dumps(value)


def decode(key: bytes, value: bytes | None) -> Record | None:
    """The record a key and value of the topic hold; None for a kind this registry does not keep, or a record
    that is not one of the registry's (a ValueError for one that claims to be but is malformed)."""
    try:
        parsed_key = orjson.loads(key)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed_key, dict):
        return None
    keytype = parsed_key.get("keytype")
    subject = parsed_key.get("subject")
    if keytype == "SCHEMA":
        version = parsed_key.get("version")
        if not isinstance(subject, str) or not isinstance(version, int):
            raise ValueError(f"SCHEMA key without subject and version: {key!r}")
        if value is None:
            return SchemaTombstone(subject, version)
        return _schema_value(orjson.loads(value))
    if keytype in ("CONFIG", "MODE"):
        if subject is not None and not isinstance(subject, str):
            raise ValueError(f"{keytype} key with a subject that is not a string: {key!r}")
        document = orjson.loads(value) if value is not None else None
        if keytype == "CONFIG":
            level = document.get("compatibilityLevel") if isinstance(document, dict) else None
            return ConfigRecord(subject, level if isinstance(level, str) else None)
        mode = document.get("mode") if isinstance(document, dict) else None
        return ModeRecord(subject, mode if isinstance(mode, str) else None)
    return None


def _schema_value(document: Any) -> SchemaRecord:
    if not isinstance(document, dict):
        raise ValueError("SCHEMA value is not a JSON object")
    references = tuple(
        Reference(str(ref["name"]), str(ref["subject"]), int(ref["version"]))
        for ref in document.get("references") or ()
    )
    return SchemaRecord(
        subject=str(document["subject"]),
        version=int(document["version"]),
        id=int(document["id"]),
        schema_type=str(document.get("schemaType") or "AVRO"),
        schema=str(document["schema"]),
        references=references,
        deleted=bool(document.get("deleted", False)),
    )
