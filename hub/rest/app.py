"""The REST application: Kafka Connect's routes, one Herder call each, with Connect's status codes and bodies.

``create_app`` assembles the route modules of ``hub.rest.routes``, the error handlers and the authentication
middleware (``hub.rest.auth_middleware``). Every error, including malformed JSON, a wrong content type, an
oversized or stalled body, an unknown route or a wrong method (405 with ``Allow``), is answered with
``{"error_code": N, "message": "…"}``; bodies are read and parsed in ``hub.rest.body``. Config values must be
strings (numbers and booleans are accepted and turned into strings, as Connect's JSON reader does). A write this
worker cannot do is forwarded to the leader (``hub.rest.forwarding``). Herder calls block (they write to the
config log), so they run on Starlette's thread pool.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client.registry import CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from hub.registry.errors import RegistryError
from hub.registry.service import SchemaRegistry
from hub.rest.auth import Credentials
from hub.rest.auth_middleware import AuthMiddleware
from hub.rest.body import DEFAULT_TIMEOUT_S, read_json
from hub.rest.errors import HttpError, error_response, invalid_config_message, response_for
from hub.rest.forwarding import forward
from hub.rest.loggers import LoggerLevels
from hub.rest.routes import connectors, internal, loggers, metrics, offsets, plugins, root, schema_registry
from hub.rest.ui import api as console
from hub.rest.ui.history import History
from hub.runtime.herder import Herder, NotLeaderError
from hub.sdk.errors import ConfigError, ConnectError

log = logging.getLogger("hub.rest")


def create_app(
    herder: Herder,
    *,
    version: str,
    credentials: Credentials | None = None,
    body_timeout_s: float = DEFAULT_TIMEOUT_S,
    public_health: bool = False,
    registry: SchemaRegistry | None = None,
    store: console.StoreView | None = None,
    metrics_registry: CollectorRegistry | None = None,
) -> Starlette:
    """The ASGI application of the REST API over ``herder``: with ``credentials``, every request but (with
    ``public_health``) ``GET /health`` must authenticate; a request body must arrive within ``body_timeout_s``.
    With ``registry``, Confluent Schema Registry's routes are served too. The web console (``/ui``) browses the
    store through ``store``, when given. ``GET /metrics`` serves ``metrics_registry`` (the commands give it the
    runtime's and the store's collectors; hub.rest reaches neither itself), by default an empty one."""
    if metrics_registry is None:
        metrics_registry = CollectorRegistry(auto_describe=False)

    async def body(request: Request) -> Any:
        return await read_json(request, timeout_s=body_timeout_s)

    async def registry_body(request: Request) -> Any:
        return await read_json(request, timeout_s=body_timeout_s, content_types=schema_registry.CONTENT_TYPES)

    routes = [
        *root.routes(herder, version, registry=registry is not None),
        *connectors.routes(herder, body),
        *internal.routes(herder, body),
        *offsets.routes(herder, body),
        *plugins.routes(herder, body),
        *loggers.routes(LoggerLevels(), body),
        *metrics.routes(metrics_registry),
        *(schema_registry.routes(registry, registry_body) if registry is not None else []),
        *console.routes(herder, store, History(herder), body),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"HTTP 404 Not Found: {request.url.path}", 405: "HTTP 405 Method Not Allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        headers = {"Allow": _allowed_methods(routes, request.scope)} if exc.status_code == 405 else None
        return error_response(exc.status_code, message, headers=headers)

    app = Starlette(
        routes=routes,
        # Errors the API expects are handled by class (answered, not logged as crashes); Exception catches the rest.
        exception_handlers={
            HTTPException: http_error,
            ClientDisconnect: _client_gone,
            HttpError: _any_error,
            RegistryError: _registry_error,
            ConnectError: _any_error,
            Exception: _any_error,
        },
    )
    app.add_middleware(AuthMiddleware, credentials=credentials, public_health=public_health)
    return app


async def _client_gone(request: Request, exc: Exception) -> Response:
    log.debug("client went away before its request %s %s was read whole", request.method, request.url.path)
    return Response(status_code=400)  # nobody reads it


async def _any_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, NotLeaderError):
        return await forward(request, exc)
    if isinstance(exc, ConfigError):
        return error_response(400, invalid_config_message(exc))
    return response_for(exc)


async def _registry_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    if exc.status >= 500:
        log.error("schema registry request %s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
    return schema_registry.error_response(exc)


def _allowed_methods(routes: list[Route], scope: Scope) -> str:
    """The methods the routes of a request's path take, for the ``Allow`` header of a 405."""
    methods = {m for route in routes if route.matches(scope)[0] is not Match.NONE for m in route.methods or ()}
    return ", ".join(sorted(methods))
