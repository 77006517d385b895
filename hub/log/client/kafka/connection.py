"""A small synchronous Kafka protocol connection, for the group membership calls confluent-kafka does not expose.

One request at a time (a lock serialises callers); requests and responses are the protocol codec's dicts.
``security`` (librdkafka's client settings: ``security.protocol``, ``sasl.*``, ``ssl.*``) makes it speak TLS and
SASL PLAIN/SCRAM: it authenticates right after connecting (SaslHandshake v1, SaslAuthenticate v1), and when the
broker gave the session a lifetime it re-authenticates on the same connection before 85% of it has passed
(KIP-368), so a broker with ``connections.max.reauth.ms`` never closes it. A refused login is a ClientError (not
retriable: the credentials are wrong). Thread-safe.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import struct
import threading
import time
from collections.abc import Mapping
from typing import Any

from hub.log.client.errors import ClientError, ClientTimeoutError, RetriableClientError
from hub.log.error_codes import ErrorCode
from hub.log.protocol import ProtocolError, decode_response, encode_request
from hub.log.security.client import ClientSecurity, client_security
from hub.log.security.sasl import AuthenticationFailedError

_SIZE = struct.Struct(">i")
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
_REAUTH_FRACTION = 0.85


class AuthenticationError(ClientError):
    """The broker refused this connection's SASL login (wrong credentials or mechanism)."""


class KafkaConnection:
    """A blocking connection to one broker (``host:port``)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str = "hub",
        timeout_s: float = 30.0,
        security: Mapping[str, Any] | ClientSecurity | None = None,
    ) -> None:
        self.host = host
        self.security = security if isinstance(security, ClientSecurity) else client_security(security)
        self._reauthenticate_at: float | None = None
        self.port = port
        self.client_id = client_id
        self.timeout_s = timeout_s
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._correlation = itertools.count(1)

    def _connect(self) -> socket.socket:
        if self._socket is None:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            except OSError as exc:
                raise RetriableClientError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
            context = self.security.ssl_context
            if context is not None:
                try:
                    sock = context.wrap_socket(sock, server_hostname=self.host)
                except ssl.SSLCertVerificationError as exc:
                    sock.close()
                    raise ClientError(f"TLS to {self.host}:{self.port} refused: {exc.verify_message}") from None
                except (OSError, ssl.SSLError) as exc:
                    sock.close()
                    raise RetriableClientError(f"TLS to {self.host}:{self.port} failed: {exc}") from None
            self._socket = sock
            if self.security.uses_sasl:
                self._authenticate(sock)
        elif self._reauthenticate_at is not None and time.monotonic() >= self._reauthenticate_at:
            self._authenticate(self._socket)
        return self._socket

    def _authenticate(self, sock: socket.socket) -> None:
        """SaslHandshake then SaslAuthenticate until the mechanism is done; drops the connection on failure."""
        sock.settimeout(self.timeout_s)
        mechanism = self.security.sasl()
        try:
            handshake = self._exchange(sock, SASL_HANDSHAKE, 1, {"mechanism": mechanism.name})
            if handshake["error_code"] != ErrorCode.NONE:
                raise AuthenticationError(
                    f"{self.host}:{self.port} does not enable SASL mechanism {mechanism.name} "
                    f"(it offers {', '.join(handshake['mechanisms'])})"
                )
            token: bytes | None = mechanism.first()
            lifetime_ms = 0
            while token is not None:
                answer = self._exchange(sock, SASL_AUTHENTICATE, 1, {"auth_bytes": token})
                if answer["error_code"] != ErrorCode.NONE:
                    reason = answer["error_message"] or "no reason given"
                    raise AuthenticationError(f"{self.host}:{self.port} refused the SASL login: {reason}")
                lifetime_ms = answer["session_lifetime_ms"]
                token = mechanism.respond(answer["auth_bytes"])
        except AuthenticationFailedError as exc:
            self._drop()
            raise AuthenticationError(f"{self.host}:{self.port}: {exc}") from None
        except AuthenticationError:
            self._drop()
            raise
        except TimeoutError:
            self._drop()
            raise ClientTimeoutError(f"no answer from {self.host}:{self.port} during SASL authentication") from None
        except (OSError, ProtocolError) as exc:
            self._drop()
            raise RetriableClientError(f"SASL authentication with {self.host}:{self.port} failed: {exc}") from None
        self._reauthenticate_at = time.monotonic() + lifetime_ms * _REAUTH_FRACTION / 1000 if lifetime_ms > 0 else None

    def _exchange(self, sock: socket.socket, api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
        correlation_id = next(self._correlation)
        sock.sendall(encode_request(api_key, version, correlation_id, self.client_id, body))
        (size,) = _SIZE.unpack(self._read(sock, 4))
        answered, response = decode_response(api_key, version, self._read(sock, size))
        if answered != correlation_id:
            raise ProtocolError(f"answer to request {answered}, expected {correlation_id}")
        return response

    def request(
        self, api_key: int, version: int, body: dict[str, Any], *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        """Send one request and return the decoded response body."""
        with self._lock:
            sock = self._connect()
            sock.settimeout(timeout_s if timeout_s is not None else self.timeout_s)
            correlation_id = next(self._correlation)
            try:
                sock.sendall(encode_request(api_key, version, correlation_id, self.client_id, body))
                (size,) = _SIZE.unpack(self._read(sock, 4))
                answered, response = decode_response(api_key, version, self._read(sock, size))
            except TimeoutError:
                self._drop()
                raise ClientTimeoutError(f"no answer from {self.host}:{self.port} to api {api_key}") from None
            except (OSError, ProtocolError) as exc:
                self._drop()
                raise RetriableClientError(f"connection to {self.host}:{self.port} failed: {exc}") from None
            if answered != correlation_id:
                self._drop()
                raise ClientError(f"{self.host}:{self.port} answered request {answered}, expected {correlation_id}")
            return response

    @staticmethod
    def _read(sock: socket.socket, size: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < size:
            chunk = sock.recv(size - len(chunks))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            chunks += chunk
        return bytes(chunks)

    def _drop(self) -> None:
        self._reauthenticate_at = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def close(self) -> None:
        with self._lock:
            self._drop()
