"""What the coordinator's administrative calls answer: a group's overview (ListGroups) and description
(DescribeGroups), as Kafka gives them. Plain data, built under the coordinator's lock."""

from __future__ import annotations

from dataclasses import dataclass

from hub.log.error_codes import ErrorCode
from hub.log.group.group import Group, GroupState


@dataclass(frozen=True, slots=True)
class GroupOverview:
    group_id: str
    protocol_type: str
    state: str


@dataclass(frozen=True, slots=True)
class MemberDescription:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    metadata: bytes
    assignment: bytes


@dataclass(frozen=True, slots=True)
class GroupDescription:
    error: ErrorCode
    group_id: str
    state: str = ""
    protocol_type: str = ""
    protocol: str = ""
    members: tuple[MemberDescription, ...] = ()


def overview(group: Group) -> GroupOverview:
    return GroupOverview(group.group_id, group.protocol_type or "", group.state.value)


def describe(group_id: str, group: Group | None) -> GroupDescription:
    """A group as DescribeGroups shows it: Dead when unknown; assignments and protocol only once Stable."""
    if group is None:
        return GroupDescription(ErrorCode.NONE, group_id, GroupState.DEAD.value)
    stable = group.state is GroupState.STABLE
    protocol = group.protocol or ""
    members = tuple(
        MemberDescription(
            m.member_id,
            m.group_instance_id,
            m.client_id,
            m.client_host,
            m.metadata_for(protocol),
            m.assignment if stable else b"",
        )
        for m in group.members.values()
    )
    return GroupDescription(
        ErrorCode.NONE,
        group_id,
        group.state.value,
        group.protocol_type or "",
        protocol if stable else "",
        members,
    )
