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
the store the SCRAM admin APIs change and SASL/SCRAM logins are checked against (by default the one in the
broker's data directory).

Several listeners may be served at once (``ListenerConfig``, hub.log.security.listeners), each with its own
security protocol: TLS through an SSLContext per listener, SASL through a ServerAuthenticator per connection
(hub.log.security.authenticator). Each listener has its own
RequestHandlers, so Metadata, FindCoordinator and DescribeCluster advertise the endpoint of the listener the client
connected to, as Kafka does. A connection's principal, listener and protocol are kept in its ConnectionState.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from functools import partial

from hub.log.broker import Broker
from hub.log.error_codes import ErrorCode
from hub.log.metrics import RequestStats
from hub.log.partition import PartitionLog
from hub.log.protocol import (
    ProtocolError,
    RequestHeader,
    decode_request,
    decode_request_header,
    encode_response,
    encode_response_parts,
)
from hub.log.security.authenticator import (
    SASL_AUTHENTICATE,
    SASL_HANDSHAKE,
    Reply,
    SaslStateError,
    ServerAuthenticator,
)
from hub.log.security.authorizer import Authorizer
from hub.log.security.contracts import ScramCredentialAdmin
from hub.log.security.listeners import ListenerConfig, ListenerSettings
from hub.log.security.scram_credentials import ScramCredentialStore
from hub.log.security.tls import certificate_principal, server_context
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
        listeners: ListenerConfig | None = None,
        authorizer: Authorizer | None = None,
        scram_credentials: ScramCredentialAdmin | None = None,
        principal_of: Callable[[RequestContext], str] | None = None,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self.broker = broker
        self.max_request_bytes = max_request_bytes
        self.listeners = listeners or ListenerConfig(
            (ListenerSettings("PLAINTEXT", host, port, "PLAINTEXT"),), "PLAINTEXT"
        )
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
        self._servers: list[asyncio.Server] = []
        #: Each listener's bound port, by listener name (known once started).
        self.ports: dict[str, int] = {}
        self._handlers: dict[str, RequestHandlers] = {}
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._data_arrived: asyncio.Event | None = None
        self._wake_pending = threading.Event()
        self.handlers: RequestHandlers | None = None
        #: Requests served and their time per API, for the store's metrics (hub.log.metrics).
        self.request_stats = RequestStats()

    @property
    def connection_count(self) -> int:
        """Open connections to the listeners."""
        return len(self._connections)

    async def start(self) -> None:
        """Bind every listener; InvalidConfigError (a LogError) when a listener's TLS material is unusable."""
        self._loop = asyncio.get_running_loop()
        self._wake_pending.clear()  # a wake scheduled on a loop stopped before would never clear it
        self._data_arrived = asyncio.Event()
        contexts = {
            listener.name: server_context(listener.ssl, listener.name)
            for listener in self.listeners.listeners
            if listener.uses_ssl
        }
        try:
            for listener in self.listeners.listeners:
                await self._start_listener(listener, contexts.get(listener.name))
        except BaseException:
            await self.stop()
            raise
        first = self.listeners.listeners[0]
        self.host, self.port = first.host, self.ports[first.name]
        self.handlers = self._handlers[first.name]
        self.broker.add_append_listener(self._on_append)

    async def _start_listener(self, listener: ListenerSettings, context: ssl.SSLContext | None) -> None:
        try:
            server = await asyncio.start_server(
                partial(self._serve, listener),
                listener.host or None,
                listener.port,
                limit=1 << 20,
                ssl=context,
                ssl_handshake_timeout=listener.sasl_timeout_ms / 1000 if context is not None else None,
            )
        except OSError as exc:
            if len(self.listeners.listeners) == 1:
                raise
            where = f"listener {listener.name} on {listener.host or '*'}:{listener.port}"
            raise OSError(exc.errno, f"{where}: {exc.strerror}") from None
        self._servers.append(server)
        port = self.ports[listener.name] = int(server.sockets[0].getsockname()[1])
        if listener.advertised is not None:
            advertised = listener.advertised
        elif len(self.listeners.listeners) == 1:
            advertised = (self._advertised[0] or listener.host or socket.gethostname(), self._advertised[1] or port)
        else:
            advertised = (listener.host or socket.gethostname(), port)
        identity = ServerIdentity(advertised[0], advertised[1] or port, self.cluster_id, self.node_id)
        self._handlers[listener.name] = RequestHandlers(
            self.broker,
            identity,
            self._wait_for_data,
            self.cluster,
            coordinator_node=self.coordinator_node,
            security=SecurityHandlers(self.authorizer, self.scram_credentials),
        )
        log.info(
            "Kafka listener %s (%s) on %s:%d (advertised %s:%d)",
            listener.name,
            listener.protocol,
            listener.host or "*",
            port,
            identity.host,
            identity.port,
        )

    def address(self, listener: str) -> tuple[str, int]:
        """The advertised (host, port) of the named listener, once started."""
        identity = self._handlers[listener].identity
        return identity.host, identity.port

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers = []
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

    async def _serve(
        self, listener: ListenerSettings, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = writer.get_extra_info("peername")
        client = f"{peer[0]}:{peer[1]}" if peer else "unknown"
        connection = ConnectionState(
            closed=lambda: reader.at_eof() or writer.is_closing(),
            listener=listener.name,
            security_protocol=listener.protocol,
        )
        handlers = self._handlers[listener.name]
        authenticator = ServerAuthenticator(listener, self.scram_credentials) if listener.uses_sasl else None
        if listener.uses_ssl and authenticator is None:
            ssl_object = writer.get_extra_info("ssl_object")
            principal = certificate_principal(ssl_object.getpeercert(binary_form=True) if ssl_object else None)
            connection.principal = principal or connection.principal
        try:
            while True:
                try:
                    payload = await self._read_request(reader, client, authenticator)
                except TimeoutError:
                    assert authenticator is not None
                    log.warning(
                        "closing connection from %s on listener %s: SASL authentication did not finish within %d ms",
                        client,
                        listener.name,
                        listener.sasl_timeout_ms,
                    )
                    return
                if payload is None:
                    return
                cluster = self.broker.cluster
                if cluster is not None and not cluster.serving():
                    # Its metadata may be stale and it leads nothing: closing makes clients go to another node
                    # (a client keeps asking the one node it is connected to otherwise).
                    log.info("closing connection from %s: this node is out of touch with the cluster", client)
                    return
                if authenticator is not None:
                    reply = self._authenticate(authenticator, payload, connection)
                    if reply is not None:
                        writer.writelines(reply.frames)
                        await writer.drain()
                        if reply.close_reason is not None:
                            log.info(
                                "closing connection from %s on listener %s: SASL %s failed: %s",
                                client,
                                listener.name,
                                authenticator.mechanism_name,
                                reply.close_reason,
                            )
                            return
                        continue
                response = await self._handle(handlers, payload, client, connection)
                if response is None:
                    continue
                writer.writelines(response)
                # The transport holds what it could not send yet; this frame must not: an error ending the
                # connection keeps this frame alive through its traceback, and with it a response of any size.
                del response, payload
                await writer.drain()
        except SaslStateError as exc:
            log.warning("closing connection from %s on listener %s: illegal SASL state: %s", client, listener.name, exc)
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

    async def _read_request(
        self, reader: asyncio.StreamReader, client: str, authenticator: ServerAuthenticator | None
    ) -> bytes | None:
        """The next size-prefixed frame, None when the connection is over; TimeoutError when a SASL exchange
        outlived its deadline."""
        deadline = authenticator.deadline if authenticator is not None else None
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        async with asyncio.timeout(timeout):
            try:
                size_bytes = await reader.readexactly(4)
            except asyncio.IncompleteReadError:
                return None  # the client closed the connection between requests
            (size,) = _SIZE.unpack(size_bytes)
            if not 0 < size <= self.max_request_bytes:
                log.error(
                    "closing connection from %s: request size %d out of range (socket.request.max.bytes %d)",
                    client,
                    size,
                    self.max_request_bytes,
                )
                return None
            try:
                return await reader.readexactly(size)
            except asyncio.IncompleteReadError:
                log.warning("connection from %s closed in the middle of a request", client)
                return None

    def _authenticate(
        self, authenticator: ServerAuthenticator, payload: bytes, connection: ConnectionState
    ) -> Reply | None:
        """The SASL layer's answer to a frame, or None when the frame is a request for the handlers."""
        if authenticator.raw:
            reply = authenticator.raw_token(payload)
        else:
            header, _ = decode_request_header(payload)
            if authenticator.authenticated and authenticator.expired():
                raise SaslStateError("the SASL session expired (connections.max.reauth.ms) without re-authentication")
            if (
                header.api_key == SASL_HANDSHAKE
                and authenticator.authenticated
                and not authenticator.may_reauthenticate()
            ):
                return None  # the handlers answer ILLEGAL_SASL_STATE, as Kafka's KafkaApis does
            if header.api_key == SASL_HANDSHAKE:
                if not supported(*_key(header)):
                    raise SaslStateError(f"SaslHandshake version {header.api_version} is not supported")
                header, body = decode_request(payload)
                reply = authenticator.handshake(header, body)
            elif header.api_key == SASL_AUTHENTICATE and authenticator.exchanging:
                if not supported(*_key(header)):
                    raise SaslStateError(f"SaslAuthenticate version {header.api_version} is not supported")
                header, body = decode_request(payload)
                reply = authenticator.authenticate(header, body)
            elif authenticator.exchanging or (not authenticator.authenticated and header.api_key != API_VERSIONS):
                raise SaslStateError(f"unexpected request of api key {header.api_key} during SASL authentication")
            else:
                return None
        if authenticator.authenticated:
            assert authenticator.principal is not None
            connection.principal = authenticator.principal
        return reply

    async def _handle(
        self, handlers: RequestHandlers, payload: bytes, client: str, connection: ConnectionState
    ) -> list[bytes | bytearray | memoryview] | None:
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
        began = time.perf_counter()
        header, body = decode_request(payload)
        route = handlers.routes[header.api_key]
        ctx = RequestContext(header, client.rsplit(":", 1)[0], connection)
        if self.authorization is None:
            response = await route(ctx, body)
        else:
            response = await self.authorization.handle(ctx, body, route)
        self.request_stats.observe(header.api_key, time.perf_counter() - began)
        if response is None:
            return None
        return encode_response_parts(header.api_key, header.api_version, header.correlation_id, response)


def _key(header: RequestHeader) -> tuple[int, int]:
    return header.api_key, header.api_version


def _software(connection: ConnectionState) -> str:
    """The client software the connection named in ApiVersions, for log lines ('' when it named none)."""
    return "" if connection.client_software is None else " ({} {})".format(*connection.client_software)
