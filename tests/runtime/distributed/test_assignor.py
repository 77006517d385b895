"""The leader's assignment: even, incremental, and patient with workers that vanish."""

from __future__ import annotations

from hub.runtime.distributed.assignor import Work, all_work, assign


def _count(plan: dict[str, set[Work]]) -> dict[str, int]:
    return {member: len(works) for member, works in plan.items()}


def test_work_is_spread_evenly_and_everything_is_assigned_once() -> None:
    wanted = all_work({f"c{i}": 3 for i in range(6)})  # 6 connectors + 18 tasks
    plan = assign({"a": [], "b": [], "c": []}, wanted, now_ms=0, delay_ms=1000)
    assert _count(plan.assignments) == {"a": 8, "b": 8, "c": 8}
    assert set().union(*plan.assignments.values()) == wanted


def test_a_new_worker_takes_a_share_and_nothing_else_moves() -> None:
    wanted = all_work({f"c{i}": 3 for i in range(6)})
    first = assign({"a": [], "b": [], "c": []}, wanted, now_ms=0, delay_ms=1000).assignments
    # Round one: the others give up their surplus, nobody gets it yet (it may still be running).
    revoking = assign({**first, "d": []}, wanted, now_ms=1, delay_ms=1000)
    assert _count(revoking.assignments) == {"a": 6, "b": 6, "c": 6, "d": 0}
    assert len(revoking.revoked) == 6
    # Round two, once they stopped it: the new worker gets exactly that.
    second = assign(revoking.assignments, wanted, now_ms=2, delay_ms=1000)
    assert _count(second.assignments) == {"a": 6, "b": 6, "c": 6, "d": 6}
    assert second.assignments["d"] == revoking.revoked
    for member in "abc":
        assert second.assignments[member] <= first[member]  # they only gave work away, never got other work


def test_work_of_a_vanished_worker_waits_for_the_delay_unless_it_comes_back() -> None:
    wanted = all_work({"c": 5})
    first = assign({"a": [], "b": []}, wanted, now_ms=0, delay_ms=1000).assignments
    gone = first["b"]
    waiting = assign({"a": first["a"]}, wanted, previous_holdings=first, now_ms=100, delay_ms=1000)
    assert waiting.assignments == {"a": first["a"]}
    assert set(waiting.held_back) == gone
    assert waiting.next_rebalance_ms == 1100
    back = assign(
        {"a": first["a"], "b": []},
        wanted,
        previous_holdings=first,
        held_back=waiting.held_back,
        now_ms=500,
        delay_ms=1000,
    )
    assert back.assignments["b"] == gone
    later = assign({"a": first["a"]}, wanted, held_back=waiting.held_back, now_ms=1100, delay_ms=1000)
    assert later.assignments["a"] == wanted
    assert later.held_back == {}


def test_removed_and_duplicated_work_is_dropped() -> None:
    plan = assign(
        {"a": [Work("x"), Work("x", 0)], "b": [Work("x", 0), Work("old", 0)]},
        {Work("x"), Work("x", 0)},
        now_ms=0,
        delay_ms=0,
    )
    # "old" is gone; x-0 runs twice, so both stop it, and it goes to b (the lighter) in the next round.
    assert plan.assignments == {"a": {Work("x")}, "b": set()}
    assert plan.revoked == {Work("x", 0)}
    assert assign(plan.assignments, {Work("x"), Work("x", 0)}, now_ms=1, delay_ms=0).assignments == {
        "a": {Work("x")},
        "b": {Work("x", 0)},
    }


def test_work_a_worker_may_run_beyond_its_report_is_only_revoked() -> None:
    # b's report predates its last assignment (x-0): another worker gets x-0 only once b reports it does not run it.
    wanted = {Work("x"), Work("x", 0), Work("y"), Work("y", 0)}
    holdings = {"a": {Work("x")}, "b": {Work("y"), Work("y", 0)}, "c": set()}
    plan = assign(holdings, wanted, in_flight={"b": {Work("x", 0)}}, now_ms=0, delay_ms=0)
    assert plan.revoked == {Work("x", 0)}
    assert all(Work("x", 0) not in works for works in plan.assignments.values())
    assert assign(plan.assignments, wanted, now_ms=1, delay_ms=0).assignments["c"] == {Work("x", 0)}


def test_a_standby_worker_gets_work_only_while_it_is_alone() -> None:
    wanted = all_work({"c": 3})
    alone = assign({"s": []}, wanted, standby={"s"}, now_ms=0, delay_ms=1000)
    assert alone.assignments == {"s": wanted}
    # Workers joined: the standby's work is revoked, then handed to them, evenly.
    revoking = assign({"s": alone.assignments["s"], "a": [], "b": []}, wanted, standby={"s"}, now_ms=1, delay_ms=1000)
    assert revoking.assignments == {"s": set(), "a": set(), "b": set()}
    assert revoking.revoked == wanted
    handed = assign(revoking.assignments, wanted, standby={"s"}, now_ms=2, delay_ms=1000)
    assert _count(handed.assignments) == {"s": 0, "a": 2, "b": 2}
    # A worker that vanished: its work waits for it, and not on the standby.
    gone = handed.assignments["b"]
    waiting = assign(
        {"s": set(), "a": handed.assignments["a"]},
        wanted,
        previous_holdings=handed.assignments,
        standby={"s"},
        now_ms=3,
        delay_ms=1000,
    )
    assert set(waiting.held_back) == gone
    expired = assign(
        {"s": set(), "a": handed.assignments["a"]},
        wanted,
        held_back=waiting.held_back,
        standby={"s"},
        now_ms=1003,
        delay_ms=1000,
    )
    assert expired.assignments == {"s": set(), "a": wanted}
