"""The distributed herder's strategies: a worker runs only its share, and only the leader writes."""

from __future__ import annotations

import threading

import pytest

from hub.runtime.distributed.assignor import Work
from hub.runtime.distributed.herder import DistributedHerder
from hub.runtime.distributed.strategies import GroupPlacement, LeaderGate
from hub.runtime.herder import Herder, NotLeaderError
from hub.runtime.standalone import StandaloneHerder

ME, OTHER = "http://127.0.0.1:8083", "http://127.0.0.1:8084"


def test_a_worker_runs_only_what_the_group_assigned_it() -> None:
    placement = GroupPlacement()
    assert not placement.owns_connector("c")
    assert placement.owned_tasks("c", 3) == set()
    placement.replace(frozenset({Work("c"), Work("c", 0), Work("c", 2), Work("d", 1)}))
    assert placement.owns_connector("c")
    assert not placement.owns_connector("d")
    assert placement.owned_tasks("c", 3) == {0, 2}
    assert placement.owned_tasks("c", 2) == {0}  # a task past the current count is not run


def test_only_the_leader_writes_and_the_others_name_it() -> None:
    gate = LeaderGate(ME)
    gate.leader_is(OTHER)
    gate.assignment_applied()
    with pytest.raises(NotLeaderError) as refused:
        gate.check()
    assert refused.value.url == OTHER
    gate.leader_is(ME)
    gate.check()


def test_a_write_before_the_first_assignment_waits_for_it() -> None:
    gate = LeaderGate(ME)

    def assign() -> None:
        gate.leader_is(ME)
        gate.assignment_applied()

    threading.Timer(0.3, assign).start()
    gate.check()  # no NotLeaderError: it waited until this worker was named leader


def test_a_write_stops_waiting_once_a_join_failed_or_the_worker_stops() -> None:
    for stop in (LeaderGate.join_failed, LeaderGate.close):
        gate = LeaderGate(ME)
        stop(gate)
        with pytest.raises(NotLeaderError) as refused:
            gate.check()
        assert refused.value.url is None


def test_the_two_herders_are_compositions_not_one_a_subclass_of_the_other() -> None:
    assert issubclass(DistributedHerder, Herder)
    assert issubclass(StandaloneHerder, Herder)
    assert not issubclass(DistributedHerder, StandaloneHerder)
