"""LeaderPlanner: what the leader learns from the members' metadata besides their share, and the rebalance wait."""

from __future__ import annotations

import pytest

from hub.log.client.types import GroupMemberInfo, JoinResult
from hub.runtime.distributed.assignor import Work
from hub.runtime.distributed.membership import POLL_S, SYNC_GRACE_S, rejoin_wait_s, sync_grace_s
from hub.runtime.distributed.planner import LeaderPlanner, versioned_json


def joined(*members: tuple[str, dict[str, object]]) -> JoinResult:
    """Generation 3 led by the first member, each ``(member id, metadata fields)``."""
    infos = tuple(
        GroupMemberInfo(member_id, None, versioned_json({"url": f"http://{member_id}", **fields}))
        for member_id, fields in members
    )
    return JoinResult(3, members[0][0], members[0][0], "hub-incremental", infos)


def test_the_leader_knows_the_slowest_followers_sync_wait_once_every_follower_reported_one() -> None:
    planner = LeaderPlanner("http://a", delay_ms=0, session_timeout_ms=10_000)
    wanted = {Work("c"), Work("c", 0)}

    planner.plan(joined(("a", {}), ("b", {"sync_ms": 12}), ("c", {})), wanted)
    assert planner.follower_sync_s is None  # "c" is new: how fast its answers come is not known yet

    planner.plan(joined(("a", {"sync_ms": 900}), ("b", {"sync_ms": 12}), ("c", {"sync_ms": 30})), wanted)
    assert planner.follower_sync_s == 0.03  # the leader's own report (from its time as a follower) does not count

    planner.plan(joined(("a", {}), ("b", {"sync_ms": "12"}), ("c", {"sync_ms": -1})), wanted)
    assert planner.follower_sync_s is None  # not a wait in milliseconds: as if not reported

    planner.plan(joined(("a", {})), wanted)
    assert planner.follower_sync_s == 0.0  # alone: nobody to wait for

    planner.forget()
    assert planner.follower_sync_s is None


def test_the_wait_before_a_new_generation_follows_the_followers_and_is_capped() -> None:
    assert sync_grace_s(None) == SYNC_GRACE_S
    assert sync_grace_s(0.0) < 0.05  # Kafka's and Hub's coordinators answer followers with the leader
    assert 0.05 < sync_grace_s(0.04) < 0.2
    assert sync_grace_s(4.8) == SYNC_GRACE_S  # tansu answers followers late: the wait stays at its cap


def test_a_worker_that_wants_a_new_generation_asks_as_soon_as_its_grace_ends() -> None:
    assert rejoin_wait_s(False, 0.3) == POLL_S  # nothing wanted: look again after the usual poll
    assert rejoin_wait_s(False, -1.0) == POLL_S
    assert rejoin_wait_s(True, 0.3) == pytest.approx(0.3)  # wanted: wake when the grace ends, not a poll later
    assert rejoin_wait_s(True, 5.0) == POLL_S  # still looks at its lease every poll
    assert rejoin_wait_s(True, 0.0) is None  # grace over: ask now
    assert rejoin_wait_s(True, -0.2) is None
