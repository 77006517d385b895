"""JSON schemas, checked with the ``jsonschema`` package against their declared draft (draft-07 when they name
none), with references resolved through ``referencing``: a referenced schema is known by the name the reference
gives it (``{"$ref": "address.json"}``) and by its ``$id``. A ``$ref`` that resolves to nothing makes the schema
invalid. The kept text is the given JSON without insignificant whitespace. Compatibility:
``hub.registry.formats.json_diff``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from hub.registry.formats import ParsedSchema, SchemaParseError


class JsonSchema:
    """A checked JSON schema with the documents of its references. Immutable."""

    schema_type = "JSON"

    def __init__(self, text: str, document: Any, dependencies: dict[str, Any]) -> None:
        self._text = text
        self.document = document
        self.dependencies = dependencies  # reference name or $id -> document

    @classmethod
    def parse(cls, text: str, dependencies: Sequence[tuple[str, str]] = ()) -> JsonSchema:
        import jsonschema
        import referencing
        import referencing.exceptions
        import referencing.jsonschema

        documents: dict[str, Any] = {}
        for name, dependency in dependencies:
            documents[name] = _load(dependency, f"reference {name!r}")
            if isinstance(documents[name], dict) and isinstance(documents[name].get("$id"), str):
                documents[documents[name]["$id"]] = documents[name]
        document = _load(text, "schema")
        if not isinstance(document, dict | bool):
            raise SchemaParseError("a JSON schema is an object or a boolean")
        default = jsonschema.Draft7Validator
        validator = (
            jsonschema.validators.validator_for(document, default=default) if isinstance(document, dict) else default
        )
        try:
            validator.check_schema(document)
        except jsonschema.SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            raise SchemaParseError(f"{exc.message}" + (f" (at /{where})" if where else "")) from None
        spec = referencing.jsonschema.specification_with(
            validator.META_SCHEMA.get("$schema", ""), default=referencing.jsonschema.DRAFT7
        )
        registry: referencing.Registry[Any] = referencing.Registry().with_resources(
            (name, spec.create_resource(doc)) for name, doc in documents.items()
        )
        resolver = registry.resolver_with_root(spec.create_resource(document))
        for ref in _refs(document):
            try:
                resolver.lookup(ref)
            except referencing.exceptions.Unresolvable as exc:
                raise SchemaParseError(f"the reference {ref!r} resolves to nothing: {exc}") from None
        return cls(json.dumps(document, separators=(",", ":"), ensure_ascii=False), document, documents)

    def canonical(self) -> str:
        return self._text

    def normalized(self) -> str:
        return json.dumps(self.document, separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    def read_errors(self, writer: ParsedSchema) -> list[str]:
        from hub.registry.formats.json_diff import incompatibilities

        if not isinstance(writer, JsonSchema):
            return [f"Incompatible schema type: {writer.schema_type} cannot be read as JSON"]
        return incompatibilities(writer, self)


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SchemaParseError(f"the {what} is not JSON: {exc}") from None


def _refs(node: Any) -> Iterator[str]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("$ref"), str):
                yield item["$ref"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
