"""ReplicaManager with a real TopicStore and hand-made metadata: a metadata state older than the one applied never
undoes it, whichever thread passes it (the activation with an earlier snapshot, the re-application when the node is
back in touch with the quorum), as Kafka's ReplicaManager applies metadata in order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import TracebackType

import pytest

from hub.log.cluster.metadata import BrokerInfo, ClusterMetadata, PartitionState, TopicState
from hub.log.cluster.replica_manager import ReplicaManager, ReplicationSettings
from hub.log.errors import NotLeaderOrFollowerError
from hub.log.store import TopicStore
from tests.harness.process import free_port

NODE = 1


class HandOverLock:
    """The manager's lock, which gives another thread's work (``after_release``, run once) its turn right after
    the lock is next wholly released: the interleaving a race needs, made certain."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self.after_release: Callable[[], None] | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        self._depth += 1

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._depth -= 1
        released = self._depth == 0
        self._lock.release()
        hook = self.after_release
        if released and hook is not None:
            self.after_release = None
            hook()


class NoQuorum:
    def alter_partition(self, *args: object) -> PartitionState:
        raise AssertionError("no ISR change expected")


class Touch:
    def __init__(self) -> None:
        self.in_touch = True

    def __call__(self) -> bool:
        return self.in_touch


def _metadata(offset: int, leader: int, epoch: int) -> ClusterMetadata:
    brokers = {node: BrokerInfo(node, "127.0.0.1", free_port(), None, "i", False) for node in (1, 2)}
    state = PartitionState(replicas=(1, 2), isr=(leader,), leader=leader, leader_epoch=epoch, partition_epoch=epoch)
    topic = TopicState("t", "0" * 32, {}, (state,))
    return ClusterMetadata(cluster_id="c", brokers=brokers, topics={"t": topic}, offset=offset)


LEADS = _metadata(5, leader=NODE, epoch=1)
MOVED = _metadata(9, leader=2, epoch=2)  # the controller moved the leadership to node 2


@pytest.fixture
def touch() -> Touch:
    return Touch()


@pytest.fixture
def manager(store: TopicStore, touch: Touch) -> Iterator[ReplicaManager]:
    replicas = ReplicaManager(store, NoQuorum(), ReplicationSettings(NODE), in_touch=touch)
    yield replicas
    replicas.close()


def _leads(manager: ReplicaManager) -> bool:
    try:
        manager.leadership("t", 0)
    except NotLeaderOrFollowerError:
        return False
    return True


def test_activation_with_an_older_snapshot_applies_the_newer_state_passed_meanwhile(manager: ReplicaManager) -> None:
    # The catch-up thread read the snapshot LEADS; the dispatcher then passed MOVED, before the manager was active.
    manager.on_metadata(LEADS, MOVED)
    manager.activate(LEADS)
    assert manager.metadata is MOVED
    assert not _leads(manager)


def test_back_in_touch_does_not_undo_a_newer_state_applied_meanwhile(manager: ReplicaManager, touch: Touch) -> None:
    manager.activate(LEADS)
    assert _leads(manager)
    manager._check_touch()  # in touch once
    touch.in_touch = False
    manager._check_touch()
    assert manager.out_of_touch
    touch.in_touch = True
    lock = HandOverLock()
    manager._lock = lock  # type: ignore[assignment]
    # The dispatcher applies MOVED as soon as the maintenance thread, back in touch, first lets go of the lock.
    lock.after_release = lambda: manager.on_metadata(LEADS, MOVED)
    manager._check_touch()
    assert lock.after_release is None  # the interleaving happened
    assert not manager.out_of_touch
    assert manager.metadata is MOVED
    assert not _leads(manager)  # not leading in the stale epoch 1


class RecordingQuorum:
    def __init__(self) -> None:
        self.isr_changes: list[list[int]] = []

    def alter_partition(
        self, topic: str, partition: int, leader_id: int, leader_epoch: int, partition_epoch: int, new_isr: list[int]
    ) -> PartitionState:
        self.isr_changes.append(new_isr)
        return PartitionState((1, 2), tuple(new_isr), leader_id, leader_epoch, partition_epoch + 1)


def _with_broker_2(metadata: ClusterMetadata, *, fenced: bool, offset: int) -> ClusterMetadata:
    brokers = {**metadata.brokers, 2: replace(metadata.brokers[2], fenced=fenced)}
    return replace(metadata, brokers=brokers, offset=offset)


def test_a_fenced_follower_that_caught_up_is_not_proposed_for_the_isr(store: TopicStore) -> None:
    quorum = RecordingQuorum()
    manager = ReplicaManager(store, quorum, ReplicationSettings(NODE))
    try:
        # Node 2 is in controlled shutdown (fenced) and still fetching: asking to add it would only be refused.
        manager.activate(_with_broker_2(LEADS, fenced=True, offset=5))
        manager.follower_fetched("t", 0, 2, 0, 1)
        manager._isr_changes.submit(lambda: None).result()  # every ISR change asked so far has been made
        assert quorum.isr_changes == []
        manager.on_metadata(LEADS, _with_broker_2(LEADS, fenced=False, offset=6))
        manager.follower_fetched("t", 0, 2, 0, 1)
        manager._isr_changes.submit(lambda: None).result()
        assert quorum.isr_changes == [[1, 2]]
    finally:
        manager.close()


def test_metadata_applied_while_out_of_touch_does_not_make_the_node_lead(manager: ReplicaManager, touch: Touch) -> None:
    moves: list[tuple[str, int, int | None]] = []
    manager.on_leadership = lambda topic, partition, epoch: moves.append((topic, partition, epoch))
    manager.activate(LEADS)
    manager._check_touch()
    touch.in_touch = False
    manager._check_touch()
    assert moves == [("t", 0, 1), ("t", 0, None)]
    # A change that still names this node the leader (here: another broker's configs) arrives meanwhile.
    manager.on_metadata(LEADS, replace(LEADS, offset=6, broker_configs={"2": {"log.retention.ms": "1000"}}))
    assert moves == [("t", 0, 1), ("t", 0, None)]
    touch.in_touch = True
    manager._check_touch()
    assert moves == [("t", 0, 1), ("t", 0, None), ("t", 0, 1)]
    assert _leads(manager)
