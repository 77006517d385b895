"""``/connectors/{name}/offsets``: read, alter and reset a connector's offsets, as Connect's KIP-875 endpoints.

The herder decides whether a change is allowed and what the partitions and offsets mean; here only the request's
shape is checked. Handlers are stateless.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.rest.errors import HttpError
from hub.rest.routes.connectors import CONNECTOR
from hub.rest.routes.params import BodyReader, call, json_response
from hub.runtime.herder import Herder


def routes(herder: Herder, body: BodyReader) -> list[Route]:
    """The offsets routes over ``herder``; request bodies are read with ``body``."""

    async def get_offsets(request: Request) -> Response:
        return json_response({"offsets": await call(herder.offsets, request.path_params["name"])})

    async def patch_offsets(request: Request) -> Response:
        document = await body(request)
        offsets = document.get("offsets") if isinstance(document, dict) else None
        if not isinstance(offsets, list) or not offsets:
            raise HttpError(400, "Partitions / offsets need to be provided for an alter offsets request")
        if not all(isinstance(entry, dict) for entry in offsets):
            raise HttpError(400, "each entry of 'offsets' must be an object with 'partition' and 'offset'")
        message = await call(herder.alter_offsets, request.path_params["name"], offsets)
        return json_response({"message": message})

    async def delete_offsets(request: Request) -> Response:
        return json_response({"message": await call(herder.reset_offsets, request.path_params["name"])})

    return [
        Route(CONNECTOR + "/offsets", get_offsets, methods=["GET"]),
        Route(CONNECTOR + "/offsets", patch_offsets, methods=["PATCH"]),
        Route(CONNECTOR + "/offsets", delete_offsets, methods=["DELETE"]),
    ]
