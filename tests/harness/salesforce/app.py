"""The server's ASGI application: Salesforce's login, REST and Bulk API 2.0 routes over one org, the control API,
and the gate every API request passes (session check, armed faults, the daily request count and the
``Sforce-Limit-Info`` header).

``build_app(org)`` is the one factory; further API surfaces (the Streaming API's CometD endpoint) add their routes to
the list here.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.harness.salesforce import auth, errors
from tests.harness.salesforce.channels import tooling_extension
from tests.harness.salesforce.control import control_routes
from tests.harness.salesforce.org import Org
from tests.harness.salesforce.responses import json_response
from tests.harness.salesforce.rest import RestApi, versions
from tests.harness.salesforce.streaming import streaming_routes_for

METHODS = ["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"]
API_PREFIX = "/services/data/v"


def session_token(headers: dict[str, str]) -> str | None:
    """The session id of an ``Authorization: Bearer <id>`` (or ``OAuth <id>``) header."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() in {"bearer", "oauth"} and token.strip() else None


class ApiGate:
    """ASGI middleware in front of the API routes: 401 without a live session (REST and Bulk), armed faults (any
    path but logins and ``/_harness/``), the daily request count and its ``Sforce-Limit-Info`` header (REST and
    Bulk)."""

    def __init__(self, app: ASGIApp, org: Org) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        # Logins and the control API are never refused; armed faults reach every other path (CometD's too).
        if not path or path.startswith(("/_harness/", "/services/oauth2/", "/services/Soap/")):
            await self.app(scope, receive, send)
            return
        is_api = path.startswith(API_PREFIX)
        if is_api:
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            if not self.org.sessions.valid(session_token(headers)):
                await self._error(scope, receive, send, errors.invalid_session())
                return
        delay = self.org.faults.delay(path)
        if delay:
            await asyncio.sleep(delay)
        fault = self.org.faults.take(path)
        if fault == "REQUEST_LIMIT_EXCEEDED":
            await self._error(scope, receive, send, errors.request_limit_exceeded())
            return
        if fault == "SERVER_UNAVAILABLE":
            await self._error(scope, receive, send, errors.server_unavailable())
            return
        if not is_api:
            await self.app(scope, receive, send)
            return
        if not self.org.faults.count_request():
            await self._error(scope, receive, send, errors.request_limit_exceeded())
            return
        used, maximum = self.org.faults.usage()
        limit_info = f"api-usage={used}/{maximum}".encode()

        async def send_with_usage(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"sforce-limit-info", limit_info)]}
            await send(message)

        await self.app(scope, receive, send_with_usage)

    @staticmethod
    async def _error(scope: Scope, receive: Receive, send: Send, error: errors.ApiError) -> None:
        await json_response(error.body(), error.status)(scope, receive, send)


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.ApiError)
    return json_response(exc.body(), exc.status)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    error_id = str(uuid.uuid4().int)[:10]
    body = [
        {
            "errorCode": "UNKNOWN_EXCEPTION",
            "message": f"An unexpected error occurred. Please include this ErrorId if you contact support: {error_id}"
            f"-0 ({type(exc).__name__}: {exc})",
        }
    ]
    return json_response(body, 500)


def build_app(org: Org) -> Starlette:
    """The whole server for ``org``."""
    rest = RestApi(org)

    async def list_versions(request: Request) -> Response:
        return json_response(versions())

    async def soap(request: Request) -> Response:
        return await auth.soap_login(org, request)

    async def token(request: Request) -> Response:
        return await auth.oauth_token(org, request)

    endpoint, streaming = streaming_routes_for(org)
    rest.extensions.append(tooling_extension(endpoint.publisher.channels, lambda name: org.find_type(name) is not None))
    routes: list[Any] = [
        *streaming,  # before the /_harness mount, which would take /_harness/streaming/settings
        Route("/services/data", list_versions),
        Route("/services/data/", list_versions),
        Route("/services/data/v{version}", rest.dispatch, methods=METHODS),
        Route("/services/data/v{version}/{path:path}", rest.dispatch, methods=METHODS),
        Route("/services/Soap/u/{version}", soap, methods=["POST"]),
        Route("/services/Soap/u/{version}/{rest:path}", soap, methods=["POST"]),
        Route("/services/oauth2/token", token, methods=["POST"]),
        Mount("/_harness", routes=control_routes(org)),
    ]
    app = Starlette(routes=routes, exception_handlers={errors.ApiError: api_error, Exception: unexpected_error})
    app.state.org = org
    app.state.rest = rest
    app.add_middleware(ApiGate, org=org)
    return app
