"""``/connectors``: create, read, configure and delete connectors, read their status and tasks, and change their
lifecycle (restart, pause, resume, stop, topics), one herder call each with Connect's status codes and bodies.

Connector names follow ``hub.runtime.connector_names``, checked by the herder before anything is stored. Handlers
are stateless; the herder calls run on the thread pool (see ``hub.rest.routes``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.rest.errors import HttpError
from hub.rest.routes.params import BodyReader, Handler, call, flag, json_response, string_map, task_id
from hub.runtime.connector_names import connector_path
from hub.runtime.herder import Herder, NotFoundError

CONNECTOR = "/connectors/{name:str}"


def routes(herder: Herder, body: BodyReader) -> list[Route]:
    """The connector routes over ``herder``; request bodies are read with ``body``."""

    async def list_connectors(request: Request) -> Response:
        names = await call(herder.connectors)
        if "expand" not in request.query_params:
            return json_response(names)
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
            except NotFoundError:
                continue  # deleted meanwhile: left out, as Connect does
        return json_response(expanded)

    async def create_connector(request: Request) -> Response:
        document = await body(request)
        if not isinstance(document, dict):
            raise HttpError(400, "Request body must be a JSON object with 'name' and 'config'")
        unknown = sorted(set(document) - {"name", "config", "initial_state"})
        if unknown:
            raise HttpError(400, f"Unrecognized field(s) in the request body: {', '.join(unknown)}")
        name = document.get("name")
        if name is not None and not isinstance(name, str):
            raise HttpError(400, "Connector name must be a string")
        name = (name or "").strip()  # as Connect does
        config = string_map(document.get("config"), "config")
        initial = document.get("initial_state")
        if initial is not None and not isinstance(initial, str):
            raise HttpError(400, "initial_state must be RUNNING, PAUSED or STOPPED")
        _, info = await call(herder.put_connector_config, name, config, allow_replace=False, initial_state=initial)
        return json_response(info.to_json(), 201, {"Location": connector_path(name)})

    async def get_connector(request: Request) -> Response:
        return json_response((await call(herder.connector_info, request.path_params["name"])).to_json())

    async def delete_connector(request: Request) -> Response:
        await call(herder.delete_connector, request.path_params["name"])
        return Response(status_code=204)

    async def get_config(request: Request) -> Response:
        return json_response((await call(herder.connector_info, request.path_params["name"])).config)

    async def put_config(request: Request) -> Response:
        name = request.path_params["name"]
        config = string_map(await body(request), "config")
        created, info = await call(herder.put_connector_config, name, config, allow_replace=True)
        if created:
            return json_response(info.to_json(), 201, {"Location": connector_path(name)})
        return json_response(info.to_json())

    async def patch_config(request: Request) -> Response:
        patch = string_map(await body(request), "config patch", nulls=True)
        return json_response((await call(herder.patch_connector_config, request.path_params["name"], patch)).to_json())

    async def status(request: Request) -> Response:
        return json_response(await call(herder.connector_status, request.path_params["name"]))

    async def tasks(request: Request) -> Response:
        return json_response(await call(herder.task_configs, request.path_params["name"]))

    async def tasks_config(request: Request) -> Response:
        name = request.path_params["name"]
        listed = await call(herder.task_configs, name)
        return json_response({f"{name}-{task['id']['task']}": task["config"] for task in listed})

    async def task_status(request: Request) -> Response:
        name = request.path_params["name"]
        return json_response(await call(herder.task_status, name, task_id(request.path_params["task"])))

    async def restart_task(request: Request) -> Response:
        name = request.path_params["name"]
        await call(herder.restart_task, name, task_id(request.path_params["task"]))
        return Response(status_code=204)

    async def restart(request: Request) -> Response:
        include, only_failed = flag(request, "includeTasks"), flag(request, "onlyFailed")
        plan = await call(
            herder.restart_connector, request.path_params["name"], include_tasks=include, only_failed=only_failed
        )
        return Response(status_code=204) if plan is None else json_response(plan, 202)

    async def topics(request: Request) -> Response:
        name = request.path_params["name"]
        return json_response({name: {"topics": await call(herder.topics, name)}})

    return [
        Route("/connectors", list_connectors, methods=["GET"]),
        Route("/connectors", create_connector, methods=["POST"]),
        Route(CONNECTOR, get_connector, methods=["GET"]),
        Route(CONNECTOR, delete_connector, methods=["DELETE"]),
        Route(CONNECTOR + "/config", get_config, methods=["GET"]),
        Route(CONNECTOR + "/config", put_config, methods=["PUT"]),
        Route(CONNECTOR + "/config", patch_config, methods=["PATCH"]),
        Route(CONNECTOR + "/status", status, methods=["GET"]),
        Route(CONNECTOR + "/tasks", tasks, methods=["GET"]),
        Route(CONNECTOR + "/tasks-config", tasks_config, methods=["GET"]),
        Route(CONNECTOR + "/tasks/{task:str}/status", task_status, methods=["GET"]),
        Route(CONNECTOR + "/tasks/{task:str}/restart", restart_task, methods=["POST"]),
        Route(CONNECTOR + "/restart", restart, methods=["POST"]),
        Route(CONNECTOR + "/pause", _state_change(herder.pause, 202), methods=["PUT"]),
        Route(CONNECTOR + "/resume", _state_change(herder.resume, 202), methods=["PUT"]),
        Route(CONNECTOR + "/stop", _state_change(herder.stop_connector, 204), methods=["PUT"]),
        Route(CONNECTOR + "/topics", topics, methods=["GET"]),
        Route(CONNECTOR + "/topics/reset", _state_change(herder.reset_topics, 202), methods=["PUT"]),
    ]


def _state_change(action: Callable[[str], None], code: int) -> Handler:
    """A handler that applies ``action`` to the connector of the path and answers ``code`` with no body."""

    async def change(request: Request) -> Response:
        await call(action, request.path_params["name"])
        return Response(status_code=code)

    return change
