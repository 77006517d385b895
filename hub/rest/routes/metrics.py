"""``GET /metrics``: the worker's (and, under ``hub start``, the store's) metrics in Prometheus' text format.

The registry's collectors read their figures when scraped (nothing is kept per record); collecting may ask the
store for end offsets, so it runs on Starlette's thread pool. ``docs/metrics.md`` lists every metric.
"""

from __future__ import annotations

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def routes(registry: CollectorRegistry) -> list[Route]:
    """The route serving ``registry``."""

    async def metrics(request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics, methods=["GET"])]
