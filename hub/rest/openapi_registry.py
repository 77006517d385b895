"""The schema registry's part of the OpenAPI document: Confluent Schema Registry's paths as Hub serves them
(``hub.rest.routes.schema_registry``), with the bodies they take and answer. Answers are
``application/vnd.schemaregistry.v1+json``; errors are ``{"error_code", "message"}`` with Confluent's codes (in
``application/json`` when the request never reached the registry: a malformed body, a failed authentication).

A request the document allows may still be refused with 404, 409 or 422 for what no schema can state: a schema
that does not parse or breaks its subject's compatibility level, an unknown subject or version, a read-only mode.
"""

from __future__ import annotations

from typing import Any

from hub.registry.compatibility import LEVELS
from hub.registry.requests import MAX_VERSION
from hub.registry.service import MODES

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
_REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _any_case_enum(words: tuple[str, ...]) -> dict[str, Any]:
    spelled = ["".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in w) for w in words]
    return {"type": "string", "pattern": "^(?:" + "|".join(spelled) + ")(?!\\n)$"}


_ERROR = {
    "description": "Error with Confluent's error code",
    "content": {
        MEDIA_TYPE: {"schema": _ref("ErrorMessage")},
        "application/json": {"schema": _ref("ErrorMessage")},
    },
}
_SUBJECT = {
    "type": "string",
    "minLength": 1,
    "pattern": "^[^\\u0000-\\u001f\\u007f/]+$",
    "not": {"enum": [".", "..", "__GLOBAL", "__EMPTY"]},
    "description": "Subject name (no control characters)",
}
_VERSION = {
    "type": "string",
    "pattern": "^(?:latest|-1|[1-9][0-9]{0,8})$",
    "description": 'A version number, or "latest"',
}
_SUBJECT_PARAM = {"name": "subject", "in": "path", "required": True, "schema": _SUBJECT}
_VERSION_PARAM = {"name": "version", "in": "path", "required": True, "schema": _VERSION}
_ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_INTEGERS = {"type": "array", "items": {"type": "integer"}}
#: A schema's own text: an Avro or JSON schema is a JSON document itself, a Protobuf schema is .proto text.
_TEXT: dict[str, Any] = {}


def _flag(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "boolean", "default": False}}


def _text(name: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}


def _operation(
    summary: str, schema: dict[str, Any] | None, *, params: list[Any] | None = None, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": summary}
    if schema is not None:
        answer["content"] = {MEDIA_TYPE: {"schema": schema}}
    operation: dict[str, Any] = {
        "summary": summary,
        "tags": ["schema registry"],
        "responses": {"200": answer, "default": _ERROR},
    }
    if params:
        operation["parameters"] = params
    if body is not None:
        content = {"schema": body}
        operation["requestBody"] = {"required": True, "content": {MEDIA_TYPE: content, "application/json": content}}
    return operation


SCHEMAS: dict[str, Any] = {
    "SchemaReference": {
        "type": "object",
        "required": ["name", "subject", "version"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "subject": {"type": "string", "minLength": 1},
            "version": {"type": "integer", "minimum": -1, "maximum": MAX_VERSION, "not": {"const": 0}},
        },
    },
    "RegisterSchemaRequest": {
        "type": "object",
        "required": ["schema"],
        "additionalProperties": False,
        "properties": {
            "schema": {"type": "string", "minLength": 1},
            "schemaType": _any_case_enum(("AVRO", "PROTOBUF", "JSON")),
            "references": {"type": "array", "items": _ref("SchemaReference")},
            "id": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_VERSION},
            "version": {"type": ["integer", "null"], "minimum": -1, "maximum": MAX_VERSION, "not": {"const": 0}},
        },
    },
    "SchemaString": {
        "type": "object",
        "required": ["schema"],
        "properties": {
            "schema": {"type": "string"},
            "schemaType": {"type": "string", "enum": ["PROTOBUF", "JSON"]},
            "references": {"type": "array", "items": _ref("SchemaReference")},
        },
    },
    "RegisteredSchema": {
        "type": "object",
        "required": ["subject", "version", "id", "schema"],
        "properties": {
            "subject": {"type": "string"},
            "version": {"type": "integer"},
            "id": {"type": "integer"},
            "schema": {"type": "string"},
            "schemaType": {"type": "string", "enum": ["PROTOBUF", "JSON"]},
            "references": {"type": "array", "items": _ref("SchemaReference")},
        },
    },
    "RegisterSchemaResponse": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "integer"}, "version": {"type": "integer"}},
    },
    "SubjectVersion": {
        "type": "object",
        "required": ["subject", "version"],
        "properties": {"subject": {"type": "string"}, "version": {"type": "integer"}},
    },
    "CompatibilityCheckResponse": {
        "type": "object",
        "required": ["is_compatible"],
        "properties": {"is_compatible": {"type": "boolean"}, "messages": _STRINGS},
    },
}

_LEVEL = {"type": "string", "enum": list(LEVELS)}
_MODE = {"type": "string", "enum": list(MODES)}
_SCHEMA_BODY = _ref("RegisterSchemaRequest")
_CONFIG = {"type": "object", "required": ["compatibilityLevel"], "properties": {"compatibilityLevel": _LEVEL}}
_CONFIG_BODY = {
    "type": "object",
    "required": ["compatibility"],
    "additionalProperties": False,
    "properties": {"compatibility": _any_case_enum(LEVELS)},
}
_MODE_ANSWER = {"type": "object", "required": ["mode"], "properties": {"mode": _MODE}}
_MODE_BODY = {
    "type": "object",
    "required": ["mode"],
    "additionalProperties": False,
    "properties": {"mode": _any_case_enum(MODES)},
}
_SUBJECT_VERSION = "/subjects/{subject}/versions/{version}"

PATHS: dict[str, Any] = {
    "/schemas": {
        "get": _operation(
            "Every schema version",
            {"type": "array", "items": _ref("RegisteredSchema")},
            params=[_text("subjectPrefix"), _flag("deleted"), _flag("latestOnly")],
        )
    },
    "/schemas/types": {"get": _operation("The schema types", _STRINGS)},
    "/schemas/ids/{id}": {
        "parameters": [_ID_PARAM],
        "get": _operation("A schema by id", _ref("SchemaString"), params=[_text("subject"), _text("format")]),
    },
    "/schemas/ids/{id}/schema": {
        "parameters": [_ID_PARAM],
        "get": _operation("The text of a schema by id", _TEXT, params=[_text("subject")]),
    },
    "/schemas/ids/{id}/subjects": {
        "parameters": [_ID_PARAM],
        "get": _operation("Subjects holding a schema", _STRINGS, params=[_flag("deleted")]),
    },
    "/schemas/ids/{id}/versions": {
        "parameters": [_ID_PARAM],
        "get": _operation(
            "Subject versions holding a schema",
            {"type": "array", "items": _ref("SubjectVersion")},
            params=[_flag("deleted")],
        ),
    },
    "/subjects": {"get": _operation("Subjects", _STRINGS, params=[_text("subjectPrefix"), _flag("deleted")])},
    "/subjects/{subject}": {
        "parameters": [_SUBJECT_PARAM],
        "post": _operation(
            "The version of a subject holding a schema",
            _ref("RegisteredSchema"),
            params=[_flag("normalize"), _flag("deleted")],
            body=_SCHEMA_BODY,
        ),
        "delete": _operation("Delete a subject (soft, or permanent)", _INTEGERS, params=[_flag("permanent")]),
    },
    "/subjects/{subject}/versions": {
        "parameters": [_SUBJECT_PARAM],
        "get": _operation("Versions of a subject", _INTEGERS, params=[_flag("deleted")]),
        "post": _operation(
            "Register a schema under a subject",
            _ref("RegisterSchemaResponse"),
            params=[_flag("normalize")],
            body=_SCHEMA_BODY,
        ),
    },
    _SUBJECT_VERSION: {
        "parameters": [_SUBJECT_PARAM, _VERSION_PARAM],
        "get": _operation(
            "A version of a subject", _ref("RegisteredSchema"), params=[_flag("deleted"), _text("format")]
        ),
        "delete": _operation("Delete a version (soft, or permanent)", {"type": "integer"}, params=[_flag("permanent")]),
    },
    _SUBJECT_VERSION + "/schema": {
        "parameters": [_SUBJECT_PARAM, _VERSION_PARAM],
        "get": _operation("The text of a version's schema", _TEXT, params=[_flag("deleted")]),
    },
    _SUBJECT_VERSION + "/referencedby": {
        "parameters": [_SUBJECT_PARAM, _VERSION_PARAM],
        "get": _operation("Ids of the schemas referencing a version", _INTEGERS),
    },
    "/config": {
        "get": _operation("The global compatibility level", _CONFIG),
        "put": _operation("Set the global compatibility level", _CONFIG_BODY, body=_CONFIG_BODY),
        "delete": _operation("Reset the global compatibility level", _CONFIG),
    },
    "/config/{subject}": {
        "parameters": [_SUBJECT_PARAM],
        "get": _operation("A subject's compatibility level", _CONFIG, params=[_flag("defaultToGlobal")]),
        "put": _operation("Set a subject's compatibility level", _CONFIG_BODY, body=_CONFIG_BODY),
        "delete": _operation("Remove a subject's compatibility level", _CONFIG),
    },
    "/compatibility/subjects/{subject}/versions": {
        "parameters": [_SUBJECT_PARAM],
        "post": _operation(
            "Whether a schema may be registered under the subject's level",
            _ref("CompatibilityCheckResponse"),
            params=[_flag("verbose")],
            body=_SCHEMA_BODY,
        ),
    },
    "/compatibility/subjects/{subject}/versions/{version}": {
        "parameters": [_SUBJECT_PARAM, _VERSION_PARAM],
        "post": _operation(
            "Whether a schema may follow a version",
            _ref("CompatibilityCheckResponse"),
            params=[_flag("verbose")],
            body=_SCHEMA_BODY,
        ),
    },
    "/mode": {
        "get": _operation("The global mode", _MODE_ANSWER),
        "put": _operation("Set the global mode", _MODE_ANSWER, params=[_flag("force")], body=_MODE_BODY),
    },
    "/mode/{subject}": {
        "parameters": [_SUBJECT_PARAM],
        "get": _operation("A subject's mode", _MODE_ANSWER, params=[_flag("defaultToGlobal")]),
        "put": _operation("Set a subject's mode", _MODE_ANSWER, params=[_flag("force")], body=_MODE_BODY),
        "delete": _operation("Remove a subject's mode", _MODE_ANSWER),
    },
}
