"""Kafka's checks of a TxnOffsetCommit against the group it commits to, and the errors its write may end with.

A transactional offset commit is checked more leniently than OffsetCommit (Kafka's rules, as its group
coordinator applies them):

- a group that does not exist is created (a "simple" group) when the request names no generation (versions 0-2
  name none; ``generation_id`` -1), else ILLEGAL_GENERATION;
- a classic group: DEAD → COORDINATOR_NOT_AVAILABLE; an EMPTY group accepts a request without generation; a
  request naming a member, an instance or a generation must come from that member (UNKNOWN_MEMBER_ID,
  FENCED_INSTANCE_ID) at the group's generation (ILLEGAL_GENERATION); one naming none of them is accepted even
  when the group has members (older producers cannot name them); a rebalance under way does not refuse it;
- a consumer group (KIP-848): a request without member epoch while it has no member is accepted, else the member
  must exist (UNKNOWN_MEMBER_ID) at its epoch (ILLEGAL_GENERATION — not STALE_MEMBER_EPOCH, which a transactional
  producer does not know).

Pure functions over the groups' plain data; the coordinator calls them under its lock.
"""

from __future__ import annotations

from hub.log.error_codes import ErrorCode
from hub.log.group.consumer_group import ConsumerGroup
from hub.log.group.group import Group, GroupState

#: Errors of the log's append that a TxnOffsetCommit answers unchanged: the producer's, not the coordinator's.
PRODUCER_ERRORS = frozenset(
    {
        ErrorCode.INVALID_PRODUCER_EPOCH,
        ErrorCode.PRODUCER_FENCED,
        ErrorCode.INVALID_TXN_STATE,
        ErrorCode.INVALID_PRODUCER_ID_MAPPING,
        ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    }
)


def check_classic(group: Group | None, generation_id: int, member_id: str, group_instance_id: str | None) -> ErrorCode:
    """A TxnOffsetCommit to a classic group (or to none yet): NONE when it may commit."""
    if group is None:
        return ErrorCode.NONE if generation_id < 0 else ErrorCode.ILLEGAL_GENERATION
    if group.state is GroupState.DEAD:
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
    if generation_id < 0 and group.state is GroupState.EMPTY:
        return ErrorCode.NONE
    if generation_id < 0 and not member_id and not group_instance_id:
        return ErrorCode.NONE
    if group_instance_id:
        known = group.static_members.get(group_instance_id)
        if known is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if known != member_id:
            return ErrorCode.FENCED_INSTANCE_ID
    elif member_id not in group.members:
        return ErrorCode.UNKNOWN_MEMBER_ID
    return ErrorCode.NONE if generation_id == group.generation_id else ErrorCode.ILLEGAL_GENERATION


def check_consumer(group: ConsumerGroup, member_id: str, member_epoch: int) -> ErrorCode:
    """A TxnOffsetCommit to a consumer group (KIP-848): NONE when it may commit."""
    if member_epoch < 0 and not group.members:
        return ErrorCode.NONE
    member = group.members.get(member_id)
    if member is None:
        return ErrorCode.UNKNOWN_MEMBER_ID
    return ErrorCode.NONE if member_epoch == member.member_epoch else ErrorCode.ILLEGAL_GENERATION
