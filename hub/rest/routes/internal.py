"""Connect's internal request between workers: ``PUT /connectors/{name}/tasks``, by which the worker running a
connector sends the task configs it generated to the leader.

The request carries no REST credentials (``hub.rest.auth_middleware`` lets it through) but the signature made with
the group's session key, which the herder checks before it writes anything. The handler is stateless.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.rest.errors import HttpError
from hub.rest.routes.connectors import CONNECTOR
from hub.rest.routes.params import BodyReader, call, string_map
from hub.runtime.herder import Herder
from hub.runtime.request_signing import RequestSignature


def routes(herder: Herder, body: BodyReader) -> list[Route]:
    """The internal routes over ``herder``; request bodies are read with ``body``."""

    async def put_tasks(request: Request) -> Response:
        name = request.path_params["name"]
        document = await body(request)
        if not isinstance(document, list):
            raise HttpError(400, "Task configs must be a JSON array of objects of strings")
        configs = [string_map(item, f"task config {index}") for index, item in enumerate(document)]
        signature = RequestSignature.from_headers(request.headers, request.state.raw_body)
        await call(herder.put_task_configs, name, configs, signature)
        return Response(status_code=204)

    return [Route(CONNECTOR + "/tasks", put_tasks, methods=["PUT"])]
