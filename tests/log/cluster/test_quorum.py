"""Integration tests: three MetadataQuorum members (with controllers and broker lifecycles) in one process."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from hub.log.cluster.codec import COMMAND_VERSION, MAGIC_COMMAND, MAGIC_SNAPSHOT
from hub.log.cluster.metadata import ClusterMetadata
from hub.log.cluster.quorum import MetadataQuorum
from hub.log.cluster.storage import JOURNAL_FILE, METADATA_DIR, SNAPSHOT_FILE
from hub.log.errors import QuorumStorageError, TopicExistsError
from tests.harness.process import free_port
from tests.log.cluster.conftest import Cluster, wait_for

pytestmark = pytest.mark.integration


def test_commands_are_replicated_and_listeners_see_every_change_in_order(cluster: Cluster) -> None:
    cluster.wait_live()
    seen: list[tuple[int, int]] = []
    follower = next(n for n in cluster.running() if not n.q.is_leader())
    follower.q.add_listener(lambda old, new: seen.append((old.offset, new.offset)))
    topic = follower.q.create_topic("orders", partitions=3, replication_factor=3)
    assert len(topic.partitions) == 3
    with pytest.raises(TopicExistsError):
        cluster.leader().q.create_topic("orders", partitions=1)
    follower.q.alter_topic_config("orders", {"retention.ms": "1000"})
    for node in cluster.running():
        wait_for(lambda n=node: "orders" in n.q.snapshot().topics, what="replication")
    wait_for(lambda: len(seen) >= 2, what="listener calls")
    assert all(old < new for old, new in seen)
    assert [new for _, new in seen] == sorted(new for _, new in seen)
    assert all(seen[i][1] == seen[i + 1][0] for i in range(len(seen) - 1))
    ids = {n.q.snapshot().cluster_id for n in cluster.running()}
    assert len(ids) == 1
    assert len(ids.pop()) == 22
    status = follower.q.quorum_status()
    assert status["leader_id"] == cluster.leader().node_id
    assert status["leader_epoch"] >= 1
    assert [v["node_id"] for v in status["voters"]] == [1, 2, 3]


def test_closed_raft_leader_is_replaced_and_its_broker_fenced_then_unfenced_on_return(cluster: Cluster) -> None:
    cluster.wait_live()
    cluster.running()[0].q.create_topic("t", partitions=3, replication_factor=3)
    old = cluster.leader()
    led_before = [i for i, p in enumerate(old.q.snapshot().topics["t"].partitions) if p.leader == old.node_id]
    old.close(resign=False)  # as if it crashed
    new = cluster.leader()
    assert new.node_id != old.node_id
    wait_for(lambda: new.q.snapshot().brokers[old.node_id].fenced, what="fencing after session timeout")
    state = new.q.snapshot()
    assert state.controller_id == new.node_id
    for index in led_before:
        part = state.topics["t"].partitions[index]
        assert part.leader not in (old.node_id, -1)
        assert old.node_id not in part.isr
    old.start()
    wait_for(lambda: not new.q.snapshot().brokers[old.node_id].fenced, what="unfencing on return")
    old.q.wait_ready(10)
    wait_for(lambda: old.q.snapshot().topics == new.q.snapshot().topics, what="the returned node catching up")


def test_closing_raft_leader_hands_leadership_over(cluster: Cluster) -> None:
    old = cluster.leader()
    old.close()
    assert cluster.leader().node_id != old.node_id
    cluster.running()[0].q.wait_ready(5)


def test_controlled_shutdown_moves_leaderships_before_the_node_goes(cluster: Cluster) -> None:
    cluster.wait_live()
    cluster.leader().q.create_topic("t", partitions=3, replication_factor=3)
    going = next(n for n in cluster.running() if not n.q.is_leader())
    assert going.lifecycle is not None
    going.lifecycle.close(controlled_shutdown=True)
    state = going.q.snapshot()
    assert state.brokers[going.node_id].fenced
    assert all(p.leader != going.node_id for p in state.topics["t"].partitions)


def test_preferred_leaders_are_restored(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path, rebalance_s=0.5).start()
    try:
        cluster.wait_live()
        leader = cluster.leader()
        topic = leader.q.create_topic("t", partitions=1, assignments=[[2, 1, 3]])
        assert topic.partitions[0].leader == 2
        leader.q.fence_broker(2)
        assert leader.q.snapshot().topics["t"].partitions[0].leader != 2
        # Broker 2's heartbeats unfence it; its leader would let it back into the ISR; then the controller acts.
        wait_for(lambda: not leader.q.snapshot().brokers[2].fenced, what="unfencing")
        part = leader.q.snapshot().topics["t"].partitions[0]
        leader.q.alter_partition("t", 0, part.leader, part.leader_epoch, part.partition_epoch, [*part.isr, 2])
        wait_for(lambda: leader.q.snapshot().topics["t"].partitions[0].leader == 2, what="the preferred leader")
    finally:
        cluster.close()


def test_state_survives_a_restart_of_every_node(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path).start(with_brokers=False)
    leader = cluster.leader().q
    for node in (1, 2, 3):
        leader.register_broker(node, "127.0.0.1", 9000 + node, f"inc{node}")
        leader.heartbeat(node, f"inc{node}")
    leader.create_topic("kept", partitions=2, replication_factor=3, configs={"retention.ms": "5000"})
    before = leader.snapshot()
    for node in cluster.running():
        wait_for(lambda n=node: n.q.snapshot().topics == before.topics, what="replication")
    cluster.close()
    again = Cluster(tmp_path)
    again.voters.update(cluster.voters)
    again.nodes = cluster.nodes
    try:
        again.start(with_brokers=False)
        for node in again.running():
            state: ClusterMetadata = node.q.snapshot()
            assert (state.cluster_id, state.topics, state.brokers) == (before.cluster_id, before.topics, before.brokers)
    finally:
        again.close()


def test_compacted_log_restores_from_the_snapshot(tmp_path: Path) -> None:
    voters = {1: f"127.0.0.1:{free_port()}"}
    quorum = MetadataQuorum(1, voters, tmp_path, log_compaction_min_entries=10)
    quorum.start()
    try:
        quorum.wait_ready(10)
        quorum.register_broker(1, "127.0.0.1", 9001, "inc")
        quorum.heartbeat(1, "inc")
        for i in range(30):
            quorum.create_topic(f"t{i}")
        wait_for(lambda: (tmp_path / METADATA_DIR / "snapshot").exists(), what="a snapshot")
        before = quorum.snapshot()
    finally:
        quorum.close()
    reopened = MetadataQuorum(1, voters, tmp_path)
    reopened.start()
    try:
        reopened.wait_ready(10)
        assert reopened.snapshot().topics == before.topics
    finally:
        reopened.close()


def test_unknown_journal_version_and_corrupt_journal_are_refused(tmp_path: Path) -> None:
    voters = {1: "127.0.0.1:1"}
    journal = tmp_path / METADATA_DIR / JOURNAL_FILE
    journal.parent.mkdir(parents=True)
    header = b"PYSYNCOBJ".ljust(24, b"\0") + b"0.3.17".ljust(8, b"\0")
    journal.write_bytes(header + struct.pack("<II", 7, 40))
    with pytest.raises(QuorumStorageError, match="journal format version 7 is unknown"):
        MetadataQuorum(1, voters, tmp_path).start()
    journal.write_bytes(header + struct.pack("<II", 1, 60) + struct.pack("<I", 99) + b"\0" * 16)
    with pytest.raises(QuorumStorageError, match="corrupt"):
        MetadataQuorum(1, voters, tmp_path).start()
    journal.write_bytes(b"garbage")
    with pytest.raises(QuorumStorageError, match="not a metadata journal"):
        MetadataQuorum(1, voters, tmp_path).start()


def test_quorum_with_a_password_replicates(tmp_path: Path) -> None:
    voters = {node: f"127.0.0.1:{free_port()}" for node in (1, 2, 3)}
    quorums = [
        MetadataQuorum(node, voters, tmp_path / str(node), password="correct horse battery staple") for node in voters
    ]
    for quorum in quorums:
        quorum.start()
    try:
        for quorum in quorums:
            quorum.wait_ready(15)
        quorums[0].register_broker(1, "127.0.0.1", 9001, "inc")
        for quorum in quorums:
            wait_for(lambda q=quorum: 1 in q.snapshot().brokers, what="replication")
    finally:
        for quorum in quorums:
            quorum.close()


def test_stored_commands_and_snapshots_of_an_unknown_version_are_refused(tmp_path: Path) -> None:
    voters = {1: f"127.0.0.1:{free_port()}"}
    quorum = MetadataQuorum(1, voters, tmp_path, log_compaction_min_entries=4)
    quorum.start()
    try:
        quorum.wait_ready(10)
        quorum.register_broker(1, "127.0.0.1", 9001, "inc")
        for _ in range(6):
            quorum.heartbeat(1, "inc")
        wait_for(lambda: (tmp_path / METADATA_DIR / SNAPSHOT_FILE).exists(), what="a snapshot")
        quorum.register_broker(1, "127.0.0.1", 9001, "inc")
    finally:
        quorum.close()
    directory = tmp_path / METADATA_DIR
    snapshot = directory / SNAPSHOT_FILE
    good = snapshot.read_bytes()
    snapshot.write_bytes(MAGIC_SNAPSHOT + bytes([9]) + good[len(MAGIC_SNAPSHOT) + 1 :])
    with pytest.raises(QuorumStorageError, match="snapshot format version 9 is unknown"):
        MetadataQuorum(1, voters, tmp_path).start()
    snapshot.write_bytes(good)
    journal = directory / JOURNAL_FILE
    stored = journal.read_bytes()
    current = MAGIC_COMMAND + bytes([COMMAND_VERSION])
    assert current in stored
    journal.write_bytes(stored.replace(current, MAGIC_COMMAND + b"\x09"))
    with pytest.raises(QuorumStorageError, match="command format version 9 is unknown"):
        MetadataQuorum(1, voters, tmp_path).start()
    journal.write_bytes(stored)
    with pytest.raises(QuorumStorageError, match="belongs to node 1, not node 2"):
        MetadataQuorum(2, {2: voters[1]}, tmp_path).start()
