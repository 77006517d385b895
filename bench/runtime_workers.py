"""Records/s through `hub start` with N worker processes against `hub start --workers 1`, measured in the same run:
datagen → store → the null sink of bench.runtime_pipeline, 4 tasks each over a topic of 4 partitions, through the
REST API.

The figure of one pass is records / seconds from resuming the datagen connector until the sink's committed offsets
(`GET /connectors/{name}/offsets`, committed every 100 ms here) cover every record. The topic is created first,
then the sink connector, then the datagen connector paused; each is left to settle (every task in its state for a
second), so the figure is the data path's, not the rebalances' that place the work. Each setting runs ``ROUNDS``
passes, alternating, and keeps the best (a pass lasts a few seconds, and a small shared machine can take a third
of one). The part of ``bench.runtime_pipeline --workers``. The processes find the null sink through an entry
point of a throwaway distribution (a ``.dist-info`` directory on their PYTHONPATH), as they find any plugin.

``HUB_BENCH_WORKER`` adds worker properties to both `hub start`s (space-separated ``KEY=VALUE``, e.g.
``producer.enable.idempotence=false``), ``HUB_BENCH_STORE`` store settings (``-o``), to see what a setting does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.report import figure, ratio
from bench.sync_tools import hub_start_argv
from hub.log.client import NewTopic
from hub.log.client.kafka import KafkaAdmin
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
    kafka: str
    process: subprocess.Popen[bytes]


def plugin_path(directory: Path) -> str:
    """A PYTHONPATH on which `hub start` finds the null sink (and this checkout's ``bench`` package)."""
    info = directory / "hub_bench_plugins-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hub-bench-plugins\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[hub]\nbench = bench.runtime_pipeline:PLUGIN\n")
    root = str(Path(__file__).resolve().parent.parent)
    return os.pathsep.join(part for part in (str(directory), root, os.environ.get("PYTHONPATH", "")) if part)


@contextlib.contextmanager
def hub_start(directory: Path, workers: int) -> Iterator[Hub]:
    """`hub start --workers N` on free ports with a fresh data directory, stopped with SIGTERM at the end."""
    rest, kafka = free_port(), free_port()
    properties = directory / "worker.properties"
    extra = "".join(f"{pair}\n" for pair in os.environ.get("HUB_BENCH_WORKER", "").split())
    properties.write_text("offset.flush.interval.ms=100\n" + extra)
    argv = [
        *hub_start_argv(directory / "data", rest, kafka, properties),
        "--workers",
        str(workers),
        "-o",
        f"num.partitions={TASKS}",
        "-o",
        "group.initial.rebalance.delay.ms=0",
        *(arg for option in os.environ.get("HUB_BENCH_STORE", "").split() for arg in ("-o", option)),
    ]
    env = {**os.environ, "PYTHONPATH": plugin_path(directory / "plugins")}
    with (directory / "hub.log").open("ab") as log:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env=env)
    try:
        assert process.stdout is not None
        ready = process.stdout.readline()  # the ready line, once every worker process has joined
        if not ready:
            raise RuntimeError(f"hub start failed:\n{(directory / 'hub.log').read_text()[-3000:]}")
        yield Hub(f"http://127.0.0.1:{rest}", f"127.0.0.1:{kafka}", process)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(120)


def _states(client: httpx.Client, name: str) -> list[str]:
    status = client.get(f"/connectors/{name}/status").json()
    return [status.get("connector", {}).get("state"), *(task["state"] for task in status.get("tasks", []))]


def _settled(client: httpx.Client, name: str, state: str) -> None:
    """Wait until the connector and its tasks are all in ``state`` and stay so for a second (no move under way)."""
    deadline = time.monotonic() + 120
    since: float | None = None
    while time.monotonic() < deadline:
        states = _states(client, name)
        if len(states) == TASKS + 1 and all(each == state for each in states):
            since = since or time.monotonic()
            if time.monotonic() - since >= 1:
                return
        else:
            since = None
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not settle {state}: {_states(client, name)}")


def _committed(client: httpx.Client, name: str) -> int:
    offsets = client.get(f"/connectors/{name}/offsets").json().get("offsets", [])
    return sum(int(entry["offset"]["kafka_offset"]) for entry in offsets)


def pipeline_rate(hub: Hub, name: str, count: int, label: str) -> float:
    """Records/s of one pass: ``count`` records from datagen to the sink."""
    converters = {"key.converter": CONVERTERS["json"], "value.converter": CONVERTERS[label]}
    topic = f"pipe-{name}"
    with httpx.Client(base_url=hub.url, timeout=60) as client:
        sink = {"connector.class": "NullSinkConnector", "topics": topic, "tasks.max": str(TASKS)}
        with KafkaAdmin(hub.kafka) as admin:
            admin.create_topics([NewTopic(topic, TASKS)])
        client.post("/connectors", json={"name": f"sink-{name}", "config": {**sink, **converters}}).raise_for_status()
        _settled(client, f"sink-{name}", "RUNNING")
        source = {
            "connector.class": "Datagen",
            "topic": topic,
            "quickstart": SHAPES[label],
            "tasks.max": str(TASKS),
            "max.records": str(count // TASKS),
            "batch.size": "2000",
            **converters,
        }
        # Created paused and left to settle, so the rebalances that place it are not timed.
        created = {"name": f"gen-{name}", "config": source, "initial_state": "PAUSED"}
        client.post("/connectors", json=created).raise_for_status()
        _settled(client, f"gen-{name}", "PAUSED")
        began = time.perf_counter()
        client.put(f"/connectors/gen-{name}/resume").raise_for_status()
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
