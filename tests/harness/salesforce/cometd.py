"""The Streaming API endpoint of the test server: Bayeux over long polling at ``/cometd/<version>``.

Responsibility: answer Bayeux messages as Salesforce's CometD server does —

- ``/meta/handshake``: a ``clientId``, ``supportedConnectionTypes: ["long-polling"]``, ``ext: {"replay": true,
  "payload.format": true}``; refused (HTTP 401, ``403::Handshake denied`` with ``ext.sfdc.failureReason
  "401::Authentication invalid"``) without a valid session in ``Authorization: Bearer|OAuth <token>``;
- ``/meta/subscribe`` with the replay extension (``ext.replay: {channel: replayId}``, -1 new events, -2 all
  retained): ``400::The replayId {N} you provided was invalid…`` outside the retention window, ``400::The channel
  you requested to subscribe to does not exist {…}`` for an unknown channel;
- ``/meta/connect``: the first after a handshake answered at once; later ones held until an event arrives or the
  advised ``timeout`` (110 s as Salesforce) passes, then the events followed by the connect reply with
  ``advice: {"interval": 0, "timeout": …, "reconnect": "retry"}``;
- ``/meta/unsubscribe``, ``/meta/disconnect``; any message with a ``clientId`` the server does not know (never
  given, disconnected, or dropped after ``max_interval_ms`` without a connect) gets ``403::Unknown client`` and
  ``advice: {"reconnect": "handshake", "interval": 0}``; a session that expired gets HTTP 401 and
  ``401::Authentication invalid``.

Also the test-only control route ``/_harness/streaming/settings`` (GET the settings and apply the retention window at
once, POST to change them:
``retention_ms``, ``connect_timeout_ms``, ``gap_next``, ``overflow_threshold``, ``drop_clients``) — not a
Salesforce API.

Thread-safety: the handlers run on the server's event loop; events arrive from the org's publishing threads through
the bus and wake the waiting connect with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from tests.harness.salesforce.bus import BusEvent, EventBus, InvalidReplayIdError
from tests.harness.salesforce.publisher import ALL_CHANGE_EVENTS, StreamingPublisher

SALESFORCE_CONNECT_TIMEOUT_MS = 110_000
SALESFORCE_MAX_INTERVAL_MS = 40_000
_VERSION = re.compile(r"^\d{2,3}\.\d$")
_CLIENT_ALPHABET = string.ascii_lowercase + string.digits
_CHANGE_CHANNEL = re.compile(r"^/data/(\w+?)(__)?ChangeEvent$")


@dataclass
class _Client:
    """One handshaken client: its session token, subscriptions, and the events waiting for its next connect."""

    client_id: str
    token: str
    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    subscriptions: dict[str, int] = field(default_factory=dict)
    last_seen_ms: int = 0
    waiting: int = 0
    connected: bool = False
    gone: bool = False

    def deliver(self, channel: str, event: BusEvent) -> None:
        self.pending.append({"channel": channel, "data": event.data})
        self.loop.call_soon_threadsafe(self.wake.set)


class StreamingEndpoint:
    """Bayeux long polling over the bus (see the module docstring)."""

    def __init__(
        self,
        bus: EventBus,
        publisher: StreamingPublisher,
        session_valid: Callable[[str], bool],
        *,
        entity_exists: Callable[[str], bool] | None = None,
    ) -> None:
        self.bus = bus
        self.publisher = publisher
        self._session_valid = session_valid
        self._entity_exists = entity_exists
        self.connect_timeout_ms = SALESFORCE_CONNECT_TIMEOUT_MS
        self.max_interval_ms = SALESFORCE_MAX_INTERVAL_MS
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/cometd/{version}", self.handle, methods=["POST"]),
            Route("/_harness/streaming/settings", self.control, methods=["GET", "POST"]),
        ]

    async def handle(self, request: Request) -> JSONResponse:
        if not _VERSION.match(request.path_params["version"]):
            return JSONResponse([{"error": "404::Unknown API version", "successful": False}], status_code=404)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse([{"error": "400::Bad request: the body is not JSON", "successful": False}], 400)
        messages = body if isinstance(body, list) else [body]
        token = _token(request)
        authenticated = token is not None and self._session_valid(token)
        self._prune()
        replies: list[dict[str, Any]] = []
        status = 200
        for message in messages:
            if not isinstance(message, dict):
                replies.append({"error": "400::Bad request: a message is not an object", "successful": False})
                continue
            if not authenticated:
                status = 401
                replies.append(_unauthenticated(message))
                continue
            replies.extend(await self._answer(message, token or ""))
        return JSONResponse(replies, status_code=status)

    async def _answer(self, message: dict[str, Any], token: str) -> list[dict[str, Any]]:
        channel = message.get("channel")
        reply: dict[str, Any] = {"channel": channel}
        if "id" in message:
            reply["id"] = message["id"]
        if channel == "/meta/handshake":
            return [self._handshake(reply, token)]
        client = self._clients.get(str(message.get("clientId")))
        if client is None or client.gone:
            reply.update(clientId=message.get("clientId"), successful=False, error="403::Unknown client")
            reply["advice"] = {"reconnect": "handshake", "interval": 0}
            return [reply]
        client.last_seen_ms = self.bus.now_ms()
        reply["clientId"] = client.client_id
        if channel == "/meta/connect":
            return await self._connect(client, message, reply)
        if channel == "/meta/subscribe":
            return [self._subscribe(client, message, reply)]
        if channel == "/meta/unsubscribe":
            subscription = str(message.get("subscription"))
            handle = client.subscriptions.pop(subscription, None)
            if handle is not None:
                self.bus.unsubscribe(handle)
            reply.update(subscription=subscription, successful=True)
            return [reply]
        if channel == "/meta/disconnect":
            self._forget(client)
            reply["successful"] = True
            return [reply]
        reply.update(successful=False, error=f"403::Publishing to {channel} is not supported by the Streaming API")
        return [reply]

    def _handshake(self, reply: dict[str, Any], token: str) -> dict[str, Any]:
        client_id = "".join(secrets.choice(_CLIENT_ALPHABET) for _ in range(27))
        client = _Client(client_id, token, asyncio.get_running_loop(), last_seen_ms=self.bus.now_ms())
        with self._lock:
            self._clients[client_id] = client
        reply.update(
            ext={"replay": True, "payload.format": True},
            minimumVersion="1.0",
            clientId=client_id,
            supportedConnectionTypes=["long-polling"],
            version="1.0",
            successful=True,
        )
        return reply

    async def _connect(self, client: _Client, message: dict[str, Any], reply: dict[str, Any]) -> list[dict[str, Any]]:
        timeout_ms = self.connect_timeout_ms
        advice = message.get("advice")
        if isinstance(advice, dict) and isinstance(advice.get("timeout"), int):
            timeout_ms = min(timeout_ms, max(0, advice["timeout"]))
        client.wake.clear()
        # As CometD's server: the first connect after a handshake is answered at once, with the advice.
        first, client.connected = not client.connected, True
        if not client.pending and timeout_ms > 0 and not first:
            client.waiting += 1
            try:
                await asyncio.wait_for(client.wake.wait(), timeout_ms / 1000)
            except TimeoutError:
                pass
            finally:
                client.waiting -= 1
                client.last_seen_ms = self.bus.now_ms()
        if client.gone:
            reply.update(successful=False, error="403::Unknown client")
            reply["advice"] = {"reconnect": "handshake", "interval": 0}
            return [reply]
        events = []
        while client.pending:
            events.append(client.pending.popleft())
        reply["successful"] = True
        reply["advice"] = {"interval": 0, "timeout": self.connect_timeout_ms, "reconnect": "retry"}
        return [*events, reply]

    def _subscribe(self, client: _Client, message: dict[str, Any], reply: dict[str, Any]) -> dict[str, Any]:
        subscription = str(message.get("subscription"))
        reply["subscription"] = subscription
        if not self._channel_exists(subscription):
            reply.update(
                successful=False,
                error=f"400::The channel you requested to subscribe to does not exist {{{subscription}}}",
            )
            return reply
        ext = message.get("ext")
        replay_map = ext.get("replay") if isinstance(ext, dict) else None
        replay_id = replay_map.get(subscription, -1) if isinstance(replay_map, dict) else -1
        if not isinstance(replay_id, int) or isinstance(replay_id, bool):
            reply.update(successful=False, error=f"400::The replayId {{{replay_id}}} you provided was invalid.")
            return reply
        old = client.subscriptions.pop(subscription, None)
        if old is not None:
            self.bus.unsubscribe(old)
        try:
            client.subscriptions[subscription] = self.bus.subscribe({subscription: replay_id}, client.deliver)
        except InvalidReplayIdError as exc:
            reply.update(successful=False, error=f"400::{exc}")
            return reply
        reply["successful"] = True
        return reply

    def _channel_exists(self, channel: str) -> bool:
        if channel == ALL_CHANGE_EVENTS:
            return True
        if channel.startswith("/topic/") or channel.endswith("__chn"):
            return channel in self.publisher.known_channels()
        if channel.startswith("/event/"):
            name = channel[len("/event/") :]
            return name.endswith("__e") and (self._entity_exists is None or self._entity_exists(name))
        change = _CHANGE_CHANNEL.match(channel)
        if change:
            entity = change[1] + ("__c" if change[2] else "")
            return self._entity_exists is None or self._entity_exists(entity)
        return False

    def _forget(self, client: _Client) -> None:
        client.gone = True
        for handle in client.subscriptions.values():
            self.bus.unsubscribe(handle)
        client.subscriptions.clear()
        with self._lock:
            self._clients.pop(client.client_id, None)
        client.loop.call_soon_threadsafe(client.wake.set)

    def _prune(self) -> None:
        cutoff = self.bus.now_ms() - self.max_interval_ms
        for client in list(self._clients.values()):
            if client.waiting == 0 and client.last_seen_ms < cutoff:
                self._forget(client)

    def drop_clients(self) -> int:
        """Forget every client, as Salesforce does when a server restarts: their next message gets Unknown client."""
        clients = list(self._clients.values())
        for client in clients:
            self._forget(client)
        return len(clients)

    async def control(self, request: Request) -> JSONResponse:
        """Test-only settings of the streaming bus (not a Salesforce API)."""
        if request.method == "POST":
            settings = await request.json()
            if "retention_ms" in settings:
                self.bus.set_retention_ms(int(settings["retention_ms"]))
            if "connect_timeout_ms" in settings:
                self.connect_timeout_ms = int(settings["connect_timeout_ms"])
            if "max_interval_ms" in settings:
                self.max_interval_ms = int(settings["max_interval_ms"])
            if "gap_next" in settings:
                self.publisher.gap_next(int(settings["gap_next"]))
            if "overflow_threshold" in settings:
                self.publisher.overflow_threshold = int(settings["overflow_threshold"])
            if settings.get("drop_clients"):
                self.drop_clients()
        self.bus.expire()  # a window changed elsewhere (the org's setting) applies from here
        return JSONResponse(
            {
                "retention_ms": self.bus.retention_ms,
                "connect_timeout_ms": self.connect_timeout_ms,
                "max_interval_ms": self.max_interval_ms,
                "overflow_threshold": self.publisher.overflow_threshold,
                "clients": len(self._clients),
                "pushtopics": sorted(self.publisher.pushtopics.names()),
                "time_ms": int(time.time() * 1000),
            }
        )


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() in ("bearer", "oauth") and token.strip() else None


def _unauthenticated(message: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = {"channel": message.get("channel"), "successful": False}
    if "id" in message:
        reply["id"] = message["id"]
    if message.get("channel") == "/meta/handshake":
        reply.update(
            error="403::Handshake denied",
            ext={"sfdc": {"failureReason": "401::Authentication invalid"}, "replay": True, "payload.format": True},
            advice={"reconnect": "none"},
        )
    else:
        reply.update(clientId=message.get("clientId"), error="401::Authentication invalid")
        reply["advice"] = {"reconnect": "handshake", "interval": 0}
    return reply


def streaming_routes(
    changes: Any, session_valid: Callable[[str], bool], *, entity_exists: Callable[[str], bool] | None = None
) -> tuple[StreamingEndpoint, list[BaseRoute]]:
    """The bus, publisher and endpoint wired to an org's change feed; ``build_app`` adds the returned routes."""
    bus = EventBus()
    publisher = StreamingPublisher(bus)
    changes.subscribe(publisher.on_change)
    endpoint = StreamingEndpoint(bus, publisher, session_valid, entity_exists=entity_exists)
    return endpoint, endpoint.routes()
