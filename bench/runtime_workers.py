"""Records/s through `hub start` with N worker processes against `hub start --workers 1`, measured in the same run:
datagen → store → FileStreamSink (to /dev/null), 4 tasks each over a topic of 4 partitions, through the REST API.

The figure of one pass is records / seconds from creating the datagen connector until the sink's committed offsets
(`GET /connectors/{name}/offsets`, committed every 100 ms here) cover every record; the sink connector is created
first and left to settle (all its tasks RUNNING), so the figure is the data path's. Each setting runs ``ROUNDS``
passes, alternating, and keeps the best (a pass lasts a few seconds, and a small shared machine can take a third
of one). The part of ``bench.runtime_pipeline --workers``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.report import figure, ratio
from tests.harness.process import free_port

TASKS = 4
ROUNDS = 3
CONVERTERS = {
    "json": "org.apache.kafka.connect.json.JsonConverter",
    "noop": "org.apache.kafka.connect.converters.ByteArrayConverter",
}
SHAPES = {"json": "users", "noop": "bytes"}


@dataclass
class Hub:
    """A running `hub start`: its REST URL and process."""

    url: str
    process: subprocess.Popen[bytes]


@contextlib.contextmanager
def hub_start(directory: Path, workers: int) -> Iterator[Hub]:
    """`hub start --workers N` on free ports with a fresh data directory, stopped with SIGTERM at the end."""
    rest, kafka = free_port(), free_port()
    properties = directory / "worker.properties"
    properties.write_text("offset.flush.interval.ms=100\n")
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "start",
        "--data-dir",
        str(directory / "data"),
        "--rest-listener",
        f"127.0.0.1:{rest}",
        "--kafka-listener",
        f"127.0.0.1:{kafka}",
        "--config",
        str(properties),
        "--workers",
        str(workers),
        "--log-level",
        "WARNING",
        "-o",
        f"num.partitions={TASKS}",
        "-o",
        "group.initial.rebalance.delay.ms=0",
    ]
    with (directory / "hub.log").open("ab") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env={**os.environ, "HUB_WORKERS": ""})
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()  # the ready line, once every worker process has joined
        if not ready:
            raise RuntimeError(f"hub start failed:\n{(directory / 'hub.log').read_text()[-3000:]}")
        yield Hub(f"http://127.0.0.1:{rest}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)


def _states(client: httpx.Client, name: str) -> list[str]:
    status = client.get(f"/connectors/{name}/status").json()
    return [status.get("connector", {}).get("state"), *(task["state"] for task in status.get("tasks", []))]


def _committed(client: httpx.Client, name: str) -> int:
    offsets = client.get(f"/connectors/{name}/offsets").json().get("offsets", [])
    return sum(int(entry["offset"]["kafka_offset"]) for entry in offsets)


def pipeline_rate(hub: Hub, name: str, count: int, label: str) -> float:
    """Records/s of one pass: ``count`` records from datagen to the sink."""
    converters = {"key.converter": CONVERTERS["json"], "value.converter": CONVERTERS[label]}
    topic = f"pipe-{name}"
    with httpx.Client(base_url=hub.url, timeout=60) as client:
        sink = {"connector.class": "FileStreamSink", "topics": topic, "file": os.devnull, "tasks.max": str(TASKS)}
        client.post("/connectors", json={"name": f"sink-{name}", "config": {**sink, **converters}}).raise_for_status()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            states = _states(client, f"sink-{name}")
            if len(states) == TASKS + 1 and all(state == "RUNNING" for state in states):
                break
            time.sleep(0.1)
        time.sleep(1)  # the sink's consumer group settles
        source = {
            "connector.class": "Datagen",
            "topic": topic,
            "quickstart": SHAPES[label],
            "tasks.max": str(TASKS),
            "max.records": str(count // TASKS),
            "batch.size": "2000",
            **converters,
        }
        began = time.perf_counter()
        client.post("/connectors", json={"name": f"gen-{name}", "config": source}).raise_for_status()
        deadline = time.monotonic() + 900
        while _committed(client, f"sink-{name}") < count and time.monotonic() < deadline:
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        client.delete(f"/connectors/gen-{name}")
        client.delete(f"/connectors/sink-{name}")
    return count / seconds


def compare(count: int, workers: int, labels: tuple[str, ...] = ("json", "noop")) -> None:
    """Print each setting's best rate and the ratio of ``workers`` processes to one."""
    figure("workers", workers, "processes")
    figure("cores", len(os.sched_getaffinity(0)), "cores")
    figure("records_per_pass", count, "records")
    with tempfile.TemporaryDirectory(prefix="hub-bench-workers-") as directory:
        root = Path(directory)
        (root / "one").mkdir()
        (root / "many").mkdir()
        with hub_start(root / "one", 1) as one, hub_start(root / "many", workers) as many:
            for label in labels:
                best = {1: 0.0, workers: 0.0}
                for attempt in range(ROUNDS):
                    for setting, hub in ((1, one), (workers, many)):
                        rate = pipeline_rate(hub, f"{label}-{attempt}", count, label)
                        best[setting] = max(best[setting], rate)
                figure(f"runtime_{label}_{TASKS}t_workers_1", best[1], "records/s")
                figure(f"runtime_{label}_{TASKS}t_workers_{workers}", best[workers], "records/s")
                target = 1.6 if label == "json" else None
                ratio(f"runtime_{label}_{TASKS}t_workers_{workers}_vs_1", best[workers], best[1], target=target)
