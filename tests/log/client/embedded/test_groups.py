"""Embedded group membership: consumers sharing partitions, rebalances, commits, and custom-protocol members."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from hub.log.broker import Broker
from hub.log.client import GroupMembershipError, GroupProtocol, TopicPartition
from hub.log.client.consumer_protocol import assign, decode_assignment, encode_assignment
from hub.log.client.embedded import EmbeddedConsumer, EmbeddedGroupMember, EmbeddedProducer


def _fill(broker: Broker, topic: str, count: int) -> None:
    broker.store.create_topic(topic, 4)
    with EmbeddedProducer(broker) as producer:
        for i in range(count):
            producer.send(topic, key=None, value=b"%d" % i, partition=i % 4)
        producer.flush(10)


class Poller:
    """Polls a consumer on its own thread, as every real consumer runs."""

    def __init__(self, consumer: EmbeddedConsumer) -> None:
        self.consumer = consumer
        self.values: list[bytes | None] = []
        self.assignment: set[TopicPartition] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.values += [record.value for record in self.consumer.poll(0.05)]
            self.assignment = self.consumer.assignment()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.consumer.close()


def _wait(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_two_consumers_share_a_topic_and_rebalance_when_one_leaves(broker: Broker) -> None:
    _fill(broker, "shared", 40)
    revoked: list[set[TopicPartition]] = []
    a = EmbeddedConsumer(broker, group_id="g", heartbeat_interval_ms=50, session_timeout_ms=1000)
    b = EmbeddedConsumer(broker, group_id="g", heartbeat_interval_ms=50, session_timeout_ms=1000)
    a.subscribe(["shared"], on_revoke=revoked.append)
    b.subscribe(["shared"])
    pa, pb = Poller(a), Poller(b)
    _wait(lambda: len(pa.assignment) == 2 and len(pb.assignment) == 2)
    assert pa.assignment | pb.assignment == {TopicPartition("shared", p) for p in range(4)}
    pb.stop()
    _wait(lambda: len(pa.assignment) == 4)
    assert revoked  # a gave up its partitions before each new assignment
    _wait(lambda: len(set(pa.values) | set(pb.values)) == 40)
    pa.stop()


def test_commits_survive_and_a_new_member_resumes_from_them(broker: Broker) -> None:
    _fill(broker, "resume", 20)
    first = EmbeddedConsumer(broker, group_id="r", heartbeat_interval_ms=50)
    first.subscribe(["resume"])
    got: list[bytes | None] = []
    while len(got) < 20:
        got += [r.value for r in first.poll(1.0)]
    first.commit()
    committed = first.committed([TopicPartition("resume", p) for p in range(4)])
    assert committed == {TopicPartition("resume", p): 5 for p in range(4)}
    first.close()
    with EmbeddedProducer(broker) as producer:
        producer.send("resume", key=None, value=b"new", partition=2).result(5)
    second = EmbeddedConsumer(broker, group_id="r", heartbeat_interval_ms=50)
    second.subscribe(["resume"])
    fresh: list[bytes | None] = []
    deadline = time.monotonic() + 10
    while not fresh and time.monotonic() < deadline:
        fresh += [r.value for r in second.poll(0.2)]
    assert fresh == [b"new"]
    second.close()


def test_stale_member_cannot_commit(broker: Broker) -> None:
    _fill(broker, "stale", 4)
    consumer = EmbeddedConsumer(broker, group_id="s", heartbeat_interval_ms=50)
    consumer.subscribe(["stale"])
    consumer.poll(0.5)
    assert broker.coordinator is not None
    broker.coordinator.leave_group("s", [(consumer._member.member_id, None)])  # type: ignore[union-attr]
    with pytest.raises(GroupMembershipError):
        consumer.commit({TopicPartition("stale", 0): 1})
    consumer.close()


def test_custom_protocol_member_learns_its_session_was_lost(broker: Broker) -> None:
    assert broker.coordinator is not None
    # Heartbeats every second with a 300 ms session: like a process frozen past its session timeout.
    member = EmbeddedGroupMember(
        broker.coordinator, "workers", "connect", session_timeout_ms=300, heartbeat_interval_ms=1000
    )
    joined = member.join([GroupProtocol("sessioned", b"worker-1")], timeout_s=5)
    assert joined.is_leader
    assert [m.metadata for m in joined.members] == [b"worker-1"]
    assert member.sync({joined.member_id: b"tasks: a,b"}, timeout_s=5) == b"tasks: a,b"
    assert member.poll(3.0)  # the first late heartbeat tells it: stop the work, rejoin
    rejoined = member.join([GroupProtocol("sessioned", b"worker-1")], timeout_s=5)
    assert rejoined.member_id != joined.member_id
    assert rejoined.generation_id > joined.generation_id
    member.close()


def test_heartbeats_keep_a_member_and_a_newcomer_triggers_a_rejoin(broker: Broker) -> None:
    assert broker.coordinator is not None
    first = EmbeddedGroupMember(broker.coordinator, "w2", "connect", session_timeout_ms=500, heartbeat_interval_ms=50)
    joined = first.join([GroupProtocol("p", b"1")], timeout_s=5)
    first.sync({joined.member_id: b"x"}, timeout_s=5)
    assert not first.poll(0.8)  # longer than the session: heartbeats keep it
    second = EmbeddedGroupMember(broker.coordinator, "w2", "connect", session_timeout_ms=500, heartbeat_interval_ms=50)
    waiting = threading.Thread(target=second.join, args=([GroupProtocol("p", b"2")],), kwargs={"timeout_s": 5})
    waiting.start()
    assert first.poll(2.0)
    again = first.join([GroupProtocol("p", b"1")], timeout_s=5)
    waiting.join()
    assert len(again.members) == 2
    first.close()
    second.close()


def test_assignors_spread_partitions_evenly() -> None:
    members = {"m1": ["a", "b"], "m2": ["a"], "m3": ["a", "b"]}
    ranged = assign("range", members, {"a": 7, "b": 2})
    assert sorted(len(p) for p in ranged.values()) == [2, 3, 4]
    assert {tp for p in ranged.values() for tp in p} == {TopicPartition("a", i) for i in range(7)} | {
        TopicPartition("b", i) for i in range(2)
    }
    robin = assign("roundrobin", {"m1": ["a"], "m2": ["a"]}, {"a": 5})
    assert sorted(len(p) for p in robin.values()) == [2, 3]
    assert decode_assignment(encode_assignment(ranged["m1"])) == ranged["m1"]
    with pytest.raises(ValueError, match="unknown assignment strategy"):
        assign("sticky", members, {})


def test_a_group_subscribed_before_its_topic_exists_reads_it_once_created(broker: Broker) -> None:
    with EmbeddedConsumer(broker, group_id="early", session_timeout_ms=1000, heartbeat_interval_ms=100) as consumer:
        consumer.subscribe(["later"])
        assert consumer.poll(0.2) == []
        assert consumer.assignment() == set()
        broker.store.create_topic("later", 2)
        with EmbeddedProducer(broker) as producer:
            for partition in (0, 1):
                producer.send("later", key=None, value=b"v%d" % partition, partition=partition).result(10)
        seen: list[bytes | None] = []
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            seen += [record.value for record in consumer.poll(0.2)]
        assert sorted(v or b"" for v in seen) == [b"v0", b"v1"]
        assert consumer.assignment() == {TopicPartition("later", 0), TopicPartition("later", 1)}
