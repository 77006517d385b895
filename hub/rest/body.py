"""Request bodies: the one place the REST API reads and parses them, so every way a body can be wrong is a 4xx.

A body must be ``application/json`` (415), at most ``MAX_BODY_BYTES`` (413), arrive whole within the body timeout
(408, and the connection is closed: a client trickling its body cannot hold a connection and a request slot
forever), and be JSON (400): UTF-8 text without lone surrogates, finite numbers (no ``NaN``, ``Infinity`` or
``1e999``), nested at most ``MAX_DEPTH`` levels (deeper documents would exhaust the parser's and the handlers'
recursion). A client that goes away mid-body
raises Starlette's ``ClientDisconnect``, which the application answers quietly.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Collection
from typing import Any

from starlette.requests import Request

from hub.rest.errors import HttpError

MAX_BODY_BYTES = 1 << 20
#: Deepest nesting of arrays and objects a body may have. Connect's bodies are two or three levels deep (offsets
#: carry the connector's own partition and offset maps); 64 leaves room for those and stays far from recursion.
MAX_DEPTH = 64
DEFAULT_TIMEOUT_S = 30.0
_SURROGATE = re.compile(r"[\ud800-\udfff]")


async def read_json(
    request: Request, *, timeout_s: float = DEFAULT_TIMEOUT_S, content_types: Collection[str] = ("application/json",)
) -> Any:
    """The parsed JSON body of ``request`` (see the module docstring for what is refused); its Content-Type must
    be one of ``content_types``."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() not in content_types:
        raise HttpError(415, f"Content-Type must be {' or '.join(content_types)}")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise HttpError(413, f"Request body is larger than {MAX_BODY_BYTES} bytes")
    data = await _read(request, timeout_s)
    request.state.raw_body = data  # kept for forwarding to the leader
    return parse_json(data)


async def _read(request: Request, timeout_s: float) -> bytes:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    chunks = request.stream().__aiter__()
    data = bytearray()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), max(0.0, deadline - loop.time()))
        except StopAsyncIteration:
            return bytes(data)
        except TimeoutError:
            raise HttpError(
                408, f"Request body not received within {timeout_s:g} s", headers={"Connection": "close"}
            ) from None
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            raise HttpError(413, f"Request body is larger than {MAX_BODY_BYTES} bytes")


def parse_json(data: bytes) -> Any:
    """``data`` as JSON; HttpError 400 when it is not JSON, not Unicode, or nested deeper than ``MAX_DEPTH``."""
    try:
        document = json.loads(data, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise HttpError(400, f"Request body is nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise HttpError(400, f"Request body is not valid JSON: {exc}") from exc
    _check_document(document)
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is beyond the range of a double")
    return value


def _check_document(document: Any) -> None:
    """Depth and strings of a parsed document, without recursion."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise HttpError(400, f"Request body is not valid Unicode: {value[:40]!r} holds a lone surrogate")
            continue
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise HttpError(400, f"Request body is nested deeper than {MAX_DEPTH} levels")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
