"""A small synchronous Kafka protocol connection, for the group membership calls confluent-kafka does not expose.

One request at a time (a lock serialises callers); requests and responses are the protocol codec's dicts.
Thread-safe.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
from typing import Any

from hub.log.client.errors import ClientError, ClientTimeoutError, RetriableClientError
from hub.log.protocol import ProtocolError, decode_response, encode_request

_SIZE = struct.Struct(">i")


class KafkaConnection:
    """A blocking connection to one broker (``host:port``)."""

    def __init__(self, host: str, port: int, *, client_id: str = "hub", timeout_s: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.client_id = client_id
        self.timeout_s = timeout_s
        self._socket: socket.socket | None = None
        self._lock = threading.Lock()
        self._correlation = itertools.count(1)

    def _connect(self) -> socket.socket:
        if self._socket is None:
            try:
                self._socket = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
            except OSError as exc:
                raise RetriableClientError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
        return self._socket

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
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def close(self) -> None:
        with self._lock:
            self._drop()
