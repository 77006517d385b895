"""Fuzzing the Kafka listener of a `hub log serve` process with Hypothesis: frames of every API key it serves,
mutated from valid requests, and frames made up from nothing.

Properties: after every example the process is up and answers ApiVersions; after each round (one per API key, and
one of made-up frames) confluent-kafka still produces and consumes; over the whole run (at least 10,000 bad frames)
the server's resident memory grows by less than ``RSS_GROWTH_LIMIT_BYTES``, it holds no more open files than
before, and it logged no traceback. ``HUB_FUZZ_EXAMPLES`` (examples per
round, default 12) runs it longer and ``HUB_FUZZ_RANDOM=1`` with new frames each run; docs/testing.md says how.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.server.kafka_fuzz import (
    SEED_KEYS,
    api_versions_answered,
    field_mutated_frame,
    mutated_frame,
    random_frame,
    send_frames,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES_PER_ROUND = int(os.environ.get("HUB_FUZZ_EXAMPLES", "12"))  # 43 measured rounds x 12 x 20 > 10,000
#: Unset, every run sends the same frames (derandomized), so the memory figure compares like with like and a
#: failure reproduces; set (any value), Hypothesis explores new frames each run.
RANDOMIZED = os.environ.get("HUB_FUZZ_RANDOM")
FRAMES_PER_EXAMPLE = 20
#: Allowance for what the frames legitimately leave behind (groups, a few topics, allocator slack).
RSS_GROWTH_LIMIT_BYTES = 40 << 20


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    base = tmp_path_factory.mktemp("fuzzed-hub")
    server = HubServer(base / "data", free_port(), base / "server.log")
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        assert server.stop() == 0, server.log_path.read_text()[-3000:]


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _partitions(server: HubServer) -> int:
    return sum(1 for path in server.data_dir.iterdir() if path.is_dir())


def _alive(server: HubServer) -> None:
    assert server.process is not None
    assert server.process.poll() is None, server.log_path.read_text()[-3000:]
    assert api_versions_answered("127.0.0.1", server.port)


def _client_round_trip(server: HubServer) -> None:
    topic = f"after-fuzz-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": server.bootstrap, "message.timeout.ms": 10_000})
    for i in range(10):
        producer.produce(topic, value=b"%d" % i)
    assert producer.flush(15) == 0
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    values: list[bytes] = []
    for _ in range(40):
        values += [m.value() for m in consumer.consume(10, 0.5) if m.error() is None]
        if len(values) == 10:
            break
    consumer.close()
    assert values == [b"%d" % i for i in range(10)]


def _fuzz_round(server: HubServer, frames: st.SearchStrategy[bytes]) -> None:
    @settings(
        max_examples=EXAMPLES_PER_ROUND,
        deadline=None,
        database=None,
        derandomize=RANDOMIZED is None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(frames, min_size=FRAMES_PER_EXAMPLE, max_size=FRAMES_PER_EXAMPLE))
    def round_(batch: list[bytes]) -> None:
        send_frames("127.0.0.1", server.port, batch)
        _alive(server)

    round_()
    _client_round_trip(server)


def test_listener_survives_mutated_and_random_frames_without_leaking(fuzzed_server: HubServer) -> None:
    assert fuzzed_server.process is not None
    _fuzz_round(fuzzed_server, mutated_frame())  # warm-up: imports, caches, first topics and groups
    pid = fuzzed_server.process.pid
    rss_before, files_before, partitions_before = _rss_bytes(pid), _open_files(pid), _partitions(fuzzed_server)
    for api_key in SEED_KEYS:
        _fuzz_round(fuzzed_server, st.one_of(mutated_frame(api_key), field_mutated_frame(api_key)))
    _fuzz_round(fuzzed_server, random_frame())
    growth = _rss_bytes(pid) - rss_before
    assert growth < RSS_GROWTH_LIMIT_BYTES, f"RSS grew by {growth / 1e6:.1f} MB"
    # Each partition created since (by the frames or the client rounds) holds its three files; a long poll whose
    # client left ends within a second.
    allowed = files_before + 3 * (_partitions(fuzzed_server) - partitions_before) + 5
    deadline = time.monotonic() + 10
    while _open_files(pid) > allowed:
        assert time.monotonic() < deadline, f"{_open_files(pid) - allowed} more open files than expected"
        time.sleep(0.2)
    assert "Traceback" not in fuzzed_server.log_path.read_text(errors="replace")
