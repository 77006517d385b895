"""An answer its client abandons (it closes the connection without reading) is freed at once: the connection's
coroutine keeps no reference to it, so the error that ends the connection — kept alive by a reference cycle until
Python's next full collection — does not keep the answer alive with it. (Before, every abandoned answer stayed in
memory until then: a fuzzed DescribeGroups naming one big group thousands of times grew the server by 127 MB.)"""

from __future__ import annotations

import gc
import socket
import time
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest

from hub.log.protocol import encode_request
from tests.log.server.in_process import RecordingServer

pytestmark = pytest.mark.integration

PARTITIONS = 100
REPEATS = 1000  # a Metadata request naming the topic this often gets an answer of about 2.5 MB


@pytest.fixture
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingServer]:
    server = RecordingServer(tmp_path_factory.mktemp("abandoned"))
    server.start()
    yield server
    server.stop()


def _abandon(served: RecordingServer, frame: bytes) -> None:
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=60) as connection:
        connection.sendall(frame)
        connection.shutdown(socket.SHUT_WR)
        assert connection.recv(4)  # the answer has started
    deadline = time.monotonic() + 10
    while served.server._connections:  # wait for the server to see the connection gone
        assert time.monotonic() < deadline, "the connection was not closed"
        time.sleep(0.05)


def test_an_abandoned_answer_is_not_kept_until_the_next_full_collection(served: RecordingServer) -> None:
    name = f"big-{uuid.uuid4().hex[:8]}"
    served.node.broker.store.create_topic(name, PARTITIONS)
    frame = encode_request(3, 12, 1, "abandoning", {"topics": [{"name": name}] * REPEATS})
    _abandon(served, frame)  # warm-up: caches, first allocations
    gc.collect()
    gc.disable()  # as between Python's rare full collections
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(3):
            _abandon(served, frame)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
    assert kept < 2 << 20, f"{kept / 1e6:.1f} MB kept after three abandoned answers of about 2.5 MB"
