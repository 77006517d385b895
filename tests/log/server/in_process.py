"""Kafka listeners over a store node in this process, on an event loop thread of their own, for tests that look
at what the server does (which versions it served, what it keeps) or that set it up in ways ``hub log serve``
does not (an authorizer with a test principal, a coordinator that moves) rather than only at its answers."""

from __future__ import annotations

import asyncio
import collections
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Self

from hub.log.node import LogNode, node_config
from hub.log.server import KafkaServer
from hub.log.server.context import Body, RequestContext

HOST = "127.0.0.1"
#: Group settings that let tests' consumers join at once.
QUICK_GROUPS = {"group.min.session.timeout.ms": "100", "group.initial.rebalance.delay.ms": "0"}


class InProcessNode:
    """A store node and the listeners ``add_listener`` puts over it, served on an event loop thread between
    ``start()`` and ``stop()`` (or ``with``); ``server`` is the first listener."""

    def __init__(self, data_dir: Path, settings: dict[str, str]) -> None:
        self.node = LogNode(node_config(data_dir, settings))
        self.listeners: list[KafkaServer] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-kafka-listener", daemon=True)

    def add_listener(self, **options: Any) -> KafkaServer:
        """A listener over this node's broker on a free port of HOST, started with the others by ``start()``."""
        listener = KafkaServer(self.node.broker, HOST, 0, **options)
        self.listeners.append(listener)
        return listener

    @property
    def server(self) -> KafkaServer:
        return self.listeners[0]

    def start(self) -> None:
        self.node.open()
        self.thread.start()
        for listener in self.listeners:
            asyncio.run_coroutine_threadsafe(listener.start(), self.loop).result(10)

    def stop(self) -> None:
        for listener in self.listeners:
            asyncio.run_coroutine_threadsafe(listener.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.node.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.server.port}"


class RecordingServer(InProcessNode):
    """A store node and its listener on an event loop thread; ``versions`` counts (api key, version) served."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir, QUICK_GROUPS)
        self.add_listener()
        self.versions: collections.Counter[tuple[int, int]] = collections.Counter()

    def start(self) -> None:
        super().start()
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

    def highest(self, api_key: int) -> int:
        return max(version for key, version in self.versions if key == api_key)
