"""TaskConfigSender: task configs reach the leader once, wait for a leader, and are dropped when moot."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from hub.runtime.distributed.task_configs import TaskConfigs, TaskConfigSender, UndeliveredError
from tests.runtime.conftest import wait_for

ME = "http://me:8083"
LEADER = "http://leader:8083"


class Leader:
    """A fake leader: records what it took, refuses or fails on demand."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.taken: list[tuple[str, str, TaskConfigs]] = []
        self.written_here: list[tuple[str, TaskConfigs]] = []
        self.failure: UndeliveredError | None = None
        self.attempts = 0
        self.lock = threading.Lock()

    def send(self, url: str, name: str, configs: TaskConfigs) -> None:
        with self.lock:
            self.attempts += 1
            if self.failure is not None:
                raise self.failure
            self.taken.append((url, name, configs))

    def write_here(self, name: str, configs: TaskConfigs) -> None:
        self.written_here.append((name, configs))


@pytest.fixture
def leader() -> Leader:
    return Leader()


@pytest.fixture
def sender(leader: Leader) -> Iterator[TaskConfigSender]:
    sender = TaskConfigSender(
        ME, lambda: leader.url, leader.send, leader.write_here, initial_backoff_s=0.05, max_backoff_s=0.1
    )
    sender.start()
    yield sender
    sender.close()


def test_configs_wait_for_a_leader_and_only_the_newest_are_sent(leader: Leader, sender: TaskConfigSender) -> None:
    sender.submit("c", [{"n": "1"}])
    sender.submit("c", [{"n": "2"}])
    leader.url = LEADER
    sender.leader_changed()
    wait_for(lambda: not sender.pending(), 5, "delivery")
    assert leader.taken == [(LEADER, "c", [{"n": "2"}])]


def test_a_leader_that_cannot_take_them_yet_gets_them_again(leader: Leader, sender: TaskConfigSender) -> None:
    leader.url = LEADER
    leader.failure = UndeliveredError("rebalancing", retry=True)
    sender.submit("c", [{"n": "1"}])
    wait_for(lambda: sender.pending() == {"c"}, 5, "a failed attempt")
    leader.failure = None
    wait_for(lambda: leader.taken == [(LEADER, "c", [{"n": "1"}])], 5, "the retry")
    assert not sender.pending()


def test_refused_and_moved_configs_are_dropped(leader: Leader, sender: TaskConfigSender) -> None:
    leader.url = LEADER
    leader.failure = UndeliveredError("Connector c not found", retry=False)
    sender.submit("c", [{"n": "1"}])
    wait_for(lambda: not sender.pending(), 5, "the refusal")
    leader.url = None
    sender.submit("d", [{"n": "1"}])
    sender.discard("d")  # the connector moved to another worker before a leader was known
    leader.url, leader.failure = LEADER, None
    sender.leader_changed()
    sender.submit("e", [])
    wait_for(lambda: not sender.pending(), 5, "delivery")
    assert leader.taken == [(LEADER, "e", [])]


def test_the_leader_itself_writes_them_here(leader: Leader, sender: TaskConfigSender) -> None:
    leader.url = ME
    sender.submit("c", [{"n": "1"}])
    wait_for(lambda: leader.written_here == [("c", [{"n": "1"}])], 5, "the leader's own write")
    assert leader.taken == []


def test_a_refused_signature_is_retried_and_never_written_here(leader: Leader, sender: TaskConfigSender) -> None:
    leader.url = LEADER
    leader.failure = UndeliveredError(
        "the leader answered 403: Internal request contained invalid signature.", retry=True
    )
    sender.submit("c", [{"n": "1"}])
    wait_for(lambda: leader.attempts >= 3, 5, "retries")
    assert sender.pending() == {"c"}
    leader.failure = None  # this worker has read the rotated key
    wait_for(lambda: not sender.pending(), 5, "delivery")
    assert leader.taken == [(LEADER, "c", [{"n": "1"}])]
    assert leader.written_here == []
