"""What ConsumerGroupDescribe shows of a consumer group (KIP-848): its state and epochs, the assignor, and each
member with its subscription, current assignment and target assignment.

Plain functions over the group's state; call them under the GroupCoordinator's lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hub.log.error_codes import ErrorCode
from hub.log.group.assignors import Partitions
from hub.log.group.consumer_group import ConsumerGroup

#: ConsumerGroupDescribe v1's member_type of a member that speaks the consumer group protocol
CONSUMER_MEMBER_TYPE = 1


@dataclass(frozen=True, slots=True)
class DescribedAssignment:
    """One topic's partitions: topic id (32 hex digits), name, partitions."""

    topic_id: str
    topic_name: str
    partitions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ConsumerMemberDescription:
    member_id: str
    instance_id: str | None
    rack_id: str | None
    member_epoch: int
    client_id: str
    client_host: str
    subscribed_topic_names: tuple[str, ...]
    subscribed_topic_regex: str | None
    assignment: tuple[DescribedAssignment, ...]
    target_assignment: tuple[DescribedAssignment, ...]
    member_type: int = CONSUMER_MEMBER_TYPE


@dataclass(frozen=True, slots=True)
class ConsumerGroupDescription:
    error: ErrorCode
    group_id: str
    error_message: str | None = None
    state: str = ""
    group_epoch: int = 0
    assignment_epoch: int = 0
    assignor_name: str = ""
    members: tuple[ConsumerMemberDescription, ...] = ()
    created_ms: int = -1


def describe_consumer_group(
    group_id: str,
    group: ConsumerGroup | None,
    topics: Mapping[str, tuple[str, int]],
    refusal: ErrorCode | None = None,
) -> ConsumerGroupDescription:
    """``group`` as ConsumerGroupDescribe shows it; GROUP_ID_NOT_FOUND when there is none (the id is unknown or a
    classic group's), ``refusal`` when the coordinator does not serve."""
    if refusal is not None:
        return ConsumerGroupDescription(refusal, group_id)
    if group is None:
        return ConsumerGroupDescription(
            ErrorCode.GROUP_ID_NOT_FOUND, group_id, f"Group {group_id} not found or not a consumer group."
        )
    return ConsumerGroupDescription(
        ErrorCode.NONE,
        group_id,
        state=group.state,
        group_epoch=group.group_epoch,
        assignment_epoch=group.assignment_epoch,
        assignor_name=group.assignor_name,
        created_ms=group.created_ms,
        members=tuple(
            ConsumerMemberDescription(
                member_id=m.member_id,
                instance_id=m.instance_id,
                rack_id=m.rack_id,
                member_epoch=m.member_epoch,
                client_id=m.client_id,
                client_host=m.client_host,
                subscribed_topic_names=m.subscribed_topic_names,
                subscribed_topic_regex=m.subscribed_topic_regex,
                assignment=_described(m.assigned, topics),
                target_assignment=_described(group.target.get(m.member_id, {}), topics),
            )
            for m in group.members.values()
        ),
    )


def _described(partitions: Partitions, topics: Mapping[str, tuple[str, int]]) -> tuple[DescribedAssignment, ...]:
    return tuple(
        DescribedAssignment(topics[name][0], name, tuple(sorted(parts)))
        for name, parts in sorted(partitions.items())
        if name in topics
    )
