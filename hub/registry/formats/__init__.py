"""The schema formats of the registry — AVRO, PROTOBUF and JSON — behind one small interface.

``parse(schema_type, text, dependencies)`` answers a ``ParsedSchema``, or raises ``SchemaParseError`` naming what
is wrong (the registry answers 42201). ``dependencies`` are the texts of the schemas the parsed one references,
transitively, each under the name the referencing schema uses for it, dependencies before their dependents. Each
format module parses with a maintained library (the ``avro`` package, protobuf's compiler from grpcio-tools,
jsonschema) and imports it only when a schema of its type is parsed.

Thread-safety: parsed schemas are immutable; parsing shares no state between calls.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Protocol

SCHEMA_TYPES = ("AVRO", "PROTOBUF", "JSON")
#: The library each format parses with (a module whose absence makes the format unavailable).
_LIBRARIES = {"AVRO": "avro.compatibility", "PROTOBUF": "grpc_tools", "JSON": "jsonschema"}


class SchemaParseError(ValueError):
    """The text is not a schema of its type (or a reference of it is unusable)."""


class ParsedSchema(Protocol):
    """A schema the registry accepted to parse."""

    schema_type: str

    def canonical(self) -> str:
        """The text the registry keeps and answers: the schema as given, in a whitespace-insensitive form."""
        ...

    def normalized(self) -> str:
        """A form in which equivalent schemas are equal text (``normalize=true``)."""
        ...

    def read_errors(self, writer: ParsedSchema) -> list[str]:
        """Why data written with ``writer`` could not be read with this schema; empty when it can."""
        ...


def available(schema_type: str) -> bool:
    """Whether the library of ``schema_type`` is installed (the ``registry`` extra installs them all)."""
    return importlib.util.find_spec(_LIBRARIES[schema_type].split(".")[0]) is not None


def parse(schema_type: str, text: str, dependencies: Sequence[tuple[str, str]] = ()) -> ParsedSchema:
    """``text`` parsed as a schema of ``schema_type`` (see the module docstring)."""
    if schema_type in _LIBRARIES and not available(schema_type):
        library = _LIBRARIES[schema_type].split(".")[0]
        raise SchemaParseError(
            f"Schema type {schema_type} is not available on this Hub: it needs the {library} package "
            "(pip install 'hub[registry]')"
        )
    if schema_type == "AVRO":
        from hub.registry.formats.avro import AvroSchema

        return AvroSchema.parse(text, dependencies)
    if schema_type == "PROTOBUF":
        from hub.registry.formats.protobuf import ProtobufSchema

        return ProtobufSchema.parse(text, dependencies)
    if schema_type == "JSON":
        from hub.registry.formats.json_schema import JsonSchema

        return JsonSchema.parse(text, dependencies)
    raise SchemaParseError(f"Unknown schema type {schema_type!r}: expected one of {', '.join(SCHEMA_TYPES)}")
