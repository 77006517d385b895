"""Cluster fixtures: a three-node metadata quorum in one process, on free 127.0.0.1 ports, with small timeouts.
(``store_cluster``, clusters of `hub log serve` processes, is suite-wide: tests.harness.fixtures.)"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.log.cluster.controller import BrokerLifecycle, QuorumController
from hub.log.cluster.quorum import MetadataQuorum
from tests.harness.process import free_port

SESSION_MS = 600
HEARTBEAT_MS = 100


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Node:
    """One node: its quorum member, controller and broker lifecycle (started and closed together)."""

    def __init__(self, node_id: int, voters: dict[int, str], base: Path, rebalance_s: float) -> None:
        self.node_id, self.voters, self.base, self.rebalance_s = node_id, voters, base, rebalance_s
        self.quorum: MetadataQuorum | None = None
        self.controller: QuorumController | None = None
        self.lifecycle: BrokerLifecycle | None = None

    def start(self, *, with_broker: bool = True) -> Node:
        self.quorum = MetadataQuorum(
            self.node_id,
            self.voters,
            self.base / f"node{self.node_id}",
            command_timeout_s=5.0,
            raft_min_timeout_s=0.3,
            raft_max_timeout_s=0.6,
        )
        self.quorum.start()
        self.controller = QuorumController(
            self.quorum, session_timeout_ms=SESSION_MS, imbalance_check_interval_s=self.rebalance_s
        )
        self.controller.start()
        if with_broker:
            self.lifecycle = BrokerLifecycle(
                self.quorum, "127.0.0.1", 9000 + self.node_id, heartbeat_interval_ms=HEARTBEAT_MS
            )
            self.lifecycle.start()
        return self

    def close(self, controlled_shutdown: bool = False, resign: bool = True) -> None:
        if self.lifecycle is not None:
            self.lifecycle.close(controlled_shutdown=controlled_shutdown)
        if self.quorum is not None:
            self.quorum.close(resign=resign)
        if self.controller is not None:
            self.controller.close()
        self.quorum = self.controller = self.lifecycle = None

    @property
    def q(self) -> MetadataQuorum:
        assert self.quorum is not None
        return self.quorum


class Cluster:
    def __init__(self, base: Path, rebalance_s: float = 300.0) -> None:
        self.voters = {node: f"127.0.0.1:{free_port()}" for node in (1, 2, 3)}
        self.nodes = {node: Node(node, self.voters, base, rebalance_s) for node in self.voters}

    def start(self, *, with_brokers: bool = True) -> Cluster:
        for node in self.nodes.values():
            node.start(with_broker=with_brokers)
        for node in self.nodes.values():
            node.q.wait_ready(15)
        return self

    def running(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.quorum is not None]

    def leader(self) -> Node:
        found: list[Node] = []
        wait_for(lambda: bool(found.extend(n for n in self.running() if n.q.is_leader()) or found), what="a leader")
        return found[0]

    def wait_live(self, count: int = 3) -> None:
        node = self.running()[0]
        wait_for(lambda: len(node.q.snapshot().live_brokers()) == count, what=f"{count} live brokers")

    def close(self) -> None:
        for node in self.nodes.values():
            node.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    started = Cluster(tmp_path).start()
    try:
        yield started
    finally:
        started.close()
