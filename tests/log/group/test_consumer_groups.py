"""The consumer group protocol (KIP-848) in the GroupCoordinator: joining, epochs, revocation before assignment,
leaving, session and rebalance expiry, fencing, static members, bad requests, topic changes, offsets, and how
consumer groups and classic groups share the group ids."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.errors import InvalidConfigError
from hub.log.group import CommittedOffset, CoordinatorConfig, GroupCoordinator
from hub.log.group.consumer_heartbeat import ConsumerHeartbeat, ConsumerSettings, HeartbeatResult
from hub.log.node import node_config
from tests.log.group.test_coordinator import PROTOCOLS, MemoryOffsetsLog

SETTINGS = ConsumerSettings(heartbeat_interval_ms=500, session_timeout_ms=10_000, max_size=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Topics:
    """The topic source: name -> (id, partitions)."""

    def __init__(self) -> None:
        self.topics: dict[str, tuple[str, int]] = {}

    def create(self, name: str, partitions: int) -> str:
        topic_id = uuid.uuid4().hex
        self.topics[name] = (topic_id, partitions)
        return topic_id

    def __call__(self) -> dict[str, tuple[str, int]]:
        return dict(self.topics)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def topics() -> Topics:
    source = Topics()
    source.create("t", 4)
    return source


@pytest.fixture
def coordinator(clock: Clock, topics: Topics) -> Iterator[GroupCoordinator]:
    config = CoordinatorConfig(
        min_session_timeout_ms=10, initial_rebalance_delay_ms=0, tick_ms=10_000, consumer=SETTINGS
    )
    started = GroupCoordinator(MemoryOffsetsLog(), config, clock=clock, topics=topics)
    started.start()
    yield started
    started.close()


class Member:
    """A consumer-protocol client as the coordinator sees it: it owns what its last answer assigned."""

    def __init__(self, c: GroupCoordinator, topics: Topics, member_id: str, subscribe: tuple[str, ...] = ("t",)):
        self.c, self.topics, self.member_id, self.subscribe = c, topics, member_id, subscribe
        self.epoch = 0
        self.owned: dict[str, tuple[int, ...]] = {}  # topic id -> partitions

    def join(self, **extra: object) -> HeartbeatResult:
        request = ConsumerHeartbeat(
            "g", self.member_id, 0, rebalance_timeout_ms=5_000, subscribed_topic_names=self.subscribe, owned=()
        )
        return self._send(replace(request, **extra))  # type: ignore[arg-type]

    def beat(self, epoch: int | None = None, **extra: object) -> HeartbeatResult:
        owned = tuple(self.owned.items())
        request = ConsumerHeartbeat("g", self.member_id, self.epoch if epoch is None else epoch, owned=owned)
        return self._send(replace(request, **extra))  # type: ignore[arg-type]

    def _send(self, request: ConsumerHeartbeat) -> HeartbeatResult:
        result = self.c.consumer_group_heartbeat(request)
        if result.error is ErrorCode.NONE:
            self.epoch = result.member_epoch
            if result.assignment is not None:
                self.owned = {topic_id: parts for topic_id, parts in result.assignment.items() if parts}
        return result

    def partitions(self, name: str = "t") -> set[int]:
        return set(self.owned.get(self.topics.topics[name][0], ()))


def _described_holdings(c: GroupCoordinator) -> dict[str, set[tuple[str, int]]]:
    [group] = c.describe_consumer_groups(["g"])
    return {m.member_id: {(a.topic_name, p) for a in m.assignment for p in a.partitions} for m in group.members}


def test_a_lone_member_gets_every_partition_at_epoch_one(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1 = Member(coordinator, topics, "m1")
    answer = m1.join()
    assert answer.error is ErrorCode.NONE
    assert (answer.member_id, answer.member_epoch, answer.heartbeat_interval_ms) == ("m1", 1, 500)
    assert m1.partitions() == {0, 1, 2, 3}
    assert m1.beat().assignment is None  # unchanged: not sent again
    [group] = coordinator.describe_consumer_groups(["g"])
    assert (group.state, group.group_epoch, group.assignment_epoch, group.assignor_name) == ("Stable", 1, 1, "uniform")


def test_partitions_are_revoked_before_they_are_assigned(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1, m2 = Member(coordinator, topics, "m1"), Member(coordinator, topics, "m2")
    m1.join()
    answer = m2.join()
    # m2 is at the new epoch but gets nothing m1 still holds
    assert answer.member_epoch == 2
    assert m2.partitions() == set()
    assert coordinator.describe_consumer_groups(["g"])[0].state == "Reconciling"
    # m1 is told to give up two partitions; it keeps its epoch until it has
    answer = m1.beat()
    assert answer.member_epoch == 1
    assert len(m1.partitions()) == 2
    kept = m1.partitions()
    still_owned = {topics.topics["t"][0]: (0, 1, 2, 3)}
    assert m1.beat(owned=tuple(still_owned.items())).member_epoch == 1  # says it still owns them: waits
    assert m2.beat().assignment is None
    assert m2.partitions() == set()  # not released yet
    assert m1.beat().member_epoch == 2  # now it owns only what it keeps
    assert m2.beat().member_epoch == 2
    assert m2.partitions() == {0, 1, 2, 3} - kept
    assert coordinator.describe_consumer_groups(["g"])[0].state == "Stable"
    holdings = _described_holdings(coordinator)
    assert holdings["m1"].isdisjoint(holdings["m2"])


def test_a_leaving_members_partitions_move_to_the_others(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1, m2 = Member(coordinator, topics, "m1"), Member(coordinator, topics, "m2")
    m1.join(), m2.join(), m1.beat(), m1.beat(), m2.beat()
    assert len(m1.partitions()) == len(m2.partitions()) == 2
    left = m2.beat(epoch=-1)
    assert (left.error, left.member_epoch) == (ErrorCode.NONE, -1)
    m1.beat()
    assert m1.partitions() == {0, 1, 2, 3}
    assert m1.epoch == 3
    assert Member(coordinator, topics, "m2").beat(epoch=3).error is ErrorCode.UNKNOWN_MEMBER_ID


def test_sessions_and_revocations_expire(coordinator: GroupCoordinator, topics: Topics, clock: Clock) -> None:
    m1, m2 = Member(coordinator, topics, "m1"), Member(coordinator, topics, "m2")
    m1.join(), m2.join()
    m1.beat()  # told to revoke two partitions within its rebalance timeout (5 s)
    clock.now += 6
    m2.beat()
    coordinator.tick()
    assert m1.beat().error is ErrorCode.UNKNOWN_MEMBER_ID
    m2.beat()
    assert m2.partitions() == {0, 1, 2, 3}
    clock.now += 11  # past the session timeout
    coordinator.tick()
    [group] = coordinator.describe_consumer_groups(["g"])
    assert (group.state, group.members) == ("Empty", ())


def test_fencing_by_member_epoch(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1, m2 = Member(coordinator, topics, "m1"), Member(coordinator, topics, "m2")
    m1.join()
    assert m1.beat(epoch=5).error is ErrorCode.FENCED_MEMBER_EPOCH  # ahead of the coordinator
    m2.join(), m1.beat(), m1.beat()
    assert m1.epoch == 2
    # the previous epoch with a subset of the partitions is accepted (the answer may have been lost) …
    assert m1.beat(epoch=1).error is ErrorCode.NONE
    # … anything older, or more partitions than assigned, is fenced
    assert m1.beat(epoch=0, rebalance_timeout_ms=5_000).error is ErrorCode.INVALID_REQUEST
    everything = ((topics.topics["t"][0], (0, 1, 2, 3)),)
    fenced = m1.beat(epoch=1, owned=everything)
    assert fenced.error is ErrorCode.FENCED_MEMBER_EPOCH
    assert "rejoin" in (fenced.message or "")
    # a fenced member rejoins with epoch 0 and its own member id
    m1.owned = {}
    assert m1.join().error is ErrorCode.NONE


def test_bad_requests_get_kafkas_errors(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1 = Member(coordinator, topics, "m1")
    assert m1.join(group_id="").error is ErrorCode.INVALID_REQUEST
    assert m1.join(group_id="  ").error is ErrorCode.INVALID_REQUEST  # Kafka trims
    assert m1.join(subscribed_topic_names=None, subscribed_topic_regex="").error is ErrorCode.INVALID_REQUEST
    assert m1.beat(epoch=-1, group_id="never-seen").error is ErrorCode.GROUP_ID_NOT_FOUND
    assert m1.join(server_assignor="sticky").error is ErrorCode.UNSUPPORTED_ASSIGNOR
    assert m1.join(rebalance_timeout_ms=-1).error is ErrorCode.INVALID_REQUEST
    assert m1.join(subscribed_topic_names=()).error is ErrorCode.INVALID_REQUEST
    assert m1.join(owned=None).error is ErrorCode.INVALID_REQUEST
    assert m1.join(subscribed_topic_regex="t(", subscribed_topic_names=None).error is (
        ErrorCode.INVALID_REGULAR_EXPRESSION
    )
    assert m1.join(instance_id="").error is ErrorCode.INVALID_REQUEST
    assert m1.beat(epoch=-3).error is ErrorCode.INVALID_REQUEST
    assert Member(coordinator, topics, "").join().error is ErrorCode.INVALID_REQUEST  # v1: the client names itself
    generated = Member(coordinator, topics, "").join(version=0)  # v0: the coordinator names it
    assert generated.error is ErrorCode.NONE
    assert generated.member_id
    assert coordinator.describe_consumer_groups(["g"])[0].members[0].member_id == generated.member_id


def test_a_subscription_to_a_missing_topic_is_assigned_once_it_exists(
    coordinator: GroupCoordinator, topics: Topics
) -> None:
    m1 = Member(coordinator, topics, "m1", subscribe=("later",))
    answer = m1.join()
    assert answer.error is ErrorCode.NONE
    assert answer.assignment == {}
    topics.create("later", 2)
    m1.beat()
    assert m1.partitions("later") == {0, 1}
    topic_id, _ = topics.topics["later"]
    topics.topics["later"] = (topic_id, 3)  # CreatePartitions
    m1.beat()
    assert m1.partitions("later") == {0, 1, 2}
    assert coordinator.describe_consumer_groups(["g"])[0].group_epoch == 3


def test_a_regex_subscription_follows_the_topics_that_match(coordinator: GroupCoordinator, topics: Topics) -> None:
    topics.create("orders-eu", 1)
    m1 = Member(coordinator, topics, "m1", subscribe=())
    m1.join(subscribed_topic_names=None, subscribed_topic_regex="orders-.*")
    assert m1.partitions("orders-eu") == {0}
    assert m1.partitions("t") == set()
    topics.create("orders-us", 1)
    topics.create("my-orders-us", 1)  # the regex must match the whole name
    m1.beat()
    assert m1.partitions("orders-us") == {0}
    assert m1.partitions("my-orders-us") == set()


def test_static_members_come_back_to_their_partitions(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1, m2 = Member(coordinator, topics, "m1"), Member(coordinator, topics, "m2")
    m1.join(instance_id="i1"), m2.join(), m1.beat(instance_id="i1"), m1.beat(instance_id="i1"), m2.beat()
    held = m1.partitions()
    assert len(held) == 2
    assert m1.epoch == 2
    # another process with the same instance id while the first is still there
    assert Member(coordinator, topics, "m3").join(instance_id="i1").error is ErrorCode.UNRELEASED_INSTANCE_ID
    assert m1.beat(instance_id="i2").error is ErrorCode.UNKNOWN_MEMBER_ID  # no member holds that instance id
    assert m2.beat(instance_id="i1").error is ErrorCode.FENCED_INSTANCE_ID  # another member holds it
    assert m2.beat(epoch=-2, instance_id="i1").error is ErrorCode.FENCED_INSTANCE_ID
    assert m1.beat(epoch=-2, instance_id="i1").member_epoch == -2
    back = Member(coordinator, topics, "m1-restarted")
    answer = back.join(instance_id="i1")
    assert answer.error is ErrorCode.NONE
    assert back.partitions() == held
    assert answer.member_epoch == 2
    assert m2.partitions() == {0, 1, 2, 3} - held


def test_a_full_group_refuses_new_members(coordinator: GroupCoordinator, topics: Topics) -> None:
    for name in ("m1", "m2", "m3"):
        assert Member(coordinator, topics, name).join().error is ErrorCode.NONE
    assert Member(coordinator, topics, "m4").join().error is ErrorCode.GROUP_MAX_SIZE_REACHED


def test_the_range_assignor_when_members_ask_for_it(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1 = Member(coordinator, topics, "m1")
    m1.join(server_assignor="range")
    assert coordinator.describe_consumer_groups(["g"])[0].assignor_name == "range"


def test_offset_commits_of_consumer_group_members(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1 = Member(coordinator, topics, "m1")
    m1.join()
    offsets = {("t", 0): CommittedOffset(5)}
    assert coordinator.commit_offsets("g", 1, "m1", offsets, api_version=9) == {("t", 0): ErrorCode.NONE}
    assert coordinator.commit_offsets("g", 0, "m1", offsets, api_version=9) == {("t", 0): ErrorCode.STALE_MEMBER_EPOCH}
    assert coordinator.commit_offsets("g", 1, "nobody", offsets) == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
    assert coordinator.commit_offsets("g", 1, "m1", offsets, api_version=8) == {("t", 0): ErrorCode.UNSUPPORTED_VERSION}
    assert coordinator.commit_offsets("g", -1, "", offsets) == {("t", 0): ErrorCode.UNKNOWN_MEMBER_ID}
    stored = coordinator.fetch_offsets("g")[("t", 0)]
    assert stored is not None
    assert stored.offset == 5
    assert coordinator.check_offset_fetch("g", "m1", 1) is ErrorCode.NONE
    assert coordinator.check_offset_fetch("g", "m1", 0) is ErrorCode.STALE_MEMBER_EPOCH
    assert coordinator.check_offset_fetch("g", None, -1) is ErrorCode.NONE
    m1.beat(epoch=-1)
    # an empty group takes commits from anyone, as in Kafka (an admin resetting offsets)
    assert coordinator.commit_offsets("g", -1, "", {("t", 0): CommittedOffset(7)}) == {("t", 0): ErrorCode.NONE}


def test_group_ids_are_either_classic_or_consumer(coordinator: GroupCoordinator, topics: Topics) -> None:
    Member(coordinator, topics, "m1").join()
    joined = coordinator.join_group("g", "", "consumer", PROTOCOLS, session_timeout_ms=10_000).result(5)
    assert joined.error is ErrorCode.INCONSISTENT_GROUP_PROTOCOL
    classic = coordinator.join_group("classic", "", "consumer", PROTOCOLS, session_timeout_ms=10_000).result(5)
    assert classic.error in (ErrorCode.MEMBER_ID_REQUIRED, ErrorCode.NONE)
    coordinator.join_group("classic", classic.member_id, "consumer", PROTOCOLS, session_timeout_ms=10_000).result(5)
    heartbeat = Member(coordinator, topics, "m9").join(group_id="classic")
    assert heartbeat.error is ErrorCode.GROUP_ID_NOT_FOUND
    listed = {g.group_id: g for g in coordinator.list_groups()}
    assert (listed["g"].group_type, listed["g"].protocol_type, listed["g"].state) == ("consumer", "consumer", "Stable")
    assert listed["classic"].group_type == "classic"
    assert [g.group_id for g in coordinator.list_groups(["stable"])] == ["g"]
    assert coordinator.describe_group("g").state == "Dead"  # not a classic group
    [not_consumer] = coordinator.describe_consumer_groups(["classic"])
    assert not_consumer.error is ErrorCode.GROUP_ID_NOT_FOUND
    assert coordinator.delete_groups(["g"]) == {"g": ErrorCode.NON_EMPTY_GROUP}


def test_an_emptied_consumer_group_can_be_deleted_or_become_classic(
    coordinator: GroupCoordinator, topics: Topics
) -> None:
    m1 = Member(coordinator, topics, "m1")
    m1.join()
    m1.beat(epoch=-1)
    assert coordinator.delete_groups(["g"]) == {"g": ErrorCode.NONE}
    assert coordinator.describe_consumer_groups(["g"])[0].error is ErrorCode.GROUP_ID_NOT_FOUND
    m1.join(), m1.beat(epoch=-1)
    joined = coordinator.join_group("g", "", "consumer", PROTOCOLS, session_timeout_ms=10_000).result(5)
    assert joined.error in (ErrorCode.MEMBER_ID_REQUIRED, ErrorCode.NONE)
    assert coordinator.describe_consumer_groups(["g"])[0].error is ErrorCode.GROUP_ID_NOT_FOUND


def test_members_rejoin_a_new_coordinator(coordinator: GroupCoordinator, topics: Topics) -> None:
    m1 = Member(coordinator, topics, "m1")
    m1.join()
    coordinator.resign()
    assert m1.beat().error is ErrorCode.NOT_COORDINATOR
    coordinator.become_coordinator(1)
    assert m1.beat().error is ErrorCode.UNKNOWN_MEMBER_ID  # the group was not carried over
    m1.owned = {}
    answer = m1.join()
    assert answer.error is ErrorCode.NONE
    assert m1.partitions() == {0, 1, 2, 3}


@pytest.mark.parametrize("seed", range(5))
def test_no_partition_is_ever_owned_by_two_members(
    coordinator: GroupCoordinator, topics: Topics, clock: Clock, seed: int
) -> None:
    """Members join, heartbeat (some late to revoke), leave and rejoin in a random order; at every step what the
    clients own is disjoint, and once everyone has heartbeated enough the group is Stable with every partition
    owned."""
    rng = random.Random(seed)
    topics.create("u", 5)
    members = [Member(coordinator, topics, f"m{i}", subscribe=("t", "u")) for i in range(3)]
    joined: set[str] = set()
    for _ in range(200):
        member = rng.choice(members)
        action = rng.random()
        if member.member_id not in joined:
            member.owned = {}
            if member.join().error is ErrorCode.NONE:
                joined.add(member.member_id)
        elif action < 0.08:
            member.beat(epoch=-1)
            member.owned, member.epoch = {}, 0
            joined.discard(member.member_id)
        elif action < 0.3:
            # a slow client: heartbeats still owning what it was asked to give up
            before = dict(member.owned)
            answer = member.beat()
            if answer.error is ErrorCode.NONE and answer.assignment is not None:
                member.owned = before
                member.beat()
                member.owned = {t: p for t, p in answer.assignment.items() if p}
        else:
            assert member.beat().error is ErrorCode.NONE
        owned = [(t, p) for m in members for t, parts in m.owned.items() for p in parts]
        assert len(owned) == len(set(owned)), owned
    for _ in range(4):
        for member in members:
            if member.member_id in joined:
                member.beat()
    [group] = coordinator.describe_consumer_groups(["g"])
    assert group.state == "Stable"
    owned = sorted((t, p) for m in members for t, parts in m.owned.items() for p in parts)
    assert len(owned) == 9


def test_kafkas_consumer_group_settings(tmp_path: Path) -> None:
    config = node_config(
        tmp_path,
        {
            "group.consumer.heartbeat.interval.ms": "1000",
            "group.consumer.session.timeout.ms": "20000",
            "group.consumer.max.size": "10",
            "group.consumer.assignors": "org.apache.kafka.coordinator.group.assignor.RangeAssignor, uniform",
        },
    )
    assert config.groups.consumer == ConsumerSettings(1000, 20_000, 10, ("range", "uniform"))
    with pytest.raises(InvalidConfigError, match=r"group\.consumer\.assignors"):
        node_config(tmp_path, {"group.consumer.assignors": "sticky"})


def test_offset_delete_keeps_the_offsets_of_subscribed_topics(coordinator: GroupCoordinator, topics: Topics) -> None:
    topics.create("other", 1)
    m1 = Member(coordinator, topics, "m1")
    m1.join()
    assert coordinator.delete_offsets("g", [("t", 0)]) == (
        ErrorCode.NONE,
        {("t", 0): ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC},
    )
    offsets = {("t", 0): CommittedOffset(1), ("other", 0): CommittedOffset(2)}
    coordinator.commit_offsets("g", 1, "m1", offsets)
    deleted = coordinator.delete_offsets("g", [("t", 0), ("other", 0)])
    assert deleted == (ErrorCode.NONE, {("t", 0): ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC, ("other", 0): ErrorCode.NONE})
    assert coordinator.fetch_offsets("g", [("other", 0)]) == {("other", 0): None}
