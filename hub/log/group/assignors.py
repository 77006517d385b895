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

import heapq
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
        heap = [(counts[m], m) for m in eligible[topic]]
        heapq.heapify(heap)
        for partition in range(topics[topic] if heap else 0):
            if (topic, partition) not in owner:
                count, chosen = heapq.heappop(heap)
                owner[(topic, partition)] = chosen
                counts[chosen] = count + 1
                heapq.heappush(heap, (count + 1, chosen))
    # 3. move partitions from the most to the least loaded members while a move narrows the gap
    held: dict[str, dict[str, set[int]]] = {m: {} for m in counts}
    for (topic, partition), member_id in owner.items():
        held[member_id].setdefault(topic, set()).add(partition)
    while _move_one(counts, held, eligible, owner):
        pass
    return _collect(members, owner)


def _move_one(
    counts: dict[str, int],
    held: dict[str, dict[str, set[int]]],
    eligible: Mapping[str, list[str]],
    owner: dict[tuple[str, int], str],
) -> bool:
    """Move one partition from the most loaded member that has one another subscriber could take with a gap of
    more than one; whether a move was made."""
    for giver in sorted(counts, key=lambda m: (-counts[m], m)):
        best: tuple[int, str, str] | None = None
        for topic, partitions in sorted(held[giver].items()):
            if partitions:
                taker = min(eligible[topic], key=lambda m: (counts[m], m))
                if best is None or (counts[taker], taker) < best[:2]:
                    best = (counts[taker], taker, topic)
        if best is not None and counts[giver] - best[0] > 1:
            _, taker, topic = best
            partition = max(held[giver][topic])
            held[giver][topic].discard(partition)
            held[taker].setdefault(topic, set()).add(partition)
            owner[(topic, partition)] = taker
            counts[giver] -= 1
            counts[taker] += 1
            return True
    return False


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
