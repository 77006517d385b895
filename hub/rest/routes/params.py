"""What the route handlers share: reading query flags, task ids and config maps of a request, answering JSON, and
running blocking herder calls on Starlette's thread pool.

A value a client got wrong raises ``HttpError`` (answered as Connect's error body); nothing here keeps state, so
every function is safe to call from any number of concurrent handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.rest.errors import HttpError

Handler = Callable[[Request], Awaitable[Response]]
#: Reads a request's JSON body (within the application's body timeout).
BodyReader = Callable[[Request], Awaitable[Any]]


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(*args, **kwargs)`` on the thread pool: herder calls block (they write to the config log)."""
    return await run_in_threadpool(function, *args, **kwargs)


def flag(request: Request, name: str, default: bool = False) -> bool:
    """The boolean query parameter ``name``: ``true`` or ``false`` (any case), else 400."""
    raw = request.query_params.get(name, str(default)).strip().lower()
    if raw not in ("true", "false"):
        raise HttpError(400, f"query parameter {name} must be true or false, not {raw!r}")
    return raw == "true"


def task_id(raw: str) -> int:
    """A task number of a path; anything else names no task (404)."""
    if not raw.isdigit():
        raise HttpError(404, f"Task {raw} not found")
    return int(raw)


def string_map(value: Any, what: str, *, nulls: bool = False) -> dict[str, Any]:
    """A JSON object of config values as strings: numbers and booleans are turned into strings, as Connect's JSON
    reader does; with ``nulls``, null values are kept (a patch removing keys). Anything else is a 400 naming it."""
    if not isinstance(value, dict):
        raise HttpError(400, f"{what} must be a JSON object of strings")
    result: dict[str, Any] = {}
    for key, item in value.items():
        if item is None and nulls:
            result[key] = None
        elif isinstance(item, str):
            result[key] = item
        elif isinstance(item, bool):
            result[key] = "true" if item else "false"
        elif isinstance(item, int | float):
            result[key] = str(item)
        else:
            raise HttpError(400, f"{what}: the value of {key!r} must be a string, not {type(item).__name__}")
    return result
