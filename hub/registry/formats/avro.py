"""AVRO schemas, parsed and compared with the Apache ``avro`` package (its parser and ``avro.compatibility``).

A referenced schema is parsed first into the same set of named types, so the referencing schema can use its
types by full name, as Confluent's registry resolves Avro references. The kept text is the given JSON without
insignificant whitespace; the normalized form is the ``avro`` package's own rendering of the parsed schema.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hub.registry.formats import ParsedSchema, SchemaParseError


class AvroSchema:
    """A parsed Avro schema (see the module docstring). Immutable."""

    schema_type = "AVRO"

    def __init__(self, text: str, document: Any, schema: Any) -> None:
        self._text = text
        self._document = document
        self.schema = schema  # avro.schema.Schema

    @classmethod
    def parse(cls, text: str, dependencies: Sequence[tuple[str, str]] = ()) -> AvroSchema:
        import avro.errors
        import avro.name
        import avro.schema

        names = avro.name.Names(validate_names=True)
        for name, dependency in dependencies:
            try:
                avro.schema.make_avsc_object(json.loads(dependency), names)
            except (ValueError, avro.errors.AvroException) as exc:
                raise SchemaParseError(f"the reference {name!r} is not usable: {exc}") from exc
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise SchemaParseError(f"not JSON: {exc}") from exc
        try:
            schema = avro.schema.make_avsc_object(document, names)
        except (avro.errors.AvroException, ValueError, TypeError, AttributeError, KeyError) as exc:
            raise SchemaParseError(_detail(exc)) from exc
        return cls(json.dumps(document, separators=(",", ":"), ensure_ascii=False), document, schema)

    def canonical(self) -> str:
        return self._text

    def normalized(self) -> str:
        return json.dumps(self.schema.to_json(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    def read_errors(self, writer: ParsedSchema) -> list[str]:
        from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

        if not isinstance(writer, AvroSchema):
            return [f"Incompatible schema type: {writer.schema_type} cannot be read as AVRO"]
        result = ReaderWriterCompatibilityChecker().get_compatibility(  # type: ignore[no-untyped-call]
            self.schema, writer.schema
        )
        if result.compatibility is not SchemaCompatibilityType.incompatible:
            return []
        # avro merges the findings of a schema into sets (kinds, messages, locations), so they are reported together
        kinds = ", ".join(sorted({kind.name.upper() for kind in result.incompatibilities})) or "INCOMPATIBLE"
        messages = "; ".join(sorted(result.messages))
        locations = ", ".join(sorted(result.locations))
        return [f"{{errorType:'{kinds}', description:'{messages}', location:'{locations}'}}"]


def _detail(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 500 else text[:500] + "…"
