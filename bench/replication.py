"""Replication on one machine: a 3-node `hub log serve` cluster against a single node, in the same run.

1. Produce throughput: confluent-kafka sends N x 100-byte messages (default batching) to a topic of replication
   factor 3 with acks=all on the cluster, and to a topic of replication factor 1 with acks=1 on a single node (the
   reference: the store as it is without a cluster) and on the cluster (to tell replication from the cluster's
   fixed costs). Best of three passes, each to a new topic. The CPU seconds the servers and the client used per
   million messages are printed beside each rate: one Python producer loop keeps about one core busy, so on a
   small machine the client, not the servers, may set all three rates.
2. Fail-over: a producer sends one acks=all message every 5 ms (message.timeout.ms 1 s, so messages stuck on the
   dead leader fail and later ones go on); the leader of a new topic's partition (replicas on all three nodes) is
   killed with SIGKILL; the figure is from the kill until the first acknowledged message that was sent after it
   (so only a successor can have acknowledged it). Printed beside it: when Metadata (polled every 20 ms) first
   named the new leader, i.e. the servers' share. Five rounds kill a leader that is not the metadata controller
   (Raft leader), three kill one that is (a Raft election comes first, and the new controller gives every broker
   a fresh session, as Kafka's does); each victim is restarted and back in the ISR before the next round. The
   medians are quoted. Hub's default broker.session.timeout.ms (2 s) and heartbeat interval (0.5 s) apply.
3. Catch-up: a follower is stopped (SIGTERM), M MB are produced, the follower is started again. Its rate is the
   bytes it had to copy over the time from its first copied byte until its partition log holds as many bytes as
   the leader's, read from its segment files every 2 ms (a follower appends the leader's batches exactly as the
   leader stored them, so equal sizes mean equal logs; the Kafka protocol shows no follower's log end: ListOffsets
   and Fetch are answered by leaders only). The time until the leader put it back in the ISR (seen in Metadata) is
   printed too. The references read the same offsets from the leader: a confluent-kafka consumer (the target's
   reference), and bare Fetch requests through the client a follower uses, records not parsed (the leader's
   serving rate, which bounds a follower's).

Run: ``.venv/bin/python -m bench.replication [--messages 1000000] [--catch-up-mb 100] [--rounds 5]
[--controller-rounds 3]``. Servers log to files in the temporary directory; ``--keep-logs DIR`` copies them there.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bench.report import figure, ratio
from hub.log.batch import HEADER_SIZE, parse_header
from hub.log.client.kafka.connection import KafkaConnection
from hub.log.cluster.replica_fetcher import FETCH_VERSION
from tests.harness.process import free_port, port_open

VALUE = b"x" * 100
NODES = (1, 2, 3)
QUIET = {"log_level": 2}  # librdkafka: critical only (connections refused by a killed node are expected)


@dataclass
class Node:
    """One `hub log serve` process: ``node_id`` 0 is a single node outside any cluster."""

    node_id: int
    data_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    quorum_port: int = field(default_factory=free_port)
    voters: str = ""
    log_level: str = "WARNING"
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [sys.executable, "-m", "hub.cli", "log", "serve", "--data-dir", str(self.data_dir)]
        argv += ["--listener", self.address, "--log-level", self.log_level]
        if self.voters:
            argv += ["-o", f"node.id={self.node_id}", "-o", f"controller.quorum.voters={self.voters}"]
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"node {self.node_id} did not start (see {self.log_path})")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        self.process = None

    def log_bytes(self, topic: str, partition: int = 0) -> int:
        """The bytes of the partition's segment files on this node's disk."""
        directory = self.data_dir / f"{topic}-{partition}"
        with contextlib.suppress(FileNotFoundError):
            return sum(entry.stat().st_size for entry in os.scandir(directory) if entry.name.endswith(".log"))
        return 0


@contextlib.contextmanager
def running(nodes: list[Node]) -> Iterator[list[Node]]:
    """Start ``nodes``; SIGTERM every one of them on the way out, whatever happened."""
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in nodes:
            node.stop()


def cluster_nodes(tmp: Path, log_level: str) -> list[Node]:
    nodes = [Node(i, tmp / f"node{i}", tmp / f"node{i}.log", log_level=log_level) for i in NODES]
    voters = ",".join(f"{node.node_id}@127.0.0.1:{node.quorum_port}" for node in nodes)
    for node in nodes:
        node.voters = voters
    return nodes


def bootstrap(nodes: list[Node]) -> str:
    return ",".join(node.address for node in nodes if node.process is not None)


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(Exception):
            if check():
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def partition_state(admin: AdminClient, topic: str) -> tuple[int, list[int]]:
    """(leader, ISR) of partition 0 of ``topic`` in a fresh Metadata answer."""
    found = admin.list_topics(topic, timeout=5).topics[topic]
    if found.error is not None:
        raise RuntimeError(str(found.error))
    state = found.partitions[0]
    return state.leader, sorted(state.isrs)


def create_topic(admin: AdminClient, topic: str, replication: int) -> None:
    admin.create_topics([NewTopic(topic, 1, replication)])[topic].result(60)
    if replication > 1:
        wait_for(lambda: len(partition_state(admin, topic)[1]) == replication, f"{topic}'s full ISR")
    else:
        wait_for(lambda: partition_state(admin, topic)[0] >= 0, f"{topic}'s leader")


# --- 1. produce throughput -------------------------------------------------------------------------------------


def produce(servers: str, topic: str, messages: int, acks: str) -> float:
    producer = Producer(
        {"bootstrap.servers": servers, "acks": acks, "queue.buffering.max.messages": 2_000_000, **QUIET}
    )
    failed: list[KafkaError] = []

    def delivered(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failed.append(error)

    started = time.perf_counter()
    for _ in range(messages):
        while True:
            try:
                producer.produce(topic, VALUE, partition=0, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.01)
    if producer.flush(600) != 0 or failed:
        raise RuntimeError(f"{topic}: messages were not delivered ({failed[:1]})")
    return time.perf_counter() - started


def cpu_seconds(nodes: list[Node]) -> float:
    """User and system CPU seconds the nodes' processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for node in nodes:
        if node.process is not None:
            fields = Path(f"/proc/{node.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def throughput(nodes: list[Node], name: str, replication: int, acks: str, messages: int) -> float:
    """The best of three produce passes, each to a new topic; also prints the CPU seconds per million messages
    the servers (all nodes) and this client used in that pass, which tells which side limits the rate."""
    servers = bootstrap(nodes)
    admin = AdminClient({"bootstrap.servers": servers, **QUIET})
    best = (float("inf"), 0.0, 0.0)
    for attempt in range(3):
        topic = f"{name}-{attempt}"
        create_topic(admin, topic, replication)
        server_before, client_before = cpu_seconds(nodes), sum(os.times()[:2])
        elapsed = produce(servers, topic, messages, acks)
        server_cpu, client_cpu = cpu_seconds(nodes) - server_before, sum(os.times()[:2]) - client_before
        best = min(best, (elapsed, server_cpu, client_cpu))
    elapsed, server_cpu, client_cpu = best
    rate = messages / elapsed
    figure(f"produce_{name}", rate, "msgs/s")
    figure(f"produce_{name}_mb", rate * len(VALUE) / 1e6, "MB/s")
    figure(f"produce_{name}_server_cpu", server_cpu / messages * 1e6, "s per 1M msgs")
    figure(f"produce_{name}_client_cpu", client_cpu / messages * 1e6, "s per 1M msgs")
    return rate


# --- 2. fail-over ------------------------------------------------------------------------------------------------


class SteadyProducer:
    """Sends one acks=all message every ``interval_s`` on its own thread and keeps each acknowledgement's time."""

    def __init__(self, servers: str, topic: str, interval_s: float = 0.005) -> None:
        self.producer = Producer(
            {
                "bootstrap.servers": servers,
                "acks": "all",
                "linger.ms": 0,
                "message.timeout.ms": 1000,
                "request.timeout.ms": 1000,
                **QUIET,
            }
        )
        self.topic = topic
        self.interval_s = interval_s
        self.acked: list[tuple[float, float]] = []  # (sent, acknowledged), perf_counter seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SteadyProducer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.producer.flush(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            sent = time.perf_counter()

            def delivered(error: KafkaError | None, _: Message, sent: float = sent) -> None:
                if error is None:
                    self.acked.append((sent, time.perf_counter()))

            with contextlib.suppress(BufferError):
                self.producer.produce(self.topic, VALUE, partition=0, on_delivery=delivered)
            self.producer.poll(self.interval_s)

    def first_ack_sent_after(self, moment: float, timeout_s: float = 60) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            acks = [acked for sent, acked in list(self.acked) if sent >= moment]
            if acks:
                return min(acks)
            time.sleep(0.01)
        raise RuntimeError("no message was acknowledged after the kill")


class LeaderWatch:
    """Polls Metadata every 20 ms on its own thread; ``changed`` is when the partition first showed a leader
    other than ``old`` (what the server side of a fail-over took, within one poll)."""

    def __init__(self, servers: str, topic: str, old: int) -> None:
        self.admin = AdminClient({"bootstrap.servers": servers, **QUIET})
        self.topic, self.old = topic, old
        self.changed: float | None = None
        self.leader = -1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(Exception):
                leader, _ = partition_state(self.admin, self.topic)
                if leader >= 0 and leader != self.old:
                    self.changed, self.leader = time.perf_counter(), leader
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def fail_over_round(nodes: list[Node], topic: str, victim_is_controller: bool) -> tuple[float, float]:
    """Kill the leader of a new topic's partition (the metadata controller too, or not); (seconds until the
    first acknowledged write sent after the kill, seconds until Metadata named the new leader)."""
    admin = AdminClient({"bootstrap.servers": bootstrap(nodes), **QUIET})
    controller = admin.list_topics(timeout=5).controller_id
    others = [node.node_id for node in nodes if node.node_id != controller]
    leader = controller if victim_is_controller else others[0]
    replicas = [leader, *(node.node_id for node in nodes if node.node_id != leader)]
    admin.create_topics([NewTopic(topic, num_partitions=1, replica_assignment=[replicas])])[topic].result(60)
    wait_for(lambda: partition_state(admin, topic) == (leader, sorted(replicas)), f"{topic} led by node {leader}")
    victim = next(node for node in nodes if node.node_id == leader)
    with SteadyProducer(bootstrap(nodes), topic) as steady:
        wait_for(lambda: len(steady.acked) > 50, "the steady producer's first acknowledgements")
        if admin.list_topics(timeout=5).controller_id != controller:
            raise RuntimeError("the metadata controller moved during the round")
        victim.kill()
        killed = time.perf_counter()
        watch = LeaderWatch(bootstrap(nodes), topic, leader)
        try:
            acked = steady.first_ack_sent_after(killed)
            wait_for(lambda: watch.changed is not None, "the new leader in Metadata")
        finally:
            watch.close()
    assert watch.changed is not None
    role = "leader and metadata controller" if victim_is_controller else f"leader; controller {controller}"
    print(f"#   killed node {leader} ({role}); new leader {watch.leader}", flush=True)
    victim.start()
    wait_for(lambda: len(partition_state(admin, topic)[1]) == len(nodes), f"node {leader} back in the ISR", 120)
    return acked - killed, watch.changed - killed


def fail_over(nodes: list[Node], rounds: int, victim_is_controller: bool) -> list[float]:
    kind = "fail_over_controller" if victim_is_controller else "fail_over"
    times: list[float] = []
    for round_ in range(1, rounds + 1):
        elapsed, elected = fail_over_round(nodes, f"{kind}-{round_}", victim_is_controller)
        times.append(elapsed)
        figure(f"{kind}_round{round_}", elapsed, "s")
        figure(f"{kind}_round{round_}_new_leader_in_metadata", elected, "s")
    return times


# --- 3. catch-up -------------------------------------------------------------------------------------------------


def produce_megabytes(servers: str, topic: str, megabytes: float) -> int:
    messages = int(megabytes * 1e6 / len(VALUE))
    produce(servers, topic, messages, "all")
    return messages


def consume_range(leader: str, topic: str, start: int, end: int) -> float:
    """Seconds for a consumer to read offsets [start, end) of partition 0 from ``leader``."""
    consumer = Consumer(
        {
            "bootstrap.servers": leader,
            "group.id": "bench-replication-reader",
            "enable.auto.commit": False,
            "fetch.queue.backoff.ms": 1,  # see bench.kafka_produce_consume.consume
            **QUIET,
        }
    )
    consumer.assign([TopicPartition(topic, 0, start)])
    seen = 0
    began = None
    deadline = time.monotonic() + 600
    while seen < end - start and time.monotonic() < deadline:
        batch = consumer.consume(num_messages=10_000, timeout=1.0)
        if batch and began is None:
            began = time.perf_counter()
        seen += len(batch)
        if any(map(Message.error, batch)):
            seen -= sum(1 for message in batch if message.error() is not None)
    elapsed = time.perf_counter() - (began or time.perf_counter())
    consumer.close()
    if seen < end - start:
        raise RuntimeError(f"consumed {seen} of {end - start}")
    return elapsed


def fetch_range(leader: Node, topic: str, start: int, end: int) -> float:
    """Seconds for Fetch requests as a consumer sends them (replica_id -1, 1 MiB a request, no long poll) to read
    offsets [start, end) of partition 0 from ``leader``, with the client a follower uses and no parsing of records:
    the leader's own serving rate, which a follower's catch-up cannot exceed."""
    connection = KafkaConnection("127.0.0.1", leader.port, client_id="bench-replication-fetch")
    partition = {"partition": 0, "current_leader_epoch": -1, "log_start_offset": -1, "partition_max_bytes": 1 << 20}
    body = {
        "replica_id": -1,
        "max_wait_ms": 0,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": -1,
        "forgotten_topics_data": [],
        "rack_id": "",
    }
    offset = start
    began = time.perf_counter()
    try:
        while offset < end:
            request = {**body, "topics": [{"topic": topic, "partitions": [{**partition, "fetch_offset": offset}]}]}
            answer = connection.request(1, FETCH_VERSION, request)["responses"][0]["partitions"][0]
            records = answer["records"]
            if answer["error_code"] != 0 or not records:
                raise RuntimeError(f"fetch at {offset} answered error {answer['error_code']} with {len(records)} B")
            offset = last_offset(records) + 1
    finally:
        connection.close()
    return time.perf_counter() - began


def last_offset(records: bytes) -> int:
    """The last offset of the last whole batch in ``records``."""
    position, last = 0, -1
    while position + HEADER_SIZE <= len(records):
        header = parse_header(records, position)
        if position + header.size > len(records):
            break
        last, position = header.next_offset - 1, position + header.size
    return last


def catch_up(nodes: list[Node], megabytes: float) -> tuple[float, float, float]:
    """Bytes/s over the same bytes: a restarted follower's catch-up, a consumer's read from the leader, Fetch
    requests' read from the leader."""
    servers = bootstrap(nodes)
    admin = AdminClient({"bootstrap.servers": servers, **QUIET})
    topic = "catch-up"
    create_topic(admin, topic, 3)
    leader_id, _ = partition_state(admin, topic)
    by_id = {node.node_id: node for node in nodes}
    leader = by_id[leader_id]
    follower = next(node for node in nodes if node.node_id != leader_id)
    produce(servers, topic, 1000, "all")  # the follower holds a start of the log before it stops
    start_offset = 1000
    follower.stop()
    wait_for(lambda: follower.node_id not in partition_state(admin, topic)[1], "the stopped follower to leave the ISR")
    messages = produce_megabytes(bootstrap(nodes), topic, megabytes)
    target = leader.log_bytes(topic)
    before = follower.log_bytes(topic)
    to_copy = target - before
    started = time.perf_counter()
    follower.start()
    first_byte = None
    while True:
        size = follower.log_bytes(topic)
        now = time.perf_counter()
        if first_byte is None and size > before:
            first_byte = now
        if size >= target:
            caught_up = now
            break
        if now - started > 600:
            raise RuntimeError(f"follower {follower.node_id} did not catch up ({size} of {target} bytes)")
        time.sleep(0.002)
    wait_for(lambda: follower.node_id in partition_state(admin, topic)[1], "the follower back in the ISR", 120)
    in_isr = time.perf_counter()
    assert first_byte is not None
    copy_s = caught_up - first_byte
    figure("catch_up_bytes", to_copy / 1e6, "MB")
    figure("catch_up_start", first_byte - started, "s")  # process start, quorum catch-up, registration, first fetch
    figure("catch_up_copy", copy_s, "s")
    figure("catch_up_back_in_isr", in_isr - started, "s")
    read_s = consume_range(leader.address, topic, start_offset, start_offset + messages)
    fetch_s = fetch_range(leader, topic, start_offset, start_offset + messages)
    figure("leader_consume", read_s, "s")
    figure("leader_fetch", fetch_s, "s")
    rates = to_copy / copy_s, to_copy / read_s, to_copy / fetch_s
    figure("catch_up_rate", rates[0] / 1e6, "MB/s")
    figure("leader_consume_rate", rates[1] / 1e6, "MB/s")
    figure("leader_fetch_rate", rates[2] / 1e6, "MB/s")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--catch-up-mb", type=float, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="fail-over rounds killing a partition leader")
    parser.add_argument(
        "--controller-rounds", type=int, default=3, help="rounds killing a leader that is the metadata controller too"
    )
    parser.add_argument("--log-level", default="WARNING", help="the servers' log level (their logs: --keep-logs)")
    parser.add_argument("--keep-logs", type=Path, help="copy the servers' log files into this directory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    try:
        single = Node(0, tmp / "single", tmp / "single.log", log_level=args.log_level)
        with running([single]):
            single_rate = throughput([single], "single_rf1_acks1", 1, "1", args.messages)
        with running(cluster_nodes(tmp, args.log_level)) as nodes:
            admin = AdminClient({"bootstrap.servers": bootstrap(nodes), **QUIET})
            wait_for(lambda: len(admin.list_topics(timeout=5).brokers) == len(nodes), "all nodes registered")
            cluster_rf1 = throughput(nodes, "cluster_rf1_acks1", 1, "1", args.messages)
            cluster_rf3 = throughput(nodes, "cluster_rf3_acksall", 3, "all", args.messages)
            times = fail_over(nodes, args.rounds, victim_is_controller=False)
            controller_times = fail_over(nodes, args.controller_rounds, victim_is_controller=True)
            follower_rate, consume_rate, fetch_rate = catch_up(nodes, args.catch_up_mb)
        ratio("rf3_acksall_vs_single_rf1_acks1", cluster_rf3, single_rate, target=0.5)
        ratio("rf3_acksall_vs_cluster_rf1_acks1", cluster_rf3, cluster_rf1)
        ratio("cluster_rf1_vs_single_rf1", cluster_rf1, single_rate)
        for name, values in (("fail_over", times), ("fail_over_controller", controller_times)):
            if values:
                median = statistics.median(values)
                verdict = "met" if median <= 3.0 else "MISSED"
                print(f"{name}_median: {median:.3f} s  # target <= 3.00 s {verdict}", flush=True)
        ratio("catch_up_vs_leader_consume", follower_rate, consume_rate, target=0.5)
        ratio("catch_up_vs_leader_fetch", follower_rate, fetch_rate)
    finally:
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for path in tmp.glob("*.log"):
                shutil.copy(path, args.keep_logs / path.name)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
