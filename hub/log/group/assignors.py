"""The server-side assignors of the consumer group protocol (KIP-848): ``uniform`` and ``range``.

An assignor maps the group's members, with their subscriptions and what they are assigned now, to a target
assignment over the subscribed topics' partitions. Both are pure functions of their input (deterministic: members
and partitions are visited in sorted order), so every coordinator computes the same target from the same group.

- ``uniform`` (Kafka's default): every partition of a subscribed topic goes to one member subscribed to it, the
  numbers of partitions the members get differ by at most one where their subscriptions allow it, and a partition
  stays with the member that has it whenever that keeps the balance (sticky).
- ``range``: per topic, the members subscribed to it in order of their instance id (or member id) get contiguous
  ranges, the first ones one partition more. Members with the same subscription get the same partition numbers of
  every topic of the same size, so co-partitioned topics are consumed together.

Thread-safety: no state; safe anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

#: topic name -> partition numbers
Partitions = dict[str, frozenset[int]]


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """What an assignor knows of one member."""

    topics: frozenset[str]
    current: Partitions = field(default_factory=dict)
    instance_id: str | None = None


Assignor = Callable[[Mapping[str, MemberSpec], Mapping[str, int]], dict[str, Partitions]]


def uniform(members: Mapping[str, MemberSpec], topics: Mapping[str, int]) -> dict[str, Partitions]:
    """Balanced and sticky (see the module docstring). ``topics`` maps each existing topic to its partition count."""
    owner: dict[tuple[str, int], str] = {}
    counts = dict.fromkeys(sorted(members), 0)
    # 1. every member keeps what it has and may still have (first claim wins a partition claimed twice)
    for member_id in counts:
        spec = members[member_id]
        for topic, partitions in sorted(spec.current.items()):
            if topic not in spec.topics or topic not in topics:
                continue
            for partition in sorted(partitions):
                key = (topic, partition)
                if partition < topics[topic] and key not in owner:
                    owner[key] = member_id
                    counts[member_id] += 1
    eligible = {topic: sorted(m for m in counts if topic in members[m].topics) for topic in topics}
    # 2. the others go to the least loaded member subscribed to their topic
    for topic in sorted(topics):
        candidates = eligible[topic]
        if not candidates:
            continue
        for partition in range(topics[topic]):
            if (topic, partition) not in owner:
                chosen = min(candidates, key=lambda m: (counts[m], m))
                owner[(topic, partition)] = chosen
                counts[chosen] += 1
    # 3. move partitions from the most to the least loaded members until no move narrows the gap
    moved = True
    while moved:
        moved = False
        for key in sorted(owner, key=lambda k: (-counts[owner[k]], k)):
            current = owner[key]
            target = min(eligible[key[0]], key=lambda m: (counts[m], m))
            if counts[current] - counts[target] > 1:
                owner[key] = target
                counts[current] -= 1
                counts[target] += 1
                moved = True
    return _collect(members, owner)


def range_assignor(members: Mapping[str, MemberSpec], topics: Mapping[str, int]) -> dict[str, Partitions]:
    """Contiguous ranges per topic (see the module docstring)."""
    owner: dict[tuple[str, int], str] = {}
    for topic in sorted(topics):
        subscribed = sorted(
            (m for m in members if topic in members[m].topics),
            key=lambda m: (members[m].instance_id is None, members[m].instance_id or m, m),
        )
        if not subscribed:
            continue
        quota, extra = divmod(topics[topic], len(subscribed))
        start = 0
        for index, member_id in enumerate(subscribed):
            size = quota + (1 if index < extra else 0)
            for partition in range(start, start + size):
                owner[(topic, partition)] = member_id
            start += size
    return _collect(members, owner)


def _collect(members: Mapping[str, MemberSpec], owner: Mapping[tuple[str, int], str]) -> dict[str, Partitions]:
    gathered: dict[str, dict[str, set[int]]] = {member_id: {} for member_id in members}
    for (topic, partition), member_id in owner.items():
        gathered[member_id].setdefault(topic, set()).add(partition)
    return {
        member_id: {topic: frozenset(parts) for topic, parts in by_topic.items()}
        for member_id, by_topic in gathered.items()
    }


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform, "range": range_assignor}
