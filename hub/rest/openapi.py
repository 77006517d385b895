"""The OpenAPI 3.1 document of the REST API (``GET /openapi.json``): every route with the bodies it really takes
and returns. What a request schema allows, the API accepts (unless the state of a connector or what a plugin needs
forbids it); what it forbids, the API refuses with a 4xx. The schemathesis run in the tests keeps both true."""

from __future__ import annotations

import re
from typing import Any

from hub.runtime.connector_names import (
    DOT_SEGMENTS,
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    UNTRIMMED_DOT_SEGMENT_PATTERN,
    UNTRIMMED_NAME_PATTERN,
)

_REF = "#/components/schemas/"


def _any_case(*words: str) -> str:
    """A pattern matching any of ``words`` in any letter case (ECMA-262 has no inline case-insensitive flag)."""
    spelled = ["".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else re.escape(c) for c in w) for w in words]
    return "^(?:" + "|".join(spelled) + ")(?!\\n)$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _ok(status: str, schema: dict[str, Any] | None, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return {status: response}


_ERROR = {
    "description": "Error (4xx/5xx) in Connect's shape",
    "content": {"application/json": {"schema": _ref("ErrorMessage")}},
}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# Config maps a client sends: numbers and booleans are taken as their text, as Connect's JSON reader does.
_CONFIG_VALUE = {"type": ["string", "number", "boolean"]}
_CONFIG_INPUT = {"type": "object", "additionalProperties": _CONFIG_VALUE}
# A connector's config names its connector class; what else it needs depends on the plugin (400 names it).
_CONNECTOR_CONFIG = {
    **_CONFIG_INPUT,
    "required": ["connector.class"],
    "properties": {"connector.class": {"type": "string", "minLength": 1}},
}
# Source partitions and offsets hold strings, numbers (integers within 64 bits), booleans and nulls.
_OFFSET_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
_STATE = {"type": "string", "enum": ["UNASSIGNED", "RUNNING", "PAUSED", "FAILED", "RESTARTING", "STOPPED"]}
_NAME = {
    "type": "string",
    "maxLength": MAX_NAME_LENGTH,
    "pattern": NAME_PATTERN,
    "not": {"enum": list(DOT_SEGMENTS)},
    "description": "Connector name: see docs/rest-api.md",
}
_NAME_PARAM = {"name": "name", "in": "path", "required": True, "schema": _NAME}
_TASK_PARAM = {"name": "task", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}
_PLUGIN_PARAM = {"name": "plugin", "in": "path", "required": True, "schema": {"type": "string"}}
_LOGGER_PARAM = {"name": "logger", "in": "path", "required": True, "schema": {"type": "string"}}


def _operation(
    summary: str, responses: dict[str, Any], *, params: list[Any] | None = None, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {**responses, "default": _ERROR}}
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


_SCHEMAS: dict[str, Any] = {
    "ErrorMessage": {
        "type": "object",
        "required": ["error_code", "message"],
        "properties": {"error_code": {"type": "integer"}, "message": {"type": "string"}},
    },
    "ServerInfo": {
        "type": "object",
        "required": ["version", "commit", "kafka_cluster_id"],
        "properties": {
            "version": {"type": "string"},
            "commit": {"type": "string"},
            "kafka_cluster_id": {"type": "string"},
        },
    },
    "WorkerStatus": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {
            "status": {"type": "string", "enum": ["healthy", "starting", "unhealthy"]},
            "message": {"type": "string"},
        },
    },
    "ConnectorTaskId": {
        "type": "object",
        "required": ["connector", "task"],
        "properties": {"connector": {"type": "string"}, "task": {"type": "integer"}},
    },
    "ConnectorInfo": {
        "type": "object",
        "required": ["name", "config", "tasks", "type"],
        "properties": {
            "name": {"type": "string"},
            "config": _STRING_MAP,
            "tasks": {"type": "array", "items": _ref("ConnectorTaskId")},
            "type": {"type": "string", "enum": ["source", "sink", "unknown"]},
        },
    },
    "InstanceState": {
        "type": "object",
        "required": ["state", "worker_id"],
        "properties": {"state": _STATE, "worker_id": {"type": "string"}, "trace": {"type": "string"}},
    },
    "TaskState": {
        "type": "object",
        "required": ["id", "state", "worker_id"],
        "properties": {
            "id": {"type": "integer"},
            "state": _STATE,
            "worker_id": {"type": "string"},
            "trace": {"type": "string"},
        },
    },
    "ConnectorStateInfo": {
        "type": "object",
        "required": ["name", "connector", "tasks", "type"],
        "properties": {
            "name": {"type": "string"},
            "connector": _ref("InstanceState"),
            "tasks": {"type": "array", "items": _ref("TaskState")},
            "type": {"type": "string", "enum": ["source", "sink", "unknown"]},
        },
    },
    "TaskInfo": {
        "type": "object",
        "required": ["id", "config"],
        "properties": {"id": _ref("ConnectorTaskId"), "config": _STRING_MAP},
    },
    "CreateConnectorRequest": {
        "type": "object",
        "required": ["name", "config"],
        "additionalProperties": False,
        "properties": {
            "name": {
                "type": "string",
                "pattern": UNTRIMMED_NAME_PATTERN,
                "not": {"pattern": UNTRIMMED_DOT_SEGMENT_PATTERN},
                "description": "Connector name, trimmed of surrounding whitespace: see docs/rest-api.md",
            },
            "config": _CONNECTOR_CONFIG,
            "initial_state": {"type": "string", "pattern": _any_case("RUNNING", "PAUSED", "STOPPED")},
        },
    },
    "PluginInfo": {
        "type": "object",
        "required": ["class", "type"],
        "properties": {"class": {"type": "string"}, "type": {"type": "string"}, "version": {"type": "string"}},
    },
    "ConfigKeyInfo": {
        "type": "object",
        "required": [
            "name",
            "type",
            "required",
            "default_value",
            "importance",
            "documentation",
            "group",
            "order",
            "width",
            "display_name",
            "dependents",
        ],
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string"},
            "required": {"type": "boolean"},
            "default_value": {"type": ["string", "null"]},
            "importance": {"type": "string"},
            "documentation": {"type": "string"},
            "group": {"type": ["string", "null"]},
            "order": {"type": "integer"},
            "width": {"type": "string"},
            "display_name": {"type": "string"},
            "dependents": {"type": "array", "items": {"type": "string"}},
        },
    },
    "ConfigValueInfo": {
        "type": "object",
        "required": ["name", "value", "recommended_values", "errors", "visible"],
        "properties": {
            "name": {"type": "string"},
            "value": {"type": ["string", "null"]},
            "recommended_values": {"type": "array", "items": {"type": "string"}},
            "errors": {"type": "array", "items": {"type": "string"}},
            "visible": {"type": "boolean"},
        },
    },
    "ConfigInfos": {
        "type": "object",
        "required": ["name", "error_count", "groups", "configs"],
        "properties": {
            "name": {"type": "string"},
            "error_count": {"type": "integer"},
            "groups": {"type": "array", "items": {"type": "string"}},
            "configs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "definition": {"oneOf": [_ref("ConfigKeyInfo"), {"type": "null"}]},
                        "value": _ref("ConfigValueInfo"),
                    },
                },
            },
            "warnings": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Hub's addition: keys no part of Hub recognises, with the closest known names",
            },
        },
    },
    "ConnectorOffsets": {
        "type": "object",
        "required": ["offsets"],
        "properties": {
            "offsets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["partition", "offset"],
                    "properties": {"partition": {"type": "object"}, "offset": {"type": ["object", "null"]}},
                },
            }
        },
    },
    "OffsetsRequest": {
        "type": "object",
        "required": ["offsets"],
        "properties": {
            "offsets": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["partition"],
                    "properties": {"partition": _OFFSET_MAP, "offset": {**_OFFSET_MAP, "type": ["object", "null"]}},
                },
            }
        },
    },
    "Message": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
    "LoggerLevel": {
        "type": "object",
        "required": ["level", "last_modified"],
        "properties": {"level": {"type": "string"}, "last_modified": {"type": ["integer", "null"]}},
    },
}

_CONNECTOR = "/connectors/{name}"

_PATHS: dict[str, Any] = {
    "/": {"get": _operation("Version of this worker", _ok("200", _ref("ServerInfo"), "Server information"))},
    "/health": {
        "get": _operation(
            "Whether the worker is ready",
            {
                **_ok("200", _ref("WorkerStatus"), "Healthy"),
                **_ok("503", _ref("WorkerStatus"), "Starting"),
                **_ok("500", _ref("WorkerStatus"), "Unhealthy (e.g. out of its group)"),
            },
        )
    },
    "/connectors": {
        "get": _operation(
            "Connector names, or with expand=status/info a map of their status and info",
            _ok("200", {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}]}, "Connectors"),
            params=[
                {
                    "name": "expand",
                    "in": "query",
                    "required": False,
                    "description": "status and/or info; other values are ignored, as Connect does",
                    "schema": {"type": "array", "items": {"type": "string"}},
                    "style": "form",
                    "explode": True,
                }
            ],
        ),
        "post": _operation(
            "Create a connector", _ok("201", _ref("ConnectorInfo"), "Created"), body=_ref("CreateConnectorRequest")
        ),
    },
    _CONNECTOR: {
        "parameters": [_NAME_PARAM],
        "get": _operation("Config and tasks of a connector", _ok("200", _ref("ConnectorInfo"), "The connector")),
        "delete": _operation("Delete a connector", _ok("204", None, "Deleted")),
    },
    _CONNECTOR + "/config": {
        "parameters": [_NAME_PARAM],
        "get": _operation("The connector's config as submitted", _ok("200", _STRING_MAP, "Config")),
        "put": _operation(
            "Create or replace the connector's config",
            {**_ok("200", _ref("ConnectorInfo"), "Updated"), **_ok("201", _ref("ConnectorInfo"), "Created")},
            body=_CONNECTOR_CONFIG,
        ),
        "patch": _operation(
            "Change some keys (null removes one)",
            _ok("200", _ref("ConnectorInfo"), "Updated"),
            body={"type": "object", "additionalProperties": {"type": [*_CONFIG_VALUE["type"], "null"]}},
        ),
    },
    _CONNECTOR + "/status": {
        "parameters": [_NAME_PARAM],
        "get": _operation("State of the connector and its tasks", _ok("200", _ref("ConnectorStateInfo"), "Status")),
    },
    _CONNECTOR + "/tasks": {
        "parameters": [_NAME_PARAM],
        "get": _operation("Task configs", _ok("200", {"type": "array", "items": _ref("TaskInfo")}, "Tasks")),
        "put": _operation(
            "Internal: task configs a worker generated, for the leader to write",
            _ok("204", None, "Written"),
            body={"type": "array", "items": _CONFIG_INPUT},
        ),
    },
    _CONNECTOR + "/tasks-config": {
        "parameters": [_NAME_PARAM],
        "get": _operation(
            "Task configs by task name (deprecated in Connect)",
            _ok("200", {"type": "object", "additionalProperties": _STRING_MAP}, "Tasks"),
        ),
    },
    _CONNECTOR + "/tasks/{task}/status": {
        "parameters": [_NAME_PARAM, _TASK_PARAM],
        "get": _operation("State of one task", _ok("200", _ref("TaskState"), "Status")),
    },
    _CONNECTOR + "/tasks/{task}/restart": {
        "parameters": [_NAME_PARAM, _TASK_PARAM],
        "post": _operation("Restart one task", _ok("204", None, "Restarted")),
    },
    _CONNECTOR + "/restart": {
        "parameters": [_NAME_PARAM],
        "post": _operation(
            "Restart the connector (and with includeTasks its tasks; with onlyFailed only failed instances)",
            {**_ok("202", _ref("ConnectorStateInfo"), "Restart plan"), **_ok("204", None, "Restarted")},
            params=[
                {"name": n, "in": "query", "required": False, "schema": {"type": "boolean", "default": False}}
                for n in ("includeTasks", "onlyFailed")
            ],
        ),
    },
    _CONNECTOR + "/pause": {"parameters": [_NAME_PARAM], "put": _operation("Pause", _ok("202", None, "Pausing"))},
    _CONNECTOR + "/resume": {"parameters": [_NAME_PARAM], "put": _operation("Resume", _ok("202", None, "Resuming"))},
    _CONNECTOR + "/stop": {
        "parameters": [_NAME_PARAM],
        "put": _operation("Stop the connector and its tasks, keeping its config", _ok("204", None, "Stopped")),
    },
    _CONNECTOR + "/topics": {
        "parameters": [_NAME_PARAM],
        "get": _operation(
            "Topics the connector used",
            _ok(
                "200",
                {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"topics": {"type": "array", "items": {"type": "string"}}},
                    },
                },
                "Topics",
            ),
        ),
    },
    _CONNECTOR + "/topics/reset": {
        "parameters": [_NAME_PARAM],
        "put": _operation("Forget the topics the connector used", _ok("202", None, "Reset")),
    },
    _CONNECTOR + "/offsets": {
        "parameters": [_NAME_PARAM],
        "get": _operation("Offsets of the connector", _ok("200", _ref("ConnectorOffsets"), "Offsets")),
        "patch": _operation(
            "Change offsets of a stopped connector", _ok("200", _ref("Message"), "Altered"), body=_ref("OffsetsRequest")
        ),
        "delete": _operation("Reset the offsets of a stopped connector", _ok("200", _ref("Message"), "Reset")),
    },
    "/connector-plugins": {
        "get": _operation(
            "Installed plugins",
            _ok("200", {"type": "array", "items": _ref("PluginInfo")}, "Plugins"),
            params=[
                {
                    "name": "connectorsOnly",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "boolean", "default": True},
                }
            ],
        )
    },
    "/connector-plugins/{plugin}/config": {
        "parameters": [_PLUGIN_PARAM],
        "get": _operation(
            "Options of a plugin", _ok("200", {"type": "array", "items": _ref("ConfigKeyInfo")}, "Options")
        ),
    },
    "/connector-plugins/{plugin}/config/validate": {
        "parameters": [_PLUGIN_PARAM],
        "put": _operation(
            "Validate a connector config (200 even when invalid)",
            _ok("200", _ref("ConfigInfos"), "Validation"),
            body=_CONFIG_INPUT,
        ),
    },
    "/admin/loggers": {
        "get": _operation(
            "Log levels", _ok("200", {"type": "object", "additionalProperties": _ref("LoggerLevel")}, "Levels")
        )
    },
    "/admin/loggers/{logger}": {
        "parameters": [_LOGGER_PARAM],
        "get": _operation("Level of one logger", _ok("200", _ref("LoggerLevel"), "Level")),
        "put": _operation(
            "Set the level of a logger and its descendants",
            _ok("200", {"type": "array", "items": {"type": "string"}}, "Loggers changed"),
            body={"type": "object", "required": ["level"], "properties": {"level": {"type": "string"}}},
        ),
    },
    "/openapi.json": {"get": _operation("This document", _ok("200", {"type": "object"}, "OpenAPI document"))},
    "/metrics": {
        "get": _operation(
            "Metrics in Prometheus' text format (docs/metrics.md)",
            {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        )
    },
}


def openapi_document(version: str, *, registry: bool = False) -> dict[str, Any]:
    """The document, for this version of Hub; with ``registry``, the schema registry's paths too."""
    from hub.rest.openapi_ui import PATHS as CONSOLE_PATHS

    paths, schemas = {**_PATHS, **CONSOLE_PATHS}, dict(_SCHEMAS)
    if registry:
        from hub.rest.openapi_registry import PATHS, SCHEMAS

        paths.update(PATHS)
        schemas.update(SCHEMAS)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Hub REST API (Kafka Connect compatible)", "version": version},
        "paths": paths,
        "components": {"schemas": schemas},
    }
