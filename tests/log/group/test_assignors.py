"""The consumer group protocol's server-side assignors: uniform (balanced, sticky) and range (co-partitioning)."""

from __future__ import annotations

from collections import Counter

from hub.log.group.assignors import MemberSpec, Partitions, range_assignor, uniform


def _sizes(assignment: dict[str, Partitions]) -> dict[str, int]:
    return {member: sum(len(parts) for parts in topics.values()) for member, topics in assignment.items()}


def _owners(assignment: dict[str, Partitions]) -> Counter[tuple[str, int]]:
    return Counter((topic, p) for topics in assignment.values() for topic, parts in topics.items() for p in parts)


def test_uniform_gives_every_partition_once_and_balances() -> None:
    members = {m: MemberSpec(frozenset({"a", "b"})) for m in ("m1", "m2", "m3")}
    assignment = uniform(members, {"a": 4, "b": 3})
    owners = _owners(assignment)
    assert set(owners) == {("a", p) for p in range(4)} | {("b", p) for p in range(3)}
    assert set(owners.values()) == {1}
    assert sorted(_sizes(assignment).values()) == [2, 2, 3]


def test_uniform_keeps_partitions_with_their_owners_when_a_member_joins() -> None:
    before = uniform({m: MemberSpec(frozenset({"t"})) for m in ("m1", "m2")}, {"t": 6})
    members = {m: MemberSpec(frozenset({"t"}), before[m]) for m in ("m1", "m2")}
    members["m3"] = MemberSpec(frozenset({"t"}))
    after = uniform(members, {"t": 6})
    assert _sizes(after) == {"m1": 2, "m2": 2, "m3": 2}
    # only the partitions the newcomer needs moved: the old members kept two of their three each
    for member in ("m1", "m2"):
        assert after[member]["t"] <= before[member]["t"]


def test_uniform_gives_a_leaving_members_partitions_to_the_others_only() -> None:
    before = uniform({m: MemberSpec(frozenset({"t"})) for m in ("m1", "m2", "m3")}, {"t": 6})
    members = {m: MemberSpec(frozenset({"t"}), before[m]) for m in ("m1", "m2")}
    after = uniform(members, {"t": 6})
    assert _sizes(after) == {"m1": 3, "m2": 3}
    for member in ("m1", "m2"):
        assert before[member]["t"] <= after[member]["t"]


def test_uniform_respects_subscriptions_and_balances_what_it_can() -> None:
    members = {
        "m1": MemberSpec(frozenset({"a"})),
        "m2": MemberSpec(frozenset({"a", "b"})),
        "m3": MemberSpec(frozenset({"b"})),
    }
    assignment = uniform(members, {"a": 3, "b": 3})
    assert set(assignment["m1"]) <= {"a"}
    assert set(assignment["m3"]) <= {"b"}
    assert sorted(_sizes(assignment).values()) == [2, 2, 2]


def test_uniform_drops_partitions_of_topics_gone_or_unsubscribed_and_double_claims() -> None:
    members = {
        "m1": MemberSpec(frozenset({"t"}), {"t": frozenset({0, 1}), "gone": frozenset({0})}),
        "m2": MemberSpec(frozenset({"t"}), {"t": frozenset({1, 7})}),  # 1 claimed twice, 7 beyond the topic
    }
    assignment = uniform(members, {"t": 2})
    assert _owners(assignment) == Counter({("t", 0): 1, ("t", 1): 1})
    assert _sizes(assignment) == {"m1": 1, "m2": 1}


def test_uniform_with_more_members_than_partitions_leaves_some_without() -> None:
    assignment = uniform({m: MemberSpec(frozenset({"t"})) for m in ("m1", "m2", "m3")}, {"t": 2})
    assert sorted(_sizes(assignment).values()) == [0, 1, 1]


def test_range_gives_contiguous_ranges_the_first_members_one_more() -> None:
    members = {m: MemberSpec(frozenset({"t"})) for m in ("m2", "m1", "m3")}
    assignment = range_assignor(members, {"t": 7})
    assert assignment["m1"] == {"t": frozenset({0, 1, 2})}
    assert assignment["m2"] == {"t": frozenset({3, 4})}
    assert assignment["m3"] == {"t": frozenset({5, 6})}


def test_range_co_partitions_topics_of_the_same_size() -> None:
    members = {m: MemberSpec(frozenset({"orders", "payments"})) for m in ("m1", "m2")}
    assignment = range_assignor(members, {"orders": 3, "payments": 3})
    for member in members:
        assert assignment[member]["orders"] == assignment[member]["payments"]
    assert assignment["m1"]["orders"] == frozenset({0, 1})


def test_range_orders_static_members_by_instance_id() -> None:
    members = {
        "z-member": MemberSpec(frozenset({"t"}), instance_id="a-instance"),
        "a-member": MemberSpec(frozenset({"t"}), instance_id="b-instance"),
    }
    assignment = range_assignor(members, {"t": 2})
    assert assignment["z-member"] == {"t": frozenset({0})}
    assert assignment["a-member"] == {"t": frozenset({1})}


def test_range_assigns_each_topic_among_its_subscribers_only() -> None:
    members = {"m1": MemberSpec(frozenset({"a", "b"})), "m2": MemberSpec(frozenset({"b"}))}
    assignment = range_assignor(members, {"a": 2, "b": 2, "unsubscribed": 4})
    assert assignment["m1"] == {"a": frozenset({0, 1}), "b": frozenset({0})}
    assert assignment["m2"] == {"b": frozenset({1})}
