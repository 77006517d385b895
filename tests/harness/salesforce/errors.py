"""Salesforce's REST error responses: a JSON array of ``{"message", "errorCode", "fields"?}`` and an HTTP status.

Responsibility: one exception type, :class:`ApiError`, that any part of the server raises and the app turns into
Salesforce's error body; constructors for the codes the server produces, with Salesforce's own messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ApiError(Exception):
    """An error Salesforce answers with ``status`` and the body ``[{"message", "errorCode", "fields"}]``."""

    status: int
    code: str
    message: str
    fields: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def item(self) -> dict[str, Any]:
        """This error as one element of an error array (also used in composite and per-row results)."""
        body: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            body["fields"] = self.fields
        body.update(self.extra)
        return body

    def body(self) -> list[dict[str, Any]]:
        return [self.item()]


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def request_limit_exceeded() -> ApiError:
    return ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def server_unavailable() -> ApiError:
    return ApiError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable, please retry your request later.")


def not_found(message: str = "The requested resource does not exist") -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


def entity_is_deleted() -> ApiError:
    return ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])


def malformed_query(message: str) -> ApiError:
    return ApiError(400, "MALFORMED_QUERY", message)


def invalid_field(message: str) -> ApiError:
    return ApiError(400, "INVALID_FIELD", message)


def invalid_type(name: str) -> ApiError:
    return ApiError(
        400,
        "INVALID_TYPE",
        f"sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append "
        "the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
    )


def not_found_type(name: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'")


def required_field_missing(names: list[str]) -> ApiError:
    return ApiError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names)


def duplicate_value(field_name: str, value: Any, record_id: str) -> ApiError:
    return ApiError(
        400,
        "DUPLICATE_VALUE",
        f"duplicate value found: {field_name} duplicates value on record with id: {record_id}",
        [field_name],
    )


def invalid_field_for_insert_update(names: list[str]) -> ApiError:
    return ApiError(
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security settings of this field and "
        "verify that it is read/write for your profile or permission set.",
        names,
    )


def malformed_id(value: str) -> ApiError:
    return ApiError(400, "MALFORMED_ID", f"malformed id {value}", [])


def json_parser_error(message: str) -> ApiError:
    return ApiError(400, "JSON_PARSER_ERROR", message)


def invalid_type_on_field(name: str, value: Any, expected: str) -> ApiError:
    return ApiError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type: {value}", [name])


def string_too_long(name: str, length: int, value: str) -> ApiError:
    return ApiError(400, "STRING_TOO_LONG", f"{name}: data value too large: {value} (max length={length})", [name])
