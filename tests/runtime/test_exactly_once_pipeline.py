"""Exactly-once source pipelines under kill -9: Datagen with ``exactly.once.support=required`` into a topic while
the worker is killed at random moments, ten rounds; afterwards a ``read_committed`` reader finds every record of
every task exactly once — no duplicate, no gap. On the embedded store (`hub start`), over Hub's Kafka listener
(`hub log serve` and one `hub worker`), and in a group of three workers of which one is killed each round. The same
pipeline without exactly-once support shows duplicates, so the check is known to bite."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.rest.conftest import relaunch_hub, start_hub, wait_hub
from tests.runtime.distributed.test_cluster import Worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOPIC = "generated"
TASKS = 2
STRIDE = 1_000_000_000_000  # Datagen's id space per task
EOS_ROUNDS = 10
CONTROL_ROUNDS = 3  # enough for at-least-once to repeat records after a kill
FREEZE_ROUNDS = 3
SESSION_S = 4


def _datagen(exactly_once: bool) -> dict[str, str]:
    return {
        "connector.class": "Datagen",
        "topic": TOPIC,
        "quickstart": "bytes",
        "rate": "2000",
        "batch.size": "50",
        "tasks.max": str(TASKS),
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.converters.ByteArrayConverter",
        **({"exactly.once.support": "required"} if exactly_once else {}),
    }


QUICK_SESSIONS = "session.timeout.ms=2000\nheartbeat.interval.ms=300\n"


def _worker_config(exactly_once: bool) -> str:
    support = "enabled" if exactly_once else "disabled"
    return f"offset.flush.interval.ms=500\nexactly.once.source.support={support}\n"


def _put(url: str, name: str, config: dict[str, str]) -> None:
    deadline = time.monotonic() + 60
    while True:
        response = httpx.put(f"{url}/connectors/{name}/config", json=config, timeout=60)
        if response.status_code in (200, 201):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"creating {name}: {response.status_code} {response.text}")
        time.sleep(0.5)  # 409 while a leader is chosen


def _pause_and_wait(url: str, name: str) -> None:
    """Pause the connector (its tasks commit their last transaction) and wait until every task is PAUSED."""
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.put(f"{url}/connectors/{name}/pause", timeout=30)
            tasks = httpx.get(f"{url}/connectors/{name}/status", timeout=30).json().get("tasks", [])
            if len(tasks) == TASKS and all(task["state"] == "PAUSED" for task in tasks):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"connector {name} did not pause")
        time.sleep(0.5)


def _read_committed(bootstrap: str) -> Counter[int]:
    """Every record id in the topic, as a read_committed consumer sees them, with how often each appears."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        partitions = consumer.list_topics(TOPIC, timeout=30).topics[TOPIC].partitions
        assigned = [TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in partitions]
        consumer.assign(assigned)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=30)[1] for p in partitions}
        seen: Counter[int] = Counter()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for message in consumer.consume(1000, 1.0):
                if message.error() is None:
                    seen[int(message.key())] += 1
            positions = consumer.position([TopicPartition(TOPIC, p) for p in partitions])
            if all(tp.offset >= ends[tp.partition] for tp in positions):
                return seen
        raise AssertionError(f"the reader did not reach the end of {TOPIC}: {ends}")
    finally:
        consumer.close()


def _missing_and_repeated(seen: Counter[int]) -> tuple[int, int]:
    """Ids missing between 1 and each task's highest, and records seen more than once."""
    missing = 0
    for task in range(TASKS):
        counts = [record_id - task * STRIDE for record_id in seen if record_id // STRIDE == task]
        assert counts, f"task {task} produced nothing"
        missing += max(counts) - len(counts)
    return missing, sum(count - 1 for count in seen.values())


def _kill_rounds(rounds: int, kill_and_restart: Callable[[], None]) -> None:
    rng = random.Random()
    for _ in range(rounds):
        time.sleep(rng.uniform(0.5, 2.5))  # a random moment: mid-batch, mid-commit, mid-rebalance
        kill_and_restart()


# --- the embedded store: `hub start` ---------------------------------------------------------------------------------


def _embedded_pipeline(tmp_path: Path, exactly_once: bool, rounds: int) -> Counter[int]:
    # A worker restarted after kill -9 rejoins its group once its killed self's session has expired: keep it short.
    quick_sessions = ("-o", "group.min.session.timeout.ms=1000")
    hub = start_hub(tmp_path, *quick_sessions, config=_worker_config(exactly_once) + QUICK_SESSIONS)
    _put(hub.url, "gen", _datagen(exactly_once))

    def restart() -> None:
        nonlocal hub
        hub.process.send_signal(signal.SIGKILL)
        hub.process.wait(30)
        hub = relaunch_hub(hub, *quick_sessions)  # same ports and data directory
        wait_hub(hub)

    try:
        _kill_rounds(rounds, restart)
        _pause_and_wait(hub.url, "gen")
        return _read_committed(hub.kafka)
    finally:
        hub.process.send_signal(signal.SIGTERM)
        try:
            hub.process.wait(60)
        except subprocess.TimeoutExpired:
            hub.process.kill()


def test_embedded_store_with_exactly_once_finds_every_record_once_after_kill_9_rounds(tmp_path: Path) -> None:
    seen = _embedded_pipeline(tmp_path, True, EOS_ROUNDS)
    assert _missing_and_repeated(seen) == (0, 0)


def test_embedded_store_without_exactly_once_repeats_records_after_kill_9(tmp_path: Path) -> None:
    missing, repeated = _missing_and_repeated(_embedded_pipeline(tmp_path, False, CONTROL_ROUNDS))
    assert missing == 0
    assert repeated > 0


# --- over Hub's Kafka listener: `hub log serve` and `hub worker`s ---------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HubServer]:
    server = HubServer(tmp_path / "store", free_port(), tmp_path / "store.log")
    server.start()
    yield server
    server.stop()


def _start_worker(tmp: Path, bootstrap: str, group: str, properties: Path) -> Worker:
    """A `hub worker` answering /health; one that does not come up is killed before the error is raised."""
    port = free_port()
    log = tmp / f"worker-{port}.log"
    argv = [sys.executable, "-m", "hub.cli", "worker", "--bootstrap-servers", bootstrap, "--group-id", group]
    argv += ["--rest-listener", f"127.0.0.1:{port}", "--config", str(properties)]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return Worker(process, url, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    process.wait(30)
    raise RuntimeError(f"worker did not start:\n{log.read_text()[-3000:]}")


def _running_a_task(workers: list[Worker]) -> int:
    """The index of a worker running one of the source's tasks: a kill there is one at-least-once must repeat
    records for (a worker with no task loses nothing)."""
    try:
        tasks = httpx.get(f"{workers[0].url}/connectors/gen/status", timeout=30).json().get("tasks", [])
    except httpx.HTTPError:
        tasks = []
    running = {task["worker_id"] for task in tasks if task.get("state") == "RUNNING"}
    return next((index for index, worker in enumerate(workers) if worker.url in running), 0)


def _workers_pipeline(
    tmp_path: Path,
    store: HubServer,
    exactly_once: bool,
    size: int,
    rounds: int,
    *,
    freeze: bool = False,
    control: bool = False,
) -> Counter[int]:
    group = f"eos-{uuid.uuid4().hex[:6]}"
    properties = tmp_path / "worker.properties"
    properties.write_text(
        _worker_config(exactly_once) + f"config.storage.topic={group}-configs\noffset.storage.topic={group}-offsets\n"
        f"status.storage.topic={group}-status\nsession.timeout.ms={SESSION_S * 1000}\nheartbeat.interval.ms=500\n"
        "scheduled.rebalance.max.delay.ms=0\n"
    )
    workers: list[Worker] = [_start_worker(tmp_path, store.bootstrap, group, properties) for _ in range(size)]
    rng = random.Random()
    _put(workers[0].url, "gen", _datagen(exactly_once))

    def kill_one() -> None:
        victim = _running_a_task(workers) if control else rng.randrange(size)
        if freeze:  # frozen past its session: its work moves to the others, then it wakes up as a zombie
            workers[victim].process.send_signal(signal.SIGSTOP)
            time.sleep(SESSION_S + 2)
            workers[victim].process.send_signal(signal.SIGCONT)
            return
        workers[victim].process.send_signal(signal.SIGKILL)
        workers[victim].process.wait(30)
        workers[victim] = _start_worker(tmp_path, store.bootstrap, group, properties)

    try:
        _kill_rounds(rounds, kill_one)
        _pause_and_wait(workers[0].url, "gen")
        return _read_committed(store.bootstrap)
    finally:
        for worker in workers:
            if worker.alive():
                worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.process.wait(60)
            except subprocess.TimeoutExpired:
                worker.process.kill()


def test_a_worker_over_the_kafka_listener_with_exactly_once_finds_every_record_once(
    tmp_path: Path, store: HubServer
) -> None:
    seen = _workers_pipeline(tmp_path, store, True, 1, EOS_ROUNDS)
    assert _missing_and_repeated(seen) == (0, 0)


def test_one_of_three_workers_killed_each_round_with_exactly_once_finds_every_record_once(
    tmp_path: Path, store: HubServer
) -> None:
    seen = _workers_pipeline(tmp_path, store, True, 3, EOS_ROUNDS)
    assert _missing_and_repeated(seen) == (0, 0)


def test_a_frozen_worker_whose_tasks_moved_elsewhere_commits_nothing_when_it_wakes(
    tmp_path: Path, store: HubServer
) -> None:
    seen = _workers_pipeline(tmp_path, store, True, 3, FREEZE_ROUNDS, freeze=True)
    assert _missing_and_repeated(seen) == (0, 0)


def test_one_of_three_workers_killed_without_exactly_once_repeats_records(tmp_path: Path, store: HubServer) -> None:
    seen = _workers_pipeline(tmp_path, store, False, 3, CONTROL_ROUNDS, control=True)
    missing, repeated = _missing_and_repeated(seen)
    assert missing == 0
    assert repeated > 0


def test_the_pipeline_reader_counts_what_it_reads() -> None:
    assert _missing_and_repeated(Counter({1: 1, 2: 2, 4: 1, STRIDE + 1: 1})) == (1, 1)
