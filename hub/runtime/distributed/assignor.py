"""The leader's assignment of connectors and tasks to the workers of a group: incremental and even.

Incremental: every worker keeps what it holds unless that work is gone, held twice, or must move to even the
load; only unassigned work (new, or from workers that left) and the surplus of overloaded workers moves. Work that
moves is first only revoked (its worker stops it) and handed to its new worker in a follow-up round, so nothing
runs on two workers at once. Even: no worker ends with more than ⌈units / workers⌉ units once moves complete.

Work of a worker that left without a clean goodbye is held back for ``delay_ms`` (Connect's
``scheduled.rebalance.max.delay.ms``): a worker that restarts quickly gets it back without anything moving; once
the delay has passed, it is shared among the others. The caller rebalances again when the returned deadline comes.

What a worker reports holding may be older than what it runs: a coordinator that does not make every member rejoin
for a new generation (tansu) hands the leader the metadata of each member's last join. ``in_flight`` names what a
worker may run beyond its report (work assigned to it since); such work is never handed to another worker
directly, only revoked, exactly like work that worker reports.

A ``standby`` worker (``hub.worker.runs.work=false``: `hub start`'s own worker beside its worker processes) gets
work only while every worker of the group is one; once another is there, the standby's work is revoked and
handed over as any moving work is.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple


class Work(NamedTuple):
    """A connector instance (``task`` None) or one of its tasks."""

    connector: str
    task: int | None = None

    def __str__(self) -> str:
        return self.connector if self.task is None else f"{self.connector}-{self.task}"

    @classmethod
    def parse(cls, text: list[object]) -> Work:
        connector, task = text
        return cls(str(connector), None if task is None else int(str(task)))


def work_order(work: Work) -> tuple[str, int]:
    return (work.connector, -1 if work.task is None else work.task)


def all_work(task_counts: Mapping[str, int]) -> set[Work]:
    """Every unit of the wanted state: each connector and each of its tasks."""
    return {Work(name) for name in task_counts} | {
        Work(name, index) for name, count in task_counts.items() for index in range(count)
    }


@dataclass
class Plan:
    """The outcome of one assignment."""

    assignments: dict[str, set[Work]]
    held_back: dict[Work, int] = field(default_factory=dict)  # work of departed workers -> since (ms)
    next_rebalance_ms: int | None = None
    revoked: set[Work] = field(default_factory=set)  # taken from a worker now, given to another next round


def assign(
    holdings: Mapping[str, Iterable[Work]],
    wanted: set[Work],
    *,
    previous_members: Iterable[str] = (),
    held_back: Mapping[Work, int] | None = None,
    previous_holdings: Mapping[str, Iterable[Work]] | None = None,
    in_flight: Mapping[str, Iterable[Work]] | None = None,
    standby: Collection[str] = (),
    now_ms: int,
    delay_ms: int,
) -> Plan:
    """Assign ``wanted`` to the workers of ``holdings`` (worker id -> what it runs now). ``previous_holdings`` is
    the leader's last assignment: work of workers that are gone is held back until ``delay_ms`` after they left;
    a worker that is back gets its work again. ``in_flight``: what each worker may still run beyond ``holdings``
    (see the module docstring); ``standby``: workers that get work only when every member is one."""
    members = sorted(holdings)
    if not members:
        return Plan({})
    workers = [member for member in members if member not in standby] or members
    kept: dict[str, set[Work]] = {member: set() for member in members}
    taken: set[Work] = set()
    for member in workers:
        for work in sorted(holdings[member], key=work_order):
            if work in wanted and work not in taken:
                kept[member].add(work)
                taken.add(work)
    for member, works in (previous_holdings or {}).items():
        if member in workers:  # a worker that came back (same worker id) gets back what it had
            for work in sorted(works, key=work_order):
                if work in wanted and work not in taken:
                    kept[member].add(work)
                    taken.add(work)
    reserved: dict[Work, int] = {w: since for w, since in (held_back or {}).items() if w in wanted and w not in taken}
    for member, works in (previous_holdings or {}).items():
        if member in holdings:
            continue
        for work in works:
            if work in wanted and work not in taken:
                reserved.setdefault(work, now_ms)
    expired = {work for work, since in reserved.items() if now_ms - since >= delay_ms}
    reserved = {work: since for work, since in reserved.items() if work not in expired}
    free = sorted(wanted - taken - set(reserved), key=work_order)
    limit = math.ceil(len(wanted - set(reserved)) / len(workers)) if wanted else 0
    # Shed surplus above the limit (tasks before connectors, highest numbers first, so connectors move least).
    for member in members:
        surplus = len(kept[member]) - limit
        if surplus > 0:
            movable = sorted(kept[member], key=lambda w: (w.task is None, -(w.task or 0), w.connector))
            for work in movable[:surplus]:
                kept[member].discard(work)
                free.append(work)
    running = {member: {*holdings[member], *(in_flight or {}).get(member, ())} for member in members}
    revoked: set[Work] = set()
    for work in sorted(free, key=work_order):
        target = min(workers, key=lambda m: (len(kept[m]), m))
        if any(work in running[member] for member in members if member != target):
            # Still running elsewhere: that worker stops it this round and it is handed out in the next one, so it
            # never runs on two workers at once.
            revoked.add(work)
            continue
        kept[target].add(work)
    deadline = min((since + delay_ms for since in reserved.values()), default=None)
    return Plan(kept, reserved, deadline, revoked)
