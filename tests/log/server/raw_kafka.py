"""A blocking Kafka protocol connection built on Hub's codec, for tests that send what no real client would."""

from __future__ import annotations

import socket
import struct
from typing import Any

from hub.log.protocol import decode_response, encode_request


class RawKafkaConnection:
    """One TCP connection; ``request`` sends a request and decodes its response, ``send_frame`` sends any bytes."""

    def __init__(self, host: str, port: int, timeout_s: float = 10) -> None:
        self.socket = socket.create_connection((host, port), timeout=timeout_s)
        self._correlation_id = 0

    def close(self) -> None:
        self.socket.close()

    def __enter__(self) -> RawKafkaConnection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, api_key: int, version: int, body: dict[str, Any]) -> dict[str, Any]:
        self._correlation_id += 1
        self.socket.sendall(encode_request(api_key, version, self._correlation_id, "raw-test", body))
        correlation_id, response = decode_response(api_key, version, self.read_frame())
        assert correlation_id == self._correlation_id
        return response

    def send_frame(self, frame: bytes) -> None:
        self.socket.sendall(frame)

    def read_frame(self) -> bytes:
        (size,) = struct.unpack(">i", self._read_exactly(4))
        return self._read_exactly(size)

    def _read_exactly(self, count: int) -> bytes:
        chunks = bytearray()
        while len(chunks) < count:
            chunk = self.socket.recv(count - len(chunks))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            chunks += chunk
        return bytes(chunks)


def produce(connection: RawKafkaConnection, topic: str, records: bytes, *, partition: int = 0) -> dict[str, Any]:
    """Produce v8 (acks=all) of raw ``records`` to one partition; the partition's response."""
    body = {
        "transactional_id": None,
        "acks": -1,
        "timeout_ms": 10_000,
        "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": records}]}],
    }
    response = connection.request(0, 8, body)
    partition_response: dict[str, Any] = response["responses"][0]["partition_responses"][0]
    return partition_response


def latest_offset(connection: RawKafkaConnection, topic: str, partition: int = 0) -> int:
    """The partition's log end offset (ListOffsets v1, LATEST)."""
    body = {
        "replica_id": -1,
        "topics": [{"name": topic, "partitions": [{"partition_index": partition, "timestamp": -1}]}],
    }
    answer = connection.request(2, 1, body)["topics"][0]["partitions"][0]
    assert answer["error_code"] == 0, answer
    return int(answer["offset"])
