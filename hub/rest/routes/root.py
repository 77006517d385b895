"""The worker's own resources: ``GET /`` (version, commit, Kafka cluster id), ``GET /health`` and the OpenAPI
document at ``GET /openapi.json``. Handlers are stateless.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub import build_info
from hub.rest.openapi import openapi_document
from hub.rest.routes.params import call, json_response
from hub.runtime.herder import Herder

#: The status code of each health state; any other state is unhealthy (500).
_HEALTH_STATUS = {"healthy": 200, "starting": 503}


def routes(herder: Herder, version: str, *, registry: bool = False) -> list[Route]:
    """The root routes over ``herder``, reporting ``version`` as this worker's; ``registry``: the document
    describes the schema registry's paths too."""

    async def root(request: Request) -> Response:
        cluster_id = await call(herder.kafka_cluster_id)
        return json_response({"version": version, "commit": build_info.commit(), "kafka_cluster_id": cluster_id})

    async def health(request: Request) -> Response:
        status, message = herder.health()
        return json_response({"status": status, "message": message}, _HEALTH_STATUS.get(status, 500))

    async def openapi(request: Request) -> Response:
        return json_response(openapi_document(version, registry=registry))

    return [
        Route("/", root, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
