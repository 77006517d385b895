"""A Kafka listener over a store node in this process, on an event loop thread of its own, for tests that look
at what the server does (which versions it served, what it keeps) rather than only at its answers."""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from hub.log.node import LogNode, node_config
from hub.log.server import KafkaServer
from hub.log.server.context import Body, RequestContext

HOST = "127.0.0.1"


class RecordingServer:
    """A store node and its listener on an event loop thread; ``versions`` counts (api key, version) served."""

    def __init__(self, data_dir: Path) -> None:
        settings = {"group.min.session.timeout.ms": "100", "group.initial.rebalance.delay.ms": "0"}
        self.node = LogNode(node_config(data_dir, settings))
        self.server = KafkaServer(self.node.broker, HOST, 0)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-kafka-listener", daemon=True)
        self.versions: collections.Counter[tuple[int, int]] = collections.Counter()

    def start(self) -> None:
        self.node.open()
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        assert self.server.handlers is not None
        routes = self.server.handlers.routes
        for key, route in list(routes.items()):
            routes[key] = self._recording(route)

    def _recording(
        self, route: Callable[[RequestContext, Body], Awaitable[Body | None]]
    ) -> Callable[[RequestContext, Body], Awaitable[Body | None]]:
        async def recorded(ctx: RequestContext, body: Body) -> Body | None:
            self.versions[(ctx.header.api_key, ctx.header.api_version)] += 1
            return await route(ctx, body)

        return recorded

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.node.close()

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.server.port}"

    def highest(self, api_key: int) -> int:
        return max(version for key, version in self.versions if key == api_key)
