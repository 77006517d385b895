"""A store cluster for fault tests: N real `hub log serve` processes (tests.harness.hub.HubServer), on free ports of
127.0.0.1 or each in its own network namespace (tests.harness.netns), with the faults a test injects into them.

Node ids are 1..N. With a quorum (the default for N > 1) every node gets Kafka's cluster settings: ``node.id``,
``controller.quorum.voters`` (every node a voter) and ``advertised.listeners``; without one a node runs exactly as
today's single store. Each node's output goes to ``<base>/node-<id>.log``; ``log_tails`` is what the cluster
fixture attaches to a failed test's report and what ``wait_until`` puts in its timeout message.

What a test learns about partitions comes from a Metadata request to a node (leader, replicas, ISR), sent with
hub's own protocol client; what a replica stores, from the node's data directory read with hub.log's own
TopicStore once the node is stopped (consumers only ever read a leader, up to its high watermark).

Not thread-safe: one test thread drives a cluster.
"""

from __future__ import annotations

import contextlib
import signal
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from hub.log.client.errors import ClientError
from hub.log.client.kafka.connection import KafkaConnection
from hub.log.error_codes import ErrorCode
from hub.log.records import Record, iter_records
from hub.log.store import TopicStore
from tests.harness.hub import HubServer
from tests.harness.netns import Network
from tests.harness.process import free_port

T = TypeVar("T")

NAMESPACE_PORT = 9092
NAMESPACE_QUORUM_PORT = 9093
METADATA, METADATA_VERSION = 3, 12


@dataclass(frozen=True)
class PartitionView:
    """One partition as a Metadata answer describes it (leader -1 = none)."""

    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    error: str | None = None


@dataclass(frozen=True)
class Metadata:
    """A Metadata answer: the registered brokers, and per topic its error code and partitions."""

    brokers: set[int]
    topics: dict[str, tuple[int, dict[int, PartitionView]]]


class StoreCluster:
    """``size`` store nodes under ``base_dir``; ``start`` launches them all and waits for their listeners."""

    def __init__(
        self,
        base_dir: Path,
        size: int = 3,
        *,
        network: Network | None = None,
        options: Mapping[str, str] | None = None,
        quorum: bool | None = None,
    ) -> None:
        self.base_dir = base_dir
        self.network = network
        self.quorum = size > 1 if quorum is None else quorum
        if network is not None and len(network.namespaces) < size:
            raise ValueError(f"{size} nodes need {size} namespaces, the network has {len(network.namespaces)}")
        addresses = {node_id: self._address(node_id) for node_id in range(1, size + 1)}
        self.voters = ",".join(f"{node_id}@{host}:{quorum}" for node_id, (host, _, quorum) in addresses.items())
        self.options = dict(options or {})
        self.nodes: dict[int, HubServer] = {}
        for node_id, (host, port, _) in addresses.items():
            self.nodes[node_id] = self._node(node_id, host, port)

    def _node(self, node_id: int, host: str, port: int) -> HubServer:
        settings = dict(self.options)
        if self.quorum:
            settings |= {
                "node.id": str(node_id),
                "controller.quorum.voters": self.voters,
                "advertised.listeners": f"PLAINTEXT://{host}:{port}",
            }
        return HubServer(
            self.base_dir / f"node-{node_id}",
            port,
            self.base_dir / f"node-{node_id}.log",
            host=host,
            options=tuple(f"{key}={value}" for key, value in settings.items()),
            launcher=tuple(self.network[node_id].exec_prefix()) if self.network is not None else (),
        )

    def add_broker(self, timeout_s: float = 60) -> int:
        """Start one more node, a broker only (not a voter: an observer of the metadata quorum), and wait until
        it is registered; returns its node id."""
        node_id = max(self.nodes) + 1
        host, port, _ = self._address(node_id)
        self.nodes[node_id] = self._node(node_id, host, port)
        self.nodes[node_id].start(timeout_s)
        self.wait_until(lambda: node_id in self.metadata().brokers, timeout_s, f"node {node_id} registered")
        return node_id

    def _address(self, node_id: int) -> tuple[str, int, int]:
        if self.network is not None:
            return self.network[node_id].address, NAMESPACE_PORT, NAMESPACE_QUORUM_PORT
        return "127.0.0.1", free_port(), free_port()

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self, timeout_s: float = 60) -> None:
        """Launch every node, then wait for every listener (a node may listen only once a quorum of them runs) and,
        with more than one node, until Metadata lists every broker (registered, unfenced), so topics can be created."""
        for node in self.nodes.values():
            node.launch()
        for node in self.nodes.values():
            node.wait_listening(timeout_s)
        if len(self.nodes) > 1:
            count = len(self.nodes)
            self.wait_until(
                lambda: len(self.metadata().brokers) == count,
                timeout_s,
                f"all {count} nodes registered with the cluster",
            )

    def kill(self, node_id: int) -> None:
        """SIGKILL: no shutdown work at all, as in a power cut of that process."""
        self.nodes[node_id].kill()

    def stop(self, node_id: int) -> None:
        """SIGTERM, wait, and require a clean exit (code 0)."""
        code = self.nodes[node_id].stop()
        assert code == 0, f"node {node_id} exited with {code} on SIGTERM:\n{self.nodes[node_id].log_tail()}"

    def restart(self, node_id: int, timeout_s: float = 60) -> None:
        """Start the node again on its data directory and address (stopping it cleanly first if it runs)."""
        if self.nodes[node_id].running:
            self.stop(node_id)
        self.nodes[node_id].start(timeout_s)

    def pause(self, node_id: int) -> None:
        """SIGSTOP: the process keeps its sockets but does nothing (a node stuck in a long pause)."""
        self._signal(node_id, signal.SIGSTOP)

    def resume(self, node_id: int) -> None:
        self._signal(node_id, signal.SIGCONT)

    def _signal(self, node_id: int, number: signal.Signals) -> None:
        assert self.nodes[node_id].running, f"node {node_id} is not running"
        process = self.nodes[node_id].process
        assert process is not None
        process.send_signal(number)

    def close(self) -> None:
        """End every node still running (SIGCONT, SIGTERM, then SIGKILL after a grace period). Idempotent."""
        for node in self.nodes.values():
            if node.process is None or node.process.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                node.process.send_signal(signal.SIGCONT)
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            if node.process is not None and node.process.poll() is None:
                try:
                    node.process.wait(15)
                except Exception:
                    node.process.kill()
                    node.process.wait(10)

    # --- observation -------------------------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        """The running nodes' listeners (every node when none runs yet)."""
        running = [node.bootstrap for node in self.nodes.values() if node.running]
        return ",".join(running or [node.bootstrap for node in self.nodes.values()])

    def running(self) -> list[int]:
        return [node_id for node_id, node in self.nodes.items() if node.running]

    def admin(self, via: int | None = None) -> AdminClient:
        """An AdminClient of the running nodes, or bootstrapped from node ``via`` alone (its first Metadata answer
        is that node's view)."""
        bootstrap = self.nodes[via].bootstrap if via is not None else self.bootstrap
        return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})

    def create_topic(
        self, name: str, partitions: int = 1, replication_factor: int = 3, configs: Mapping[str, str] | None = None
    ) -> None:
        new = NewTopic(name, partitions, replication_factor, config=dict(configs or {}))
        admin = self.admin()  # the futures fail when their client is destroyed first
        admin.create_topics([new])[name].result(30)

    def metadata(self, via: int | None = None, topics: list[str] | None = None, timeout_s: float = 5) -> Metadata:
        """A Metadata answer (v12) of node ``via``, else of the first running node that answers: its brokers and
        topics (None: all). Asked over a short-lived socket of hub's own client, not librdkafka: a probe polled
        hundreds of times per test must neither start client threads nor be able to block the test in C code."""
        candidates = [via] if via is not None else self.running() or list(self.nodes)
        body = {
            "topics": None if topics is None else [{"topic_id": uuid.UUID(int=0), "name": name} for name in topics],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": False,
        }
        failures = []
        for node_id in candidates:
            node = self.nodes[node_id]
            connection = KafkaConnection(node.host, node.port, client_id="hub-test-harness", timeout_s=timeout_s)
            try:
                answer = connection.request(METADATA, METADATA_VERSION, body)
            except ClientError as exc:
                failures.append(f"node {node_id}: {exc}")
                continue
            finally:
                connection.close()
            partitions = {
                topic["name"]: (
                    topic["error_code"],
                    {
                        part["partition_index"]: PartitionView(
                            part["leader_id"],
                            tuple(part["replica_nodes"]),
                            tuple(part["isr_nodes"]),
                            None if part["error_code"] == 0 else ErrorCode(part["error_code"]).name,
                        )
                        for part in topic["partitions"]
                    },
                )
                for topic in answer["topics"]
            }
            return Metadata({broker["node_id"] for broker in answer["brokers"]}, partitions)
        raise ConnectionError(f"no node answered Metadata: {'; '.join(failures)}")

    def partition(
        self, topic: str, partition: int = 0, *, via: int | None = None, timeout_s: float = 5
    ) -> PartitionView:
        """Leader, replicas and ISR of one partition from a fresh Metadata request."""
        error, described = self.metadata(via, [topic], timeout_s).topics[topic]
        if partition not in described:
            return PartitionView(-1, (), (), ErrorCode(error).name)
        return described[partition]

    def in_every_isr(self, node_id: int) -> bool:
        """Whether, as every running node answers Metadata, node ``node_id`` is registered and every partition it
        replicates has a leader and it in its ISR (a node just restarted may answer from an old state)."""
        return all(self._in_every_isr(node_id, via) for via in self.running())

    def _in_every_isr(self, node_id: int, via: int) -> bool:
        metadata = self.metadata(via)
        if node_id not in metadata.brokers:
            return False
        return all(
            error == 0
            and all(part.leader >= 0 and node_id in part.isr for part in parts.values() if node_id in part.replicas)
            for error, parts in metadata.topics.values()
        )

    def committed(self, group: str, topic: str, partition: int = 0) -> int:
        """The offset consumer group ``group`` committed for the partition (-1001: none), by OffsetFetch."""
        admin = self.admin()
        wanted = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, partition)])
        answer = admin.list_consumer_group_offsets([wanted])[group].result(10)
        offset: int = answer.topic_partitions[0].offset
        return offset

    def wait_until(self, predicate: Callable[[], T | None], timeout_s: float = 30, what: str = "") -> T:
        """Poll ``predicate`` until it returns something true and return that; an exception counts as false.
        On timeout, raise AssertionError naming ``what``, the last exception and every node's log tail."""
        deadline = time.monotonic() + timeout_s
        last: BaseException | None = None
        while True:
            try:
                result = predicate()
                if result:
                    return result
            except Exception as exc:
                last = exc
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- node {n} ---\n{tail}" for n, tail in self.log_tails().items())
                raise AssertionError(f"not true after {timeout_s} s: {what or predicate} (last error: {last})\n{tails}")
            time.sleep(0.1)

    def log_tails(self, chars: int = 3000) -> dict[int, str]:
        return {node_id: node.log_tail(chars) for node_id, node in self.nodes.items()}

    def replica_records(self, node_id: int, topic: str, partition: int = 0) -> list[Record]:
        """Every record of the partition in node ``node_id``'s log (to its log end, not only its high watermark),
        in offset order; the node must be stopped (the store's lock)."""
        node = self.nodes[node_id]
        assert not node.running, f"stop node {node_id} before reading its files"
        with TopicStore(node.data_dir) as store:
            log = store.partition(topic, partition)
            return [
                record
                for segment in log.segments
                for record in iter_records(segment.read(segment.base_offset, 1 << 30))
            ]


#: The ``store_cluster`` fixture's factory (tests.harness.fixtures): ``make(size=3, *, network=None, options=None,
#: quorum=None)`` starts a StoreCluster and returns it.
ClusterFactory = Callable[..., StoreCluster]
