"""KafkaServer: an asyncio TCP server speaking the Kafka wire protocol over a Broker.

Each connection is served by one coroutine that reads a size-prefixed request, handles it and writes the
response before reading the next, so responses go out in request order (as Kafka's broker does); connections are
served concurrently. A request that cannot be parsed, an API or version the server does not advertise, or a
Produce below version 3 (advertised for old librdkafka only, as Kafka 4 does) closes that connection with a
logged error naming the client and the software it named in ApiVersions; other clients are unaffected. An
ApiVersions request of a version above ours is answered in v0 format with UNSUPPORTED_VERSION and our ranges, so
clients retry lower. A Produce with acks=0 gets no response. A connection keeps no reference to an answer once it
is handed to the transport, so an answer abandoned by its client is freed with the transport's buffer.
``start()`` binds, ``stop()`` closes the listener and every connection. ``coordinator_node`` says which node
coordinates groups now (by default this server; see GroupHandlers).
With an ``authorizer`` every request goes through Kafka's per-API access rules (``request_authorization``) for
the connection's principal (``principal_of`` overrides where it comes from, for tests); ``scram_credentials`` is
the store the SCRAM admin APIs change (by default the one in the broker's data directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import threading
from collections.abc import Callable

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode
from hub.log.partition import PartitionLog
from hub.log.protocol import (
    ProtocolError,
    decode_request,
    decode_request_header,
    encode_response,
    encode_response_parts,
)
from hub.log.security.authorizer import Authorizer
from hub.log.security.scram_credentials import ScramCredentialStore
from hub.log.server.cluster_view import ClusterAdmin
from hub.log.server.context import ConnectionState, CoordinatorNode, RequestContext, ServerIdentity
from hub.log.server.handlers import RequestHandlers
from hub.log.server.request_authorization import RequestAuthorization
from hub.log.server.security_handlers import SecurityHandlers
from hub.log.server.versions import ADVERTISED, API_VERSIONS, MIN_PRODUCE_WITH_RECORD_BATCHES, PRODUCE, supported

log = logging.getLogger("hub.log.server")

MAX_REQUEST_BYTES = 104_857_600  # Kafka's socket.request.max.bytes
_SIZE = struct.Struct(">i")


class KafkaServer:
    """The Kafka protocol listener (see the module docstring)."""

    def __init__(
        self,
        broker: Broker,
        host: str = "127.0.0.1",
        port: int = 9092,
        *,
        advertised_host: str | None = None,
        advertised_port: int | None = None,
        cluster_id: str | None = None,
        cluster: ClusterAdmin | None = None,
        node_id: int = 0,
        coordinator_node: CoordinatorNode | None = None,
        authorizer: Authorizer | None = None,
        scram_credentials: ScramCredentialStore | None = None,
        principal_of: Callable[[RequestContext], str] | None = None,
    ) -> None:
        self.broker = broker
        self.authorizer = authorizer
        self.scram_credentials = scram_credentials or ScramCredentialStore.in_directory(broker.store.data_dir)
        self.authorization = (
            None
            if authorizer is None
            else RequestAuthorization(authorizer, lambda: broker.store.topics(), principal_of)
        )
        self.cluster = cluster
        self.node_id = node_id
        self.coordinator_node = coordinator_node
        self.host = host
        self.port = port
        self._advertised = (advertised_host, advertised_port)
        self.cluster_id = cluster_id or broker.store.cluster_id
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._data_arrived: asyncio.Event | None = None
        self._wake_pending = threading.Event()
        self.handlers: RequestHandlers | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake_pending.clear()  # a wake scheduled on a loop stopped before would never clear it
        self._data_arrived = asyncio.Event()
        self._server = await asyncio.start_server(self._serve, self.host, self.port, limit=1 << 20)
        bound = self._server.sockets[0].getsockname()
        self.port = int(bound[1])
        identity = ServerIdentity(
            self._advertised[0] or self.host, self._advertised[1] or self.port, self.cluster_id, self.node_id
        )
        self.handlers = RequestHandlers(
            self.broker,
            identity,
            self._wait_for_data,
            self.cluster,
            coordinator_node=self.coordinator_node,
            security=SecurityHandlers(self.authorizer, self.scram_credentials),
        )
        self.broker.add_append_listener(self._on_append)
        log.info("Kafka listener on %s:%d (advertised %s:%d)", self.host, self.port, identity.host, identity.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        # Aborting the transports ends every connection even where a cancellation is lost: Python 3.11's
        # asyncio.wait_for swallows one that arrives as the awaited future completes (long-polling fetches and
        # acks=all waits are woken all the time under load), and a client that keeps sending requests would
        # then keep its connection, and this stop, going for ever.
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Appends go on after the loop has closed (a follower's fetcher until the node closes): wake it no more.
        self._loop = None
        log.info("Kafka listener stopped")

    # --- waking long-polling fetches -------------------------------------------------------------------------

    def _on_append(self, partition: PartitionLog) -> None:
        # Runs on the appending thread: hand the news to the loop once per burst of appends.
        loop = self._loop
        if loop is not None and not self._wake_pending.is_set():
            self._wake_pending.set()
            loop.call_soon_threadsafe(self._wake_fetches)

    def _wake_fetches(self) -> None:
        self._wake_pending.clear()
        assert self._data_arrived is not None
        self._data_arrived.set()
        self._data_arrived = asyncio.Event()

    async def _wait_for_data(self, timeout_s: float) -> None:
        assert self._data_arrived is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._data_arrived.wait(), timeout_s)

    # --- connections -----------------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        client = f"{peer[0]}:{peer[1]}" if peer else "unknown"
        connection = ConnectionState(closed=lambda: reader.at_eof() or writer.is_closing())
        try:
            while True:
                try:
                    size_bytes = await reader.readexactly(4)
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection between requests
                (size,) = _SIZE.unpack(size_bytes)
                if not 0 < size <= MAX_REQUEST_BYTES:
                    log.error("closing connection from %s: request size %d out of range", client, size)
                    return
                try:
                    payload = await reader.readexactly(size)
                except asyncio.IncompleteReadError:
                    log.warning("connection from %s closed in the middle of a request", client)
                    return
                cluster = self.broker.cluster
                if cluster is not None and not cluster.serving():
                    # Its metadata may be stale and it leads nothing: closing makes clients go to another node
                    # (a client keeps asking the one node it is connected to otherwise).
                    log.info("closing connection from %s: this node is out of touch with the cluster", client)
                    return
                response = await self._handle(payload, client, connection)
                if response is None:
                    continue
                writer.writelines(response)
                # The transport holds what it could not send yet; this frame must not: an error ending the
                # connection keeps this frame alive through its traceback, and with it a response of any size.
                del response, payload
                await writer.drain()
        except ProtocolError as exc:
            log.error("closing connection from %s%s: malformed request: %s", client, _software(connection), exc)
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("closing connection from %s after an unexpected error", client)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(
        self, payload: bytes, client: str, connection: ConnectionState
    ) -> list[bytes | bytearray | memoryview] | None:
        assert self.handlers is not None
        header, _ = decode_request_header(payload)
        if header.api_key == API_VERSIONS and not supported(API_VERSIONS, header.api_version):
            low, high = ADVERTISED[API_VERSIONS]
            body = {
                "error_code": ErrorCode.UNSUPPORTED_VERSION,
                "api_keys": [{"api_key": API_VERSIONS, "min_version": low, "max_version": high}],
            }
            return [encode_response(API_VERSIONS, 0, header.correlation_id, body)]
        if not supported(header.api_key, header.api_version):
            raise ProtocolError(
                f"api key {header.api_key} version {header.api_version} is not supported (client {header.client_id!r})"
            )
        if header.api_key == PRODUCE and header.api_version < MIN_PRODUCE_WITH_RECORD_BATCHES:
            # Advertised for old librdkafka's sake only; Kafka 4 closes the connection of such a request too.
            raise ProtocolError(
                f"Produce version {header.api_version} (the old message format) is advertised but not served, as in "
                f"Kafka 4 (client {header.client_id!r}{_software(connection)})"
            )
        header, body = decode_request(payload)
        route = self.handlers.routes[header.api_key]
        ctx = RequestContext(header, client.rsplit(":", 1)[0], connection)
        if self.authorization is None:
            response = await route(ctx, body)
        else:
            response = await self.authorization.handle(ctx, body, route)
        if response is None:
            return None
        return encode_response_parts(header.api_key, header.api_version, header.correlation_id, response)


def _software(connection: ConnectionState) -> str:
    """The client software the connection named in ApiVersions, for log lines ('' when it named none)."""
    return "" if connection.client_software is None else " ({} {})".format(*connection.client_software)
