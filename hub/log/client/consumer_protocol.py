"""Kafka's consumer group protocol: subscription and assignment bytes, and the range and round-robin assignors.

The bytes are Kafka's ``ConsumerProtocolSubscription`` / ``ConsumerProtocolAssignment`` (through Hub's protocol
codec), so Hub's consumers can share a group with any Kafka consumer. Assignors follow Kafka's: ``range``
splits each topic's partitions into contiguous runs over the members subscribed to it (sorted by member id, the
first members getting one extra when it does not divide evenly); ``roundrobin`` deals all partitions of all
topics out in turn. Pure functions; thread-safe.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from hub.log.client.types import TopicPartition
from hub.log.protocol import decode_data, encode_data

SUBSCRIPTION_VERSION = 1
ASSIGNMENT_VERSION = 1
ASSIGNORS = ("range", "roundrobin")


def encode_subscription(topics: Collection[str], owned: Collection[TopicPartition] = ()) -> bytes:
    by_topic: dict[str, list[int]] = {}
    for tp in owned:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return encode_data(
        "ConsumerProtocolSubscription",
        SUBSCRIPTION_VERSION,
        {
            "topics": sorted(topics),
            "user_data": None,
            "owned_partitions": [{"topic": t, "partitions": sorted(p)} for t, p in sorted(by_topic.items())],
        },
    )


def decode_subscription(data: bytes) -> list[str]:
    _, value = decode_data("ConsumerProtocolSubscription", data)
    return list(value["topics"])


def encode_assignment(partitions: Collection[TopicPartition]) -> bytes:
    by_topic: dict[str, list[int]] = {}
    for tp in partitions:
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    return encode_data(
        "ConsumerProtocolAssignment",
        ASSIGNMENT_VERSION,
        {
            "assigned_partitions": [{"topic": t, "partitions": sorted(p)} for t, p in sorted(by_topic.items())],
            "user_data": None,
        },
    )


def decode_assignment(data: bytes) -> set[TopicPartition]:
    if not data:
        return set()
    _, value = decode_data("ConsumerProtocolAssignment", data)
    return {
        TopicPartition(entry["topic"], partition)
        for entry in value["assigned_partitions"]
        for partition in entry["partitions"]
    }


def assign(
    strategy: str, subscriptions: Mapping[str, Sequence[str]], partition_counts: Mapping[str, int]
) -> dict[str, set[TopicPartition]]:
    """Partitions per member id, given each member's topics and each topic's partition count."""
    members = sorted(subscriptions)
    result: dict[str, set[TopicPartition]] = {member: set() for member in members}
    if strategy == "range":
        topics = sorted({topic for topics in subscriptions.values() for topic in topics})
        for topic in topics:
            consumers = [member for member in members if topic in subscriptions[member]]
            count = partition_counts.get(topic, 0)
            per, extra = divmod(count, len(consumers))
            start = 0
            for index, member in enumerate(consumers):
                take = per + (1 if index < extra else 0)
                result[member].update(TopicPartition(topic, p) for p in range(start, start + take))
                start += take
        return result
    if strategy == "roundrobin":
        all_partitions = [
            TopicPartition(topic, p)
            for topic in sorted({t for topics in subscriptions.values() for t in topics})
            for p in range(partition_counts.get(topic, 0))
        ]
        turn = 0
        for tp in all_partitions:
            for _ in range(len(members)):
                member = members[turn % len(members)]
                turn += 1
                if tp.topic in subscriptions[member]:
                    result[member].add(tp)
                    break
        return result
    raise ValueError(f"unknown assignment strategy {strategy!r} (known: {', '.join(ASSIGNORS)})")
