"""What a client asks the registry to register, look up or check: a schema's text, type and references.

``SchemaRequest.from_json`` reads the body of ``POST /subjects/{s}/versions``, ``POST /subjects/{s}`` and the
compatibility routes as Confluent's registry does (``schemaType`` defaults to AVRO; ``id`` and ``version`` are
for IMPORT mode), refusing a malformed body with the error code Confluent uses for it. Also the checks of subject
names and version ids in paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.registry import errors
from hub.registry.formats import SCHEMA_TYPES
from hub.registry.records import Reference

MAX_VERSION = 2**31 - 1
#: Fields of a schema request this registry reads; others (Confluent's metadata, ruleSet) are refused by name,
#: so nothing a client asked for is dropped silently.
_FIELDS = {"schema", "schemaType", "references", "id", "version"}


@dataclass(frozen=True)
class SchemaRequest:
    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()
    id: int | None = None
    version: int | None = None

    @classmethod
    def from_json(cls, body: Any) -> SchemaRequest:
        if not isinstance(body, dict):
            raise errors.RegistryError(422, "The request body must be a JSON object with a 'schema' field")
        unknown = sorted(k for k, v in body.items() if k not in _FIELDS and v is not None)
        if unknown:
            raise errors.RegistryError(
                422, f"Unsupported field(s) {', '.join(unknown)}: this registry takes {', '.join(sorted(_FIELDS))}"
            )
        schema = body.get("schema")
        if not isinstance(schema, str) or not schema.strip():
            raise errors.invalid_schema(
                "Empty schema" if schema in (None, "") else "The field 'schema' must be a string"
            )
        schema_type = body.get("schemaType")
        if schema_type is None:
            schema_type = "AVRO"
        if not isinstance(schema_type, str) or schema_type.upper() not in SCHEMA_TYPES:
            raise errors.invalid_schema(
                f"Invalid schema type {schema_type!r}: expected one of {', '.join(SCHEMA_TYPES)}"
            )
        return cls(
            schema=schema,
            schema_type=schema_type.upper(),
            references=_references(body.get("references")),
            id=_optional_int(body, "id", minimum=1),
            version=_optional_int(body, "version", minimum=1),
        )


def _references(value: Any) -> tuple[Reference, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise errors.invalid_schema("The field 'references' must be a list of {name, subject, version} objects")
    found = []
    for item in value:
        if not isinstance(item, dict):
            raise errors.invalid_schema("Each reference must be an object with name, subject and version")
        name, subject, version = item.get("name"), item.get("subject"), item.get("version")
        if not isinstance(name, str) or not name:
            raise errors.invalid_schema(f"Reference {item!r} has no name")
        if not isinstance(subject, str) or not subject:
            raise errors.invalid_schema(f"Reference {name!r} has no subject")
        if (
            isinstance(version, bool)
            or not isinstance(version, int)
            or not (version == -1 or 1 <= version <= MAX_VERSION)
        ):
            raise errors.invalid_schema(f"Reference {name!r} has no valid version (an integer >= 1, or -1: latest)")
        found.append(Reference(name, subject, version))
    if len({ref.name for ref in found}) != len(found):
        raise errors.invalid_schema("Two references have the same name")
    return tuple(found)


def _optional_int(body: dict[str, Any], key: str, *, minimum: int) -> int | None:
    value = body.get(key)
    if value is None or (value == 0 and key == "id") or (value == -1 and key == "version"):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_VERSION:
        raise errors.RegistryError(422, f"The field {key!r} must be an integer between {minimum} and {MAX_VERSION}")
    return value


def check_subject(subject: str) -> str:
    """``subject`` when it is a valid subject name (non-empty, no control characters); else 42208."""
    if not subject or any(ord(c) < 0x20 or c == "\x7f" for c in subject) or subject in ("__GLOBAL", "__EMPTY"):
        raise errors.invalid_subject(subject)
    return subject


def parse_version(text: str) -> int | None:
    """A version id of a path: a number in [1, 2^31-1], or None for "latest" (and -1); else 42202."""
    if text == "latest" or text == "-1":
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_VERSION:
        raise errors.invalid_version(text)
    return int(text)
