"""The OpenAPI paths of the web console (``hub.rest.ui.api``): its page, its vendored assets and its JSON API.

Like the rest of the document, what a request schema allows the console's API accepts (or refuses with a 4xx
naming why: an unknown topic, partition or offset); the schemathesis run in the tests keeps that true.
"""

from __future__ import annotations

from typing import Any

_ERROR = {
    "description": "Error (4xx/5xx) in Connect's shape",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorMessage"}}},
}
_TOPIC = {"name": "topic", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
_OBJECT = {"type": "object"}
_LIST = {"type": "array", "items": _OBJECT}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_QUERY_INT = {"type": "integer", "minimum": 0}


def _op(summary: str, status: str, schema: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    response: dict[str, Any] = {"description": summary}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    operation: dict[str, Any] = {"summary": summary, "responses": {status: response, "default": _ERROR}}
    if "params" in extra:
        operation["parameters"] = extra["params"]
    if "body" in extra:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": extra["body"]}}}
    return operation


_HTML = {"200": {"description": "The console's page", "content": {"text/html": {"schema": {"type": "string"}}}}}

PATHS: dict[str, Any] = {
    "/ui": {"get": {"summary": "The web console's page", "responses": {**_HTML, "default": _ERROR}}},
    "/ui/static/{file}": {
        "parameters": [{"name": "file", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {
            "summary": "A vendored asset of the console (script, style sheet, license)",
            "responses": {"200": {"description": "The asset"}, "default": _ERROR},
        },
    },
    "/ui/api/whoami": {"get": _op("The principal of the request and whether it may write", "200", _OBJECT)},
    "/ui/api/topics": {
        "get": _op(
            "Topics with partition and message counts",
            "200",
            _LIST,
            params=[{"name": "internal", "in": "query", "required": False, "schema": {"type": "boolean"}}],
        )
    },
    "/ui/api/topics/{topic}": {
        "parameters": [_TOPIC],
        "get": _op("A topic's configs and partition offsets", "200", _OBJECT),
    },
    "/ui/api/topics/{topic}/messages": {
        "parameters": [_TOPIC],
        "get": _op(
            "Records of one partition from an offset or a timestamp",
            "200",
            _LIST,
            params=[
                {"name": "partition", "in": "query", "required": False, "schema": _QUERY_INT},
                {"name": "offset", "in": "query", "required": False, "schema": _QUERY_INT},
                {"name": "timestamp", "in": "query", "required": False, "schema": _QUERY_INT},
                {"name": "limit", "in": "query", "required": False, "schema": {**_QUERY_INT, "minimum": 1}},
            ],
        ),
        "post": _op(
            "Produce a test record",
            "201",
            _OBJECT,
            body={
                "type": "object",
                "properties": {
                    "key": {"type": ["string", "null"]},
                    "value": {"type": ["string", "null"]},
                    "headers": _STRING_MAP,
                    "partition": {"type": ["integer", "null"], "minimum": 0},
                },
            },
        ),
    },
    "/ui/api/groups": {
        "get": _op(
            "Every consumer group: members, assignments, sink connectors' tasks, lag per partition", "200", _LIST
        )
    },
    "/ui/api/overview": {
        "get": _op(
            "The workers (connectors and tasks each runs), the worker group, the store's cluster id and nodes",
            "200",
            _OBJECT,
        )
    },
    "/ui/api/dlq": {"get": _op("Sink connectors' dead-letter queue topics", "200", _LIST)},
    "/ui/api/dlq/{topic}/resend": {
        "parameters": [_TOPIC],
        "post": _op(
            "Re-send dead-letter records to the topic each came from",
            "200",
            _OBJECT,
            body={
                "type": "object",
                "required": ["partition", "offsets"],
                "properties": {
                    "partition": {"type": "integer", "minimum": 0},
                    "offsets": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}},
                },
            },
        ),
    },
    "/ui/api/connectors/{name}/config": {
        "parameters": [_NAME],
        "get": _op("A connector's config with secret values hidden", "200", _OBJECT),
        "put": _op(
            "Replace a connector's config; hidden secrets keep their values",
            "200",
            _OBJECT,
            body={
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "required": ["connector.class"],
                "properties": {"connector.class": {"type": "string", "minLength": 1}},
            },
        ),
    },
    "/ui/api/history": {"get": _op("Records per second and lag per connector over the last hour", "200", _OBJECT)},
}
