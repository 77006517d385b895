"""The client errors a Kafka error code becomes, and what a group member learns from them."""

from __future__ import annotations

from hub.log.client.errors import GroupMembershipError, RebalanceInProgressError, error_for
from hub.log.error_codes import ErrorCode


def test_a_member_the_coordinator_dropped_is_told_apart_from_one_whose_generation_is_past() -> None:
    dropped = error_for(ErrorCode.UNKNOWN_MEMBER_ID, "syncing group g")
    replaced = error_for(ErrorCode.FENCED_INSTANCE_ID, "joining group g")
    past = error_for(ErrorCode.ILLEGAL_GENERATION, "syncing group g")
    assert isinstance(dropped, GroupMembershipError)
    assert dropped.member_dropped
    assert isinstance(replaced, GroupMembershipError)
    assert replaced.member_dropped
    assert isinstance(past, GroupMembershipError)
    assert not past.member_dropped
    assert str(dropped) == "syncing group g: UNKNOWN_MEMBER_ID"
    assert isinstance(error_for(ErrorCode.REBALANCE_IN_PROGRESS, "syncing group g"), RebalanceInProgressError)
