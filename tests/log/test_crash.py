"""kill -9 during acknowledged appends: after every restart each acknowledged record is there, in order."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub.log.records import iter_records
from hub.log.store import TopicStore

pytestmark = pytest.mark.integration

WRITER = """
import sys
from hub.log.records import NewRecord, encode_batch
from hub.log.store import TopicStore

store = TopicStore(sys.argv[1])
store.open()
if "t" not in store.topics():
    store.create_topic("t", 2, {"segment.bytes": "20000"})
start = int(sys.argv[2])
for n in range(start, start + 1_000_000):
    partition = store.partition("t", n % 2)
    batch = encode_batch([NewRecord(b"%d" % n, b"%d:%d" % (n, i) + b"x" * 50) for i in range(1 + n % 5)])
    # Both acknowledgement paths: the Flusher thread's group commit, and the caller's own (leader/follower) fsync.
    result = partition.append(batch).wait() if n % 3 else partition.append_and_wait(batch)
    print(n % 2, result.last_offset, n, flush=True)
"""


def _records(data_dir: Path) -> dict[int, list[bytes]]:
    with TopicStore(data_dir) as store:
        found: dict[int, list[bytes]] = {}
        for partition in (0, 1):
            log = store.partition("t", partition)
            values = [r.value for s in log.segments for r in iter_records(s.read(s.base_offset, 1 << 30))]
            assert len(values) == log.log_end_offset
            found[partition] = [v for v in values if v is not None]
        return found


def test_acknowledged_appends_survive_kill_9(tmp_path: Path) -> None:
    rng = random.Random(1234)
    acked: dict[int, list[int]] = {0: [], 1: []}
    next_n = 0
    for _ in range(16):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path), str(next_n)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert child.stdout is not None
        deadline = time.monotonic() + rng.uniform(0.4, 1.0)
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines += child.stdout.read().splitlines(keepends=True)
        for line in lines:
            if line.endswith("\n"):
                partition, _, n = (int(part) for part in line.split())
                acked[partition].append(n)
        next_n = max(acked[0] + acked[1], default=-1) + 1
        stored = _records(tmp_path)
        for partition in (0, 1):
            stored_ns = [int(value.split(b":")[0]) for value in stored[partition]]
            present = set(stored_ns)
            missing = [n for n in acked[partition] if n not in present]
            assert not missing, f"acknowledged but lost on partition {partition}: {missing[:10]}"
            first_positions: dict[int, int] = {}
            for position, n in enumerate(stored_ns):
                first_positions.setdefault(n, position)
            first_positions = {n: first_positions[n] for n in acked[partition]}
            assert [first_positions[n] for n in acked[partition]] == sorted(first_positions.values())
    assert sum(len(ns) for ns in acked.values()) > 100
