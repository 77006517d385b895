"""Bad frames over the wire, one kind at a time: each closes only the connection that sent it, with a log line naming
that client, while a producer on another connection goes on and the server's memory stays flat over hundreds of
them. Kinds: a frame cut short inside its body, a length prefix over ``socket.request.max.bytes``, an unknown API
key, an unadvertised version, corrupt tagged fields in a flexible request, and a frame that never ends. (A SASL
exchange that stalls is tested with the SASL listener: tests/log/security/test_sasl_exchange.py.)"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer

from hub.log.protocol import encode_request
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.server.kafka_fuzz import api_versions_answered

pytestmark = pytest.mark.integration

MAX_REQUEST_BYTES = 65_536
REPEATS = 200
#: What 1,200 refused connections may leave behind (allocator slack), far below one kept frame per connection.
RSS_GROWTH_LIMIT_BYTES = 8 << 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    base = tmp_path_factory.mktemp("bad-frames")
    hub = HubServer(
        base / "data", free_port(), base / "server.log", options=(f"socket.request.max.bytes={MAX_REQUEST_BYTES}",)
    )
    hub.start()
    yield hub
    assert hub.stop() == 0, hub.log_path.read_text()[-3000:]


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def _metadata_v12() -> bytes:
    """A whole, valid Metadata v12 request frame (flexible: header v2, compact arrays, tagged fields)."""
    return encode_request(3, 12, 7, "bad-frames", {"topics": [{"name": "bad-frames-topic"}]})


def truncated_body() -> bytes:
    whole = _metadata_v12()[4:]
    return _frame(whole[: len(whole) - 6])  # the size matches what is sent; the body inside it ends early


def oversized_prefix() -> bytes:
    return struct.pack(">i", MAX_REQUEST_BYTES + 1) + b"\x00" * 64


def unknown_api_key() -> bytes:
    return _frame(struct.pack(">hhi", 999, 0, 1) + b"\x00\x02id")


def unadvertised_version() -> bytes:
    return _frame(struct.pack(">hhi", 3, 99, 1) + b"\x00\x02id")


def corrupt_tagged_fields() -> bytes:
    whole = bytearray(_metadata_v12()[4:])
    # The body's last byte is its (empty) tagged-field section: claim one tag of 200 bytes that are not there.
    whole[-1:] = b"\x01\x05\xc8\x01"
    return _frame(bytes(whole))


def unending_frame() -> bytes:
    return struct.pack(">i", 1000) + b"\x00\x03"  # then the client hangs up


KINDS: dict[str, Callable[[], bytes]] = {
    "truncated body": truncated_body,
    "length prefix over socket.request.max.bytes": oversized_prefix,
    "unknown api key": unknown_api_key,
    "unadvertised version": unadvertised_version,
    "corrupt tagged fields": corrupt_tagged_fields,
    "frame that never ends": unending_frame,
}


def _send_and_expect_close(server: HubServer, frame: bytes, *, hang_up: bool) -> str:
    """Send ``frame``; the server must close the connection (or, for an unending frame, see it closed). Returns
    the client's address as the server names it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        address = "{}:{}".format(*connection.getsockname())
        connection.sendall(frame)
        if hang_up:
            connection.shutdown(socket.SHUT_WR)
        assert connection.recv(1024) == b"", "the server answered a bad frame instead of closing the connection"
    return address


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _logged(server: HubServer, address: str, timeout_s: float = 10) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = [line for line in server.log_path.read_text().splitlines() if address in line]
        if lines:
            return lines[-1]
        time.sleep(0.05)
    raise AssertionError(f"no log line names {address}")


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_bad_frame_closes_only_its_connection_with_a_log_line(server: HubServer, kind: str) -> None:
    producer = Producer({"bootstrap.servers": server.bootstrap, "message.timeout.ms": 15_000})
    producer.produce("bad-frames-alive", b"before")
    assert producer.flush(15) == 0
    address = _send_and_expect_close(server, KINDS[kind](), hang_up=kind == "frame that never ends")
    line = _logged(server, address)
    assert "connection from" in line
    producer.produce("bad-frames-alive", b"after")  # the other connection is served as before
    assert producer.flush(15) == 0
    assert api_versions_answered("127.0.0.1", server.port)


def test_memory_stays_flat_over_hundreds_of_bad_frames(server: HubServer) -> None:
    assert server.process is not None
    pid = server.process.pid
    for frame in KINDS.values():  # warm up: first-use allocations (codecs, log handlers) are not growth
        _send_and_expect_close(server, frame(), hang_up=frame is unending_frame)
    before = _rss_bytes(pid)
    for _ in range(REPEATS):
        for frame in KINDS.values():
            _send_and_expect_close(server, frame(), hang_up=frame is unending_frame)
    growth = _rss_bytes(pid) - before
    assert growth < RSS_GROWTH_LIMIT_BYTES, f"RSS grew by {growth / 1e6:.1f} MB over {REPEATS * len(KINDS)} frames"
    assert api_versions_answered("127.0.0.1", server.port)


def test_socket_request_max_bytes_must_be_positive(tmp_path: Path) -> None:
    from hub.log.errors import InvalidConfigError
    from hub.log.node import node_config

    with pytest.raises(InvalidConfigError, match=r"socket\.request\.max\.bytes"):
        node_config(tmp_path, {"socket.request.max.bytes": "0"})
    assert node_config(tmp_path, {"socket.request.max.bytes": "1024"}).socket_request_max_bytes == 1024
