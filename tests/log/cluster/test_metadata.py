"""Unit tests of the metadata transitions: pure functions, no quorum."""

from __future__ import annotations

import pytest

from hub.log.cluster import metadata as md
from hub.log.cluster import transitions as tr
from hub.log.cluster.codec import decode_command, encode_command, state_from_json, state_to_json
from hub.log.cluster.metadata import NO_LEADER, ClusterMetadata, PartitionState
from hub.log.errors import (
    ElectionNotNeededError,
    FencedLeaderEpochError,
    IneligibleReplicaError,
    InvalidReplicationFactorError,
    InvalidRequestError,
    InvalidUpdateVersionError,
    NoReassignmentInProgressError,
    PreferredLeaderNotAvailableError,
    QuorumStorageError,
    StaleBrokerEpochError,
    TopicExistsError,
)


def cluster(nodes: int = 3) -> ClusterMetadata:
    state = ClusterMetadata()
    for node in range(1, nodes + 1):
        state = md.register_broker(state, node, "127.0.0.1", 9000 + node, None, f"inc{node}")
        state = md.heartbeat(state, node, f"inc{node}", want_fence=False)
    return state


def with_topic(state: ClusterMetadata, partitions: int = 3, factor: int = 3, **configs: str) -> ClusterMetadata:
    state, _ = tr.create_topic(state, "t", "0" * 32, partitions, factor, None, configs, start=0)
    return state


def part(state: ClusterMetadata, index: int = 0) -> PartitionState:
    return state.topics["t"].partitions[index]


def test_registered_broker_starts_fenced_and_a_heartbeat_unfences_it() -> None:
    state = md.register_broker(ClusterMetadata(), 1, "h", 1, None, "a")
    assert state.brokers[1].fenced
    assert not md.heartbeat(state, 1, "a", want_fence=False).brokers[1].fenced
    with pytest.raises(StaleBrokerEpochError):
        md.heartbeat(state, 1, "old", want_fence=False)


def test_assignment_spreads_leaders_round_robin_over_live_brokers() -> None:
    state = with_topic(cluster(), partitions=6)
    leaders = [p.leader for p in state.topics["t"].partitions]
    assert sorted(leaders) == [1, 1, 2, 2, 3, 3]
    for p in state.topics["t"].partitions:
        assert len(set(p.replicas)) == 3
        assert p.isr == p.replicas
        assert p.leader == p.replicas[0]
    with pytest.raises(InvalidReplicationFactorError):
        with_topic(cluster(2), factor=3)
    with pytest.raises(TopicExistsError):
        with_topic(state)


def test_fencing_moves_leadership_and_shrinks_the_isr_with_epoch_bumps() -> None:
    state = with_topic(cluster(), partitions=1)
    before = part(state)
    fenced = md.fence_broker(state, before.leader)
    after = part(fenced)
    assert after.leader != before.leader
    assert after.leader in before.isr
    assert before.leader not in after.isr
    assert (after.leader_epoch, after.partition_epoch) == (1, 1)


def test_last_isr_member_fenced_goes_offline_keeping_its_isr_and_leads_again_when_it_returns() -> None:
    state, _ = tr.create_topic(cluster(), "t", "0" * 32, 1, 1, [[2]], {}, start=0)
    offline = md.fence_broker(state, 2)
    assert (part(offline).leader, part(offline).isr) == (NO_LEADER, (2,))
    back = md.heartbeat(offline, 2, "inc2", want_fence=False)
    assert part(back).leader == 2
    assert part(back).leader_epoch == 2


def test_unclean_topic_elects_a_live_replica_out_of_the_isr() -> None:
    state, _ = tr.create_topic(cluster(), "t", "0" * 32, 1, 2, [[1, 2]], {}, start=0)
    state, _ = tr.alter_partition(state, "t", 0, 1, 0, 0, [1])
    assert md.fence_broker(state, 1).topics["t"].partitions[0].leader == NO_LEADER
    unclean = md.fence_broker(state, 1, unclean_default=True)
    assert (part(unclean).leader, part(unclean).isr) == (2, (2,))


def test_alter_partition_checks_epochs_leader_and_eligibility() -> None:
    state = with_topic(cluster(), partitions=1)
    p = part(state)
    follower = p.replicas[1]
    state, shrunk = tr.alter_partition(state, "t", 0, p.leader, 0, 0, [r for r in p.isr if r != follower])
    assert shrunk.partition_epoch == 1
    assert shrunk.leader_epoch == 0
    assert follower not in shrunk.isr
    with pytest.raises(InvalidUpdateVersionError):
        tr.alter_partition(state, "t", 0, p.leader, 0, 0, p.isr)
    fenced_epoch = md.fence_broker(state, p.leader)
    with pytest.raises(FencedLeaderEpochError):
        tr.alter_partition(fenced_epoch, "t", 0, p.leader, 0, 1, p.isr)
    with pytest.raises(InvalidRequestError):
        tr.alter_partition(state, "t", 0, follower, 0, 1, p.isr)
    with pytest.raises(IneligibleReplicaError):
        tr.alter_partition(md.fence_broker(state, follower), "t", 0, p.leader, 0, 1, p.isr)
    _, grown = tr.alter_partition(state, "t", 0, p.leader, 0, 1, p.isr)
    assert grown.isr == p.isr
    assert grown.partition_epoch == 2


def test_preferred_election_and_its_errors() -> None:
    state = with_topic(cluster(), partitions=1)
    preferred = part(state).preferred_leader
    _, results = tr.elect_leaders(state, [("t", 0)], unclean=False)
    assert isinstance(results[("t", 0)], ElectionNotNeededError)
    moved = md.fence_broker(state, preferred)
    _, results = tr.elect_leaders(moved, [("t", 0)], unclean=False)
    assert isinstance(results[("t", 0)], PreferredLeaderNotAvailableError)
    back = md.heartbeat(moved, preferred, f"inc{preferred}", want_fence=False)
    assert part(back).leader != preferred  # unfencing alone does not take leadership back
    back, _ = tr.alter_partition(
        back,
        "t",
        0,
        part(back).leader,
        part(back).leader_epoch,
        part(back).partition_epoch,
        (*part(back).isr, preferred),
    )
    elected, results = tr.elect_leaders(back, None, unclean=False)
    assert results == {("t", 0): None}
    assert part(elected).leader == preferred


def test_reassignment_completes_when_adding_replicas_join_the_isr() -> None:
    state, _ = tr.create_topic(cluster(4), "t", "0" * 32, 1, 2, [[1, 2]], {}, start=0)
    state, results = tr.alter_reassignments(state, {("t", 0): [3, 4]}, unclean_default=False)
    assert results == {("t", 0): None}
    p = part(state)
    assert (p.replicas, p.adding, p.removing, p.leader) == ((3, 4, 1, 2), (3, 4), (1, 2), 1)
    assert tr.list_reassignments(state) == {("t", 0): p}
    state, done = tr.alter_partition(state, "t", 0, 1, p.leader_epoch, p.partition_epoch, [1, 2, 3, 4])
    assert (done.replicas, done.isr, done.adding, done.removing) == ((3, 4), (3, 4), (), ())
    assert done.leader == 3
    assert done.leader_epoch == p.leader_epoch + 1
    _, results = tr.alter_reassignments(state, {("t", 0): None}, unclean_default=False)
    assert isinstance(results[("t", 0)], NoReassignmentInProgressError)


def test_cancelled_reassignment_reverts_to_the_original_replicas() -> None:
    state, _ = tr.create_topic(cluster(3), "t", "0" * 32, 1, 2, [[1, 2]], {}, start=0)
    state, _ = tr.alter_reassignments(state, {("t", 0): [1, 3]}, unclean_default=False)
    state, _ = tr.alter_reassignments(state, {("t", 0): None}, unclean_default=False)
    assert (part(state).replicas, part(state).adding, part(state).removing) == ((1, 2), (), ())


def test_topic_configs_are_checked_and_altered_incrementally() -> None:
    state = with_topic(cluster(), **{"retention.ms": "1000"})
    state = tr.alter_topic_config(state, "t", {"unclean.leader.election.enable": "true", "retention.ms": None})
    assert state.topics["t"].configs == {"unclean.leader.election.enable": "true"}
    with pytest.raises(Exception, match="unknown topic config"):
        tr.alter_topic_config(state, "t", {"no.such": "1"})


def test_offline_replicas_are_fenced_or_unregistered() -> None:
    state, _ = tr.create_topic(cluster(3), "t", "0" * 32, 1, 3, [[1, 2, 3]], {}, start=0)
    assert md.offline_replicas(md.fence_broker(state, 2)) == {2}
    assert md.offline_replicas(state, part(state)) == frozenset()


def test_codec_round_trips_state_and_refuses_unknown_versions() -> None:
    state = with_topic(cluster())
    assert state_from_json(state_to_json(state)) == state
    record = encode_command("barrier", {}, "cid")
    assert decode_command(record) == ("barrier", {}, "cid")
    with pytest.raises(QuorumStorageError, match="version 9 is unknown"):
        decode_command(record[:10] + bytes([9]) + record[11:])


def test_cluster_settings_with_kafka_names() -> None:
    from hub.log.cluster.settings import cluster_settings
    from hub.log.errors import InvalidConfigError

    assert cluster_settings({"num.partitions": "3"}) is None  # zero configuration: a single node
    settings = cluster_settings(
        {
            "node.id": "2",
            "controller.quorum.voters": "1@a:1,2@b:2,3@[::1]:3",
            "controller.quorum.password": "pw",
            "broker.session.timeout.ms": "1500",
            "advertised.listeners": "PLAINTEXT://h2:9092",
            "replica.lag.time.max.ms": "1000",
            "leader.imbalance.per.broker.percentage": "20",
        }
    )
    assert settings is not None
    assert dict(settings.voters) == {1: ("a", 1), 2: ("b", 2), 3: ("::1", 3)}
    assert (settings.node_id, settings.session_timeout_ms, settings.advertised) == (2, 1500, ("h2", 9092))
    assert settings.replication.replica_lag_time_max_ms == 1000
    assert settings.replication.node_id == 2
    assert settings.leader_imbalance_percentage == 20
    assert settings.default_replication_factor == 3  # min(3, voters), not Kafka's 1
    assert "pw" not in repr(settings)
    for bad, message in [
        ({"node.id": "1"}, "only apply to a cluster"),
        ({"controller.quorum.voters": "1@a:1"}, "node.id is not"),
        ({"controller.quorum.voters": "1@nohostport", "node.id": "1"}, "NODE_ID@HOST:PORT"),
        ({"controller.quorum.voters": "1@a:1", "node.id": "-4"}, "negative"),
        ({"controller.quorum.voters": "1@a:1,1@b:2", "node.id": "1"}, "twice"),
        ({"controller.quorum.voters": "1@a:1", "node.id": "1", "broker.heartbeat.interval.ms": "3000"}, "less than"),
        ({"controller.quorum.voters": "1@a:1", "node.id": "x"}, "invalid integer"),
    ]:
        with pytest.raises(InvalidConfigError, match=message):
            cluster_settings(bad)
