"""``/admin/loggers``: read and change the log levels of this process, as Connect's endpoint does.

The levels live in ``hub.rest.loggers.LoggerLevels``; its handlers run on the event loop only (they make no herder
call), so one ``LoggerLevels`` per application is never changed by two threads at once.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.rest.errors import HttpError
from hub.rest.loggers import LoggerLevels
from hub.rest.routes.params import BodyReader, json_response


def routes(loggers: LoggerLevels, body: BodyReader) -> list[Route]:
    """The logger routes over ``loggers``; request bodies are read with ``body``."""

    async def all_loggers(request: Request) -> Response:
        return json_response(loggers.all())

    async def get_logger(request: Request) -> Response:
        name = request.path_params["logger"]
        if not loggers.known(name):
            raise HttpError(404, f"Logger {name} not found.")
        return json_response(loggers.get(name))

    async def set_logger(request: Request) -> Response:
        document = await body(request)
        level = document.get("level") if isinstance(document, dict) else None
        if not isinstance(level, str):
            raise HttpError(400, "Desired 'level' parameter was not specified in the request.")
        try:
            return json_response(loggers.set(request.path_params["logger"], level))
        except ValueError as exc:
            raise HttpError(404, str(exc)) from exc

    return [
        Route("/admin/loggers", all_loggers, methods=["GET"]),
        Route("/admin/loggers/{logger:str}", get_logger, methods=["GET"]),
        Route("/admin/loggers/{logger:str}", set_logger, methods=["PUT"]),
    ]
