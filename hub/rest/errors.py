"""Errors of the REST layer, and the one place that turns any error into Connect's ``{"error_code", "message"}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.responses import JSONResponse

from hub.runtime.herder import (
    AlreadyExistsError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
)
from hub.runtime.redaction import redact
from hub.sdk.errors import ConfigError

log = logging.getLogger("hub.rest")


class HttpError(Exception):
    """An error answered with this status and message."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int, message: str, *, retry_after_s: int | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Connect's error body; ``retry_after_s`` adds a Retry-After header (the request may succeed later)."""
    extra = dict(headers or {})
    if retry_after_s is not None:
        extra["Retry-After"] = str(retry_after_s)
    body = {"error_code": status, "message": redact(message)}  # no value resolved from a ${provider:…} reference
    return JSONResponse(body, status_code=status, headers=extra or None)


def invalid_config_message(error: ConfigError, connector_class: str = "") -> str:
    lines = [f"{key}: {message}" if key else message for key, ms in error.errors.items() for message in ms]
    plugin = connector_class or "{connectorType}"
    return (
        f"Connector configuration is invalid and contains the following {len(lines)} error(s):\n"
        + "\n".join(lines)
        + f"\nYou can also find the above list of errors at the endpoint `/connector-plugins/{plugin}/config/validate`"
    )


def response_for(error: Exception) -> JSONResponse:
    """Connect's mapping of exceptions to status codes; anything unexpected is a logged 500."""
    if isinstance(error, HttpError):
        return error_response(error.status, error.message, headers=error.headers)
    if isinstance(error, NotFoundError):
        return error_response(404, str(error))
    if isinstance(error, AlreadyExistsError | ConflictError):
        return error_response(409, str(error))
    if isinstance(error, ConfigError):
        return error_response(400, invalid_config_message(error))
    if isinstance(error, BadRequestError):
        return error_response(400, str(error))
    if isinstance(error, ForbiddenError):
        return error_response(403, str(error))
    if isinstance(error, UnavailableError):
        return error_response(503, str(error), retry_after_s=1)
    log.error("request failed: %s", error, exc_info=error)
    return error_response(500, f"{type(error).__name__}: {error}")
