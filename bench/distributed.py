"""Distributed mode on one machine: fail-over time after kill -9 of a worker, and the aggregate rate of datagen
sources spread over 1, 2 and 3 workers (scaling ratio), all against one `hub log serve`.

Run: ``python -m bench.distributed [--seconds 10]``. The fail-over time is bounded by the session timeout (the
coordinator notices the death) plus scheduled.rebalance.max.delay.ms (set low here) plus the two rebalances.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.report import figure, ratio
from hub.log.client import OffsetSpec, TopicPartition
from hub.log.client.kafka import KafkaAdmin
from tests.harness.process import free_port, port_open

SESSION_MS = 4000
DELAY_MS = 2000
TASKS = 6


@contextlib.contextmanager
def store(directory: Path) -> Iterator[str]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "log",
        "serve",
        "--data-dir",
        str(directory),
        "--listener",
        f"127.0.0.1:{port}",
        "--log-level",
        "WARNING",
        "-o",
        "group.initial.rebalance.delay.ms=0",
        "-o",
        "group.min.session.timeout.ms=1000",
        "-o",
        "log.flush.interval.messages=4611686018427387904",
    ]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not port_open(port):
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)


def start_worker(bootstrap: str, group: str, properties: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "worker",
        "--bootstrap-servers",
        bootstrap,
        "--group-id",
        group,
        "--rest-listener",
        f"127.0.0.1:{port}",
        "--config",
        str(properties),
        "--log-level",
        "WARNING",
    ]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return process, url
        time.sleep(0.1)


def all_running(url: str, names: list[str], allowed: set[str]) -> bool:
    for name in names:
        status = httpx.get(f"{url}/connectors/{name}/status", timeout=10).json()
        units = [status["connector"], *status["tasks"]]
        if len(status["tasks"]) != 1 or any(u["state"] != "RUNNING" or u["worker_id"] not in allowed for u in units):
            return False
    return True


def cluster(tmp: Path, bootstrap: str, workers: int) -> tuple[list[tuple[subprocess.Popen[bytes], str]], Path]:
    group = f"bench-{uuid.uuid4().hex[:6]}"
    properties = tmp / f"{group}.properties"
    properties.write_text(
        f"config.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\n"
        f"status.storage.topic={group}-status\nsession.timeout.ms={SESSION_MS}\nheartbeat.interval.ms=500\n"
        f"scheduled.rebalance.max.delay.ms={DELAY_MS}\n"
    )
    return [start_worker(bootstrap, group, properties, tmp / f"{group}.log") for _ in range(workers)], properties


def create_sources(url: str, names: list[str], topic: str, rate: float) -> None:
    for name in names:
        config = {"connector.class": "Datagen", "topic": topic, "rate": str(rate), "batch.size": "2000"}
        httpx.post(f"{url}/connectors", json={"name": name, "config": config}, timeout=60).raise_for_status()


def stop(processes: list[tuple[subprocess.Popen[bytes], str]]) -> None:
    for process, _ in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _ in processes:
        process.wait(60)


def fail_over(tmp: Path, bootstrap: str) -> float:
    workers, _ = cluster(tmp, bootstrap, 3)
    names = [f"fo{i}" for i in range(TASKS)]
    try:
        create_sources(workers[0][1], names, "failover", 50)
        urls = {url for _, url in workers}
        while not all_running(workers[0][1], names, urls):
            time.sleep(0.1)
        victim, _ = workers[2]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed = time.perf_counter()
        survivors = {workers[0][1], workers[1][1]}
        while not all_running(workers[0][1], names, survivors):
            time.sleep(0.1)
        return time.perf_counter() - killed
    finally:
        stop(workers)


def throughput(tmp: Path, bootstrap: str, count: int, seconds: float) -> float:
    workers, _ = cluster(tmp, bootstrap, count)
    names = [f"tp{count}-{i}" for i in range(TASKS)]
    topic = f"throughput-{count}"
    try:
        create_sources(workers[0][1], names, topic, 0)
        with KafkaAdmin(bootstrap) as admin:
            partitions = [TopicPartition(topic, 0)]

            def end() -> int:
                with contextlib.suppress(Exception):
                    return int(admin.list_offsets(partitions, OffsetSpec.LATEST)[partitions[0]] or 0)
                return 0

            while not all_running(workers[0][1], names, {url for _, url in workers}):
                time.sleep(0.1)
            time.sleep(2)  # warm up
            first, began = end(), time.perf_counter()
            time.sleep(seconds)
            return (end() - first) / (time.perf_counter() - began)
    finally:
        stop(workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as directory, store(Path(directory) / "store") as bootstrap:
        tmp = Path(directory)
        figure("session_timeout", SESSION_MS / 1000, "s")
        figure("rebalance_delay", DELAY_MS / 1000, "s")
        figure("fail_over", fail_over(tmp, bootstrap), "s")
        rates = {}
        for count in (1, 2, 3):
            rates[count] = throughput(tmp, bootstrap, count, args.seconds)
            figure(f"datagen_{TASKS}_tasks_on_{count}_workers", rates[count], "records/s")
        for count in (2, 3):
            ratio(f"scaling_{count}_workers_vs_1", rates[count], rates[1])


if __name__ == "__main__":
    main()
