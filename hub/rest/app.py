"""The REST application: Kafka Connect's routes, one Herder call each, with Connect's status codes and bodies.

Every error, including malformed JSON, a wrong content type, an oversized or stalled body, an unknown route or
a wrong method (405 with ``Allow``), is answered with ``{"error_code": N, "message": "…"}``; bodies are read and
parsed in ``hub.rest.body``. Config values must be strings (numbers and booleans are accepted and turned into
strings, as Connect's JSON reader does). Connector names follow ``hub.runtime.connector_names``, checked by the
herder before anything is stored. Herder calls block (they write to the config log), so they run on Starlette's
thread pool.
"""

from __future__ import annotations

import logging
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from hub import build_info
from hub.rest.auth import Credentials, authorization_header
from hub.rest.body import DEFAULT_TIMEOUT_S, read_json
from hub.rest.errors import HttpError, error_response, invalid_config_message, response_for
from hub.rest.loggers import LoggerLevels
from hub.rest.openapi import openapi_document
from hub.runtime.connector_names import connector_path
from hub.runtime.herder import Herder, NotLeaderError
from hub.runtime.request_signing import ALGORITHM_HEADER, SIGNATURE_HEADER, RequestSignature
from hub.sdk.errors import ConfigError, ConnectError

log = logging.getLogger("hub.rest")
_PLUGIN_ORDER = {"sink": 0, "source": 1, "transformation": 2, "predicate": 3, "converter": 4, "header_converter": 5,
                 "config_provider": 6}  # fmt: skip


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def _flag(request: Request, name: str, default: bool = False) -> bool:
    raw = request.query_params.get(name, str(default)).strip().lower()
    if raw not in ("true", "false"):
        raise HttpError(400, f"query parameter {name} must be true or false, not {raw!r}")
    return raw == "true"


def _task_id(raw: str) -> int:
    if not raw.isdigit():
        raise HttpError(404, f"Task {raw} not found")
    return int(raw)


def _string_map(value: Any, what: str, *, nulls: bool = False) -> dict[str, Any]:
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


Handler = Callable[[Request], Awaitable[Response]]


def create_app(
    herder: Herder,
    *,
    version: str,
    credentials: Credentials | None = None,
    body_timeout_s: float = DEFAULT_TIMEOUT_S,
    public_health: bool = False,
) -> Starlette:
    """The ASGI application of the REST API over ``herder``: with ``credentials``, every request but (with
    ``public_health``) ``GET /health`` must authenticate; a request body must arrive within ``body_timeout_s``."""
    loggers = LoggerLevels()

    async def _body(request: Request) -> Any:
        return await read_json(request, timeout_s=body_timeout_s)

    async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(function, *args, **kwargs)

    async def root(request: Request) -> Response:
        cluster_id = await call(herder.kafka_cluster_id)
        return _json({"version": version, "commit": build_info.commit(), "kafka_cluster_id": cluster_id})

    async def health(request: Request) -> Response:
        status, message = herder.health()
        return _json({"status": status, "message": message}, {"healthy": 200, "starting": 503}.get(status, 500))

    async def list_connectors(request: Request) -> Response:
        names = await call(herder.connectors)
        if "expand" not in request.query_params:
            return _json(names)
        expand = set(request.query_params.getlist("expand"))  # other values are ignored, as Connect does
        expanded: dict[str, Any] = {}
        for name in names:
            try:
                entry: dict[str, Any] = {}
                if "status" in expand:
                    entry["status"] = await call(herder.connector_status, name)
                if "info" in expand:
                    entry["info"] = (await call(herder.connector_info, name)).to_json()
                expanded[name] = entry
            except Exception:
                continue  # deleted meanwhile: left out, as Connect does
        return _json(expanded)

    async def create_connector(request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise HttpError(400, "Request body must be a JSON object with 'name' and 'config'")
        unknown = sorted(set(body) - {"name", "config", "initial_state"})
        if unknown:
            raise HttpError(400, f"Unrecognized field(s) in the request body: {', '.join(unknown)}")
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise HttpError(400, "Connector name must be a string")
        name = (name or "").strip()  # as Connect does
        config = _string_map(body.get("config"), "config")
        initial = body.get("initial_state")
        if initial is not None and not isinstance(initial, str):
            raise HttpError(400, "initial_state must be RUNNING, PAUSED or STOPPED")
        _, info = await call(herder.put_connector_config, name, config, allow_replace=False, initial_state=initial)
        return _json(info.to_json(), 201, {"Location": connector_path(name)})

    async def get_connector(request: Request) -> Response:
        return _json((await call(herder.connector_info, request.path_params["name"])).to_json())

    async def delete_connector(request: Request) -> Response:
        await call(herder.delete_connector, request.path_params["name"])
        return Response(status_code=204)

    async def get_config(request: Request) -> Response:
        return _json((await call(herder.connector_info, request.path_params["name"])).config)

    async def put_config(request: Request) -> Response:
        name = request.path_params["name"]
        config = _string_map(await _body(request), "config")
        created, info = await call(herder.put_connector_config, name, config, allow_replace=True)
        if created:
            return _json(info.to_json(), 201, {"Location": connector_path(name)})
        return _json(info.to_json())

    async def patch_config(request: Request) -> Response:
        patch = _string_map(await _body(request), "config patch", nulls=True)
        return _json((await call(herder.patch_connector_config, request.path_params["name"], patch)).to_json())

    async def status(request: Request) -> Response:
        return _json(await call(herder.connector_status, request.path_params["name"]))

    async def tasks(request: Request) -> Response:
        return _json(await call(herder.task_configs, request.path_params["name"]))

    async def put_tasks(request: Request) -> Response:
        """Connect's internal request: a worker running the connector sends the task configs it generated."""
        name = request.path_params["name"]
        body = await _body(request)
        if not isinstance(body, list):
            raise HttpError(400, "Task configs must be a JSON array of objects of strings")
        configs = [_string_map(item, f"task config {index}") for index, item in enumerate(body)]
        signature = RequestSignature.from_headers(request.headers, request.state.raw_body)
        await call(herder.put_task_configs, name, configs, signature)
        return Response(status_code=204)

    async def tasks_config(request: Request) -> Response:
        name = request.path_params["name"]
        listed = await call(herder.task_configs, name)
        return _json({f"{name}-{task['id']['task']}": task["config"] for task in listed})

    async def task_status(request: Request) -> Response:
        name = request.path_params["name"]
        return _json(await call(herder.task_status, name, _task_id(request.path_params["task"])))

    async def restart_task(request: Request) -> Response:
        name = request.path_params["name"]
        await call(herder.restart_task, name, _task_id(request.path_params["task"]))
        return Response(status_code=204)

    async def restart(request: Request) -> Response:
        include, only_failed = _flag(request, "includeTasks"), _flag(request, "onlyFailed")
        plan = await call(
            herder.restart_connector, request.path_params["name"], include_tasks=include, only_failed=only_failed
        )
        return Response(status_code=204) if plan is None else _json(plan, 202)

    def state_change(action: Callable[[str], None], code: int) -> Handler:
        async def change(request: Request) -> Response:
            await call(action, request.path_params["name"])
            return Response(status_code=code)

        return change

    async def topics(request: Request) -> Response:
        name = request.path_params["name"]
        return _json({name: {"topics": await call(herder.topics, name)}})

    async def get_offsets(request: Request) -> Response:
        return _json({"offsets": await call(herder.offsets, request.path_params["name"])})

    async def patch_offsets(request: Request) -> Response:
        body = await _body(request)
        offsets = body.get("offsets") if isinstance(body, dict) else None
        if not isinstance(offsets, list) or not offsets:
            raise HttpError(400, "Partitions / offsets need to be provided for an alter offsets request")
        if not all(isinstance(entry, dict) for entry in offsets):
            raise HttpError(400, "each entry of 'offsets' must be an object with 'partition' and 'offset'")
        message = await call(herder.alter_offsets, request.path_params["name"], offsets)
        return _json({"message": message})

    async def delete_offsets(request: Request) -> Response:
        return _json({"message": await call(herder.reset_offsets, request.path_params["name"])})

    async def plugins(request: Request) -> Response:
        connectors_only = _flag(request, "connectorsOnly", default=True)
        listed = [
            {"class": info.class_name, "type": info.kind, "version": info.version}
            for info in await call(herder.plugins)
            if info.kind != "config_provider" and (not connectors_only or info.kind in ("source", "sink"))
        ]
        listed.sort(key=lambda item: (_PLUGIN_ORDER.get(item["type"], 9), item["class"]))
        return _json(listed)

    async def plugin_config(request: Request) -> Response:
        return _json(await call(herder.plugin_config, request.path_params["plugin"]))

    async def validate(request: Request) -> Response:
        plugin = request.path_params["plugin"]
        config = _string_map(await _body(request), "config")
        given = config.get("connector.class")
        if given is None:
            config["connector.class"] = plugin
        elif not _same_plugin(given, plugin):
            raise HttpError(400, f"Included connector type {given} does not match request type {plugin}")
        return _json(await call(herder.validate, config))

    async def all_loggers(request: Request) -> Response:
        return _json(loggers.all())

    async def get_logger(request: Request) -> Response:
        name = request.path_params["logger"]
        if not loggers.known(name):
            raise HttpError(404, f"Logger {name} not found.")
        return _json(loggers.get(name))

    async def set_logger(request: Request) -> Response:
        body = await _body(request)
        level = body.get("level") if isinstance(body, dict) else None
        if not isinstance(level, str):
            raise HttpError(400, "Desired 'level' parameter was not specified in the request.")
        try:
            return _json(loggers.set(request.path_params["logger"], level))
        except ValueError as exc:
            raise HttpError(404, str(exc)) from exc

    async def openapi(request: Request) -> Response:
        return _json(openapi_document(version))

    connector = "/connectors/{name:str}"
    routes = [
        Route("/", root, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/connectors", list_connectors, methods=["GET"]),
        Route("/connectors", create_connector, methods=["POST"]),
        Route(connector, get_connector, methods=["GET"]),
        Route(connector, delete_connector, methods=["DELETE"]),
        Route(connector + "/config", get_config, methods=["GET"]),
        Route(connector + "/config", put_config, methods=["PUT"]),
        Route(connector + "/config", patch_config, methods=["PATCH"]),
        Route(connector + "/status", status, methods=["GET"]),
        Route(connector + "/tasks", tasks, methods=["GET"]),
        Route(connector + "/tasks", put_tasks, methods=["PUT"]),
        Route(connector + "/tasks-config", tasks_config, methods=["GET"]),
        Route(connector + "/tasks/{task:str}/status", task_status, methods=["GET"]),
        Route(connector + "/tasks/{task:str}/restart", restart_task, methods=["POST"]),
        Route(connector + "/restart", restart, methods=["POST"]),
        Route(connector + "/pause", state_change(herder.pause, 202), methods=["PUT"]),
        Route(connector + "/resume", state_change(herder.resume, 202), methods=["PUT"]),
        Route(connector + "/stop", state_change(herder.stop_connector, 204), methods=["PUT"]),
        Route(connector + "/topics", topics, methods=["GET"]),
        Route(connector + "/topics/reset", state_change(herder.reset_topics, 202), methods=["PUT"]),
        Route(connector + "/offsets", get_offsets, methods=["GET"]),
        Route(connector + "/offsets", patch_offsets, methods=["PATCH"]),
        Route(connector + "/offsets", delete_offsets, methods=["DELETE"]),
        Route("/connector-plugins", plugins, methods=["GET"]),
        Route("/connector-plugins/{plugin:str}/config", plugin_config, methods=["GET"]),
        Route("/connector-plugins/{plugin:str}/config/validate", validate, methods=["PUT"]),
        Route("/admin/loggers", all_loggers, methods=["GET"]),
        Route("/admin/loggers/{logger:str}", get_logger, methods=["GET"]),
        Route("/admin/loggers/{logger:str}", set_logger, methods=["PUT"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"HTTP 404 Not Found: {request.url.path}", 405: "HTTP 405 Method Not Allowed"}.get(
            exc.status_code, str(exc.detail)
        )
        headers = {"Allow": _allowed_methods(routes, request.scope)} if exc.status_code == 405 else None
        return error_response(exc.status_code, message, headers=headers)

    async def client_gone(request: Request, exc: Exception) -> Response:
        log.debug("client went away before its request %s %s was read whole", request.method, request.url.path)
        return Response(status_code=400)  # nobody reads it

    async def any_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, NotLeaderError):
            return await forward(request, exc)
        if isinstance(exc, ConfigError):
            return error_response(400, invalid_config_message(exc))
        return response_for(exc)

    app = Starlette(
        routes=routes,
        # Errors the API expects are handled by class (answered, not logged as crashes); Exception catches the rest.
        exception_handlers={
            HTTPException: http_error,
            ClientDisconnect: client_gone,
            HttpError: any_error,
            ConnectError: any_error,
            Exception: any_error,
        },
    )
    app.add_middleware(_ErrorsAndAuth, credentials=credentials, public_health=public_health)
    return app


def _allowed_methods(routes: list[Route], scope: Scope) -> str:
    """The methods the routes of a request's path take, for the ``Allow`` header of a 405."""
    methods = {m for route in routes if route.matches(scope)[0] is not Match.NONE for m in route.methods or ()}
    return ", ".join(sorted(methods))


async def forward(request: Request, error: NotLeaderError) -> Response:
    """Send a write this worker cannot do to the worker that can (Connect's two hops: ``forward=true``, then
    ``forward=false``); 409 when no leader is known or the second hop failed too."""
    hop = request.query_params.get("forward")
    if error.url is None or hop == "false":
        return error_response(
            409,
            "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was "
            "underway. Retry in a few seconds.",
            retry_after_s=2,
        )
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "forward"]
    query.append(("forward", "false" if hop == "true" else "true"))
    url = error.url.rstrip("/") + request.url.path + "?" + urllib.parse.urlencode(query)
    body = getattr(request.state, "raw_body", None)
    headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_HEADERS}

    def send() -> tuple[int, bytes, dict[str, str]]:
        outgoing = urllib.request.Request(url, data=body, method=request.method, headers=headers)
        try:
            with urllib.request.urlopen(outgoing, timeout=60, context=_UNVERIFIED) as answer:
                return answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    try:
        status, payload, answer_headers = await run_in_threadpool(send)
    except OSError as exc:
        return error_response(409, f"Cannot complete request: the leader {error.url} did not answer ({exc}). Retry.")
    kept = {k: v for k, v in answer_headers.items() if k.lower() in ("content-type", "location")}
    return Response(payload, status_code=status, headers=kept)


# Workers of one cluster talk to each other over their own certificates.
_UNVERIFIED = ssl._create_unverified_context()
_FORWARDED_HEADERS = ("content-type", "authorization", "accept", SIGNATURE_HEADER.lower(), ALGORITHM_HEADER.lower())
#: Internal requests between workers: signed with the group's session key, so they need no credentials (as Connect's
#: basic-auth extension lets them through); the herder refuses them unless the signature is right.
_INTERNAL_REQUEST = re.compile(r"/connectors/[^/]+/tasks")


def _same_plugin(given: str, plugin: str) -> bool:
    def short(name: str) -> str:
        return name.rsplit(".", 1)[-1].removesuffix("Connector")

    return given == plugin or short(given) == short(plugin)


class _ErrorsAndAuth:
    """Authentication and role checks before any route runs; ``GET /health`` is open with ``public_health``."""

    def __init__(self, app: ASGIApp, credentials: Credentials | None, public_health: bool) -> None:
        self.app = app
        self.credentials = credentials
        self.public_health = public_health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        public = self.public_health and scope["path"] == "/health" and scope["method"] in ("GET", "HEAD")
        internal = scope["method"] == "PUT" and _INTERNAL_REQUEST.fullmatch(scope["path"]) is not None
        if self.credentials is not None and not public and not internal:
            principal = self.credentials.authenticate(authorization_header(scope.get("headers", [])))
            if principal is None:
                response = error_response(401, "Authentication required")
                response.headers["WWW-Authenticate"] = 'Basic realm="hub", Bearer'
                await response(scope, receive, send)
                return
            if not principal.may(scope["method"]):
                await error_response(403, f"{principal.name} may only read (role read-only)")(scope, receive, send)
                return
        await self.app(scope, receive, send)
