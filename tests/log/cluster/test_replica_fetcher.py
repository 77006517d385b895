"""ReplicaFetcher against a scripted leader: an answer to a request sent before the partition was removed (the node
became its leader, or follows another leader now) changes nothing, as Kafka's fetcher drops it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.log.cluster.replica_fetcher import FetcherSettings, ReplicaFetcher
from hub.log.config import TopicConfig
from hub.log.error_codes import ErrorCode
from hub.log.partition import PartitionLog
from hub.log.records import iter_records
from tests.log.conftest import BatchFactory

FOLLOWER_ID = 2


class ScriptedLeader:
    """Stands in for the fetcher's connection to the leader: it answers the first ``answers`` requests from the
    leader's log, running ``during[api_key]`` (once) on the fetcher's thread while such a request is in flight
    (``hooked`` is set after it); later requests wait until ``close`` (``parked`` is set then: the fetcher has
    finished with every earlier answer)."""

    def __init__(self, leader: PartitionLog, answers: int) -> None:
        self.leader = leader
        self.answers = answers
        self.during: dict[int, Callable[[], None]] = {}
        self.requests: list[tuple[int, dict[str, Any]]] = []
        self.parked = threading.Event()
        self.hooked = threading.Event()
        self._closed = threading.Event()

    def request(self, api_key: int, version: int, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.requests.append((api_key, body))
        if len(self.requests) > self.answers:
            self.parked.set()
            self._closed.wait()
            raise OSError("connection closed")
        hook = self.during.pop(api_key, None)
        if hook is not None:
            hook()
            self.hooked.set()
        asked = body["topics"][0]["partitions"][0]
        if api_key == 1:
            return {"responses": [{"topic": "t", "partitions": [self._fetched(asked["fetch_offset"])]}]}
        if api_key == 23:
            epoch, end = self.leader.end_offset_for_epoch(asked["leader_epoch"])
            answer = {"partition": 0, "error_code": 0, "leader_epoch": epoch, "end_offset": end}
            return {"topics": [{"topic": "t", "partitions": [answer]}]}
        raise AssertionError(f"unexpected request {api_key}")

    def _fetched(self, offset: int) -> dict[str, Any]:
        return {
            "partition_index": 0,
            "error_code": ErrorCode.NONE,
            "high_watermark": self.leader.high_watermark,
            "log_start_offset": self.leader.log_start_offset,
            "records": self.leader.read(offset, 1 << 20),
        }

    def close(self) -> None:
        self._closed.set()


def _open(path: Path, name: str) -> PartitionLog:
    log = PartitionLog(path / name, "t", 0, TopicConfig.build({}))
    log.open()
    return log


def _values(log: PartitionLog) -> list[bytes | None]:
    return [record.value for record in iter_records(log.read(log.log_start_offset, 1 << 30))]


@pytest.fixture
def logs(tmp_path: Path, make_batch: BatchFactory) -> Iterator[tuple[PartitionLog, PartitionLog]]:
    """(leader, follower): the leader holds a b c d in epoch 1 (high watermark 2), the follower a b."""
    leader, follower = _open(tmp_path, "leader"), _open(tmp_path, "follower")
    leader.start_leader_epoch(1)
    for value in (b"a", b"b", b"c", b"d"):
        leader.append_and_wait(make_batch([value]), leader_epoch=1)
    leader.update_high_watermark(2)
    follower.append_replicated(leader.read(0, 1 << 20, max_offset=2))
    follower.update_high_watermark(2)
    yield leader, follower
    leader.close()
    follower.close()


def _fetcher(leader: ScriptedLeader) -> ReplicaFetcher:
    fetcher = ReplicaFetcher(1, "127.0.0.1", 1, FetcherSettings(FOLLOWER_ID))
    fetcher._connection = leader  # type: ignore[assignment]
    return fetcher


def test_a_fetch_answered_after_the_node_became_leader_is_not_appended(
    logs: tuple[PartitionLog, PartitionLog], make_batch: BatchFactory
) -> None:
    leader_log, follower = logs
    leader = ScriptedLeader(leader_log, answers=2)
    fetcher = _fetcher(leader)

    def become_leader() -> None:  # what the replica manager does while the fetch is in flight
        fetcher.remove("t", 0)
        follower.start_leader_epoch(2)
        follower.append_and_wait(make_batch([b"new"]), leader_epoch=2)

    leader.during[1] = become_leader
    fetcher.add(follower, 1)
    fetcher.start()
    assert leader.hooked.wait(10)
    fetcher.close()  # joins the thread, which handles the answer before it stops
    assert _values(follower) == [b"a", b"b", b"new"]  # not the old leader's d after the new leader's own record
    assert [api_key for api_key, _ in leader.requests] == [23, 1]
    assert follower.epochs == [(1, 0), (2, 2)]


def test_a_truncation_answered_after_the_node_became_leader_does_not_truncate(
    logs: tuple[PartitionLog, PartitionLog], make_batch: BatchFactory
) -> None:
    leader_log, follower = logs
    leader_log.truncate_to(1)  # the old leader's epoch 1 ends at 1: a follower still following it cuts b
    leader = ScriptedLeader(leader_log, answers=1)
    fetcher = _fetcher(leader)

    def become_leader() -> None:
        fetcher.remove("t", 0)
        follower.start_leader_epoch(2)

    leader.during[23] = become_leader
    fetcher.add(follower, 1)
    fetcher.start()
    assert leader.hooked.wait(10)
    fetcher.close()
    assert _values(follower) == [b"a", b"b"]
    assert [api_key for api_key, _ in leader.requests] == [23]


def test_a_fetch_answered_after_the_partition_moved_to_another_leader_is_not_appended(
    tmp_path: Path, logs: tuple[PartitionLog, PartitionLog], make_batch: BatchFactory
) -> None:
    leader_log, follower = logs
    new_leader = _open(tmp_path, "new-leader")  # elected in epoch 2 holding a b, then took x
    new_leader.append_replicated(leader_log.read(0, 1 << 20, max_offset=2))
    new_leader.start_leader_epoch(2)
    new_leader.append_and_wait(make_batch([b"x"]), leader_epoch=2)
    leader = ScriptedLeader(leader_log, answers=2)
    old_fetcher = _fetcher(leader)

    def follow_the_new_leader() -> None:  # the manager moves the partition; the other fetcher appends x
        old_fetcher.remove("t", 0)
        follower.append_replicated(new_leader.read(2, 1 << 20))

    leader.during[1] = follow_the_new_leader
    old_fetcher.add(follower, 1)
    old_fetcher.start()
    assert leader.hooked.wait(10)
    old_fetcher.close()
    assert _values(follower) == [b"a", b"b", b"x"]  # not the old leader's d after the new leader's x
    assert follower.epochs == [(1, 0), (2, 2)]
    new_leader.close()


def test_a_fetch_answered_after_the_partition_was_re_added_in_a_new_epoch_is_dropped(
    logs: tuple[PartitionLog, PartitionLog],
) -> None:
    leader_log, follower = logs
    leader = ScriptedLeader(leader_log, answers=2)
    fetcher = _fetcher(leader)
    leader.during[1] = lambda: fetcher.add(follower, 2)
    fetcher.add(follower, 1)
    fetcher.start()
    try:
        assert leader.parked.wait(10), "the fetcher did not ask again"
        # The answer to the epoch-1 fetch was dropped: the next question, in epoch 2, starts where the log did.
        api_key, body = leader.requests[-1]
        assert api_key == 23
        assert body["topics"][0]["partitions"][0]["current_leader_epoch"] == 2
        assert follower.log_end_offset == 2
    finally:
        fetcher.close()
