"""LeaderPlanner: as the group's leader, shares every connector and task out among the workers.

The leader reads the config topic to its end, collects each member's metadata (its URL, what it holds and the
generation of the assignment it runs) and runs the incremental assignor (``assignor.py``). It remembers what it
assigned (the last ``HISTORY`` generations), so a worker whose report is stale is taken to possibly run what was
assigned to it since (the assignor's ``in_flight``), and what it holds back for a vanished worker
(``scheduled.rebalance.max.delay.ms``), which makes a rebalance due later.

Assignments and metadata are versioned JSON (``FORMAT_VERSION``; see docs/distributed.md).

Thread-safety: ``plan`` and ``forget`` run on the membership thread; the reads (``rebalance_due``, ``covers``,
``owner_of``) may come from any thread and see either the previous or the new plan, each replaced whole.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from hub.log.client import JoinResult
from hub.runtime.distributed.assignor import Work, assign, work_order

log = logging.getLogger("hub.runtime.distributed")

FORMAT_VERSION = 1
#: How many of the leader's own assignments it remembers, to know what a worker with a stale report may run.
HISTORY = 16


class LeaderPlanner:
    """The leader's assignment plans (see the module docstring)."""

    def __init__(self, worker_url: str, *, delay_ms: int, session_timeout_ms: int) -> None:
        self._worker_url = worker_url
        self._delay_ms = delay_ms
        self._session_timeout_ms = session_timeout_ms
        self._planned: dict[str, set[Work]] = {}
        self._history: list[tuple[int, dict[str, set[Work]]]] = []  # the leader's assignments, by generation
        self._held_back: dict[Work, int] = {}
        self._next_rebalance_ms: int | None = None
        #: The slowest SyncGroup wait the other members reported in the last join (None: one has not reported).
        self.follower_sync_s: float | None = None

    def forget(self) -> None:
        """Another worker leads now: what this one remembers of its own time as leader is stale."""
        self._planned, self._held_back, self._history, self._next_rebalance_ms = {}, {}, [], None
        self.follower_sync_s = None

    def rebalance_due(self) -> bool:
        """Whether held-back or revoked work is due to be handed out in a new round."""
        due = self._next_rebalance_ms
        return due is not None and time.time() * 1000 >= due

    def covers(self, wanted: set[Work]) -> bool:
        """Whether the last plan assigned (or held back) exactly the ``wanted`` work."""
        return wanted == set().union(*self._planned.values(), self._held_back)

    def owner_of(self, work: Work) -> str | None:
        """The worker the last plan gave ``work`` (None when nobody has it): its URL, followed by ``#member-id``
        when two members claimed that URL."""
        return next((url for url, planned in self._planned.items() if work in planned), None)

    def plan(self, joined: JoinResult, wanted: set[Work]) -> dict[str, bytes]:
        """Everyone's share of ``wanted`` (the config topic read to its end), as each member's assignment."""
        urls: dict[str, str] = {}
        holdings: dict[str, set[Work]] = {}
        in_flight: dict[str, set[Work]] = {}
        leaving: set[str] = set()
        standby: set[str] = set()
        reported: list[int] = []
        sync_ms: list[int | None] = []
        for member in joined.members:
            metadata = json.loads(member.metadata)
            if member.member_id != joined.member_id:
                reported_ms = metadata.get("sync_ms")
                valid = isinstance(reported_ms, int) and not isinstance(reported_ms, bool) and reported_ms >= 0
                sync_ms.append(reported_ms if valid else None)  # anything else counts as not reported
            url = str(metadata["url"])
            if url in urls.values():  # two workers claim one URL: keep them apart rather than run work twice
                url = f"{url}#{member.member_id}"
            urls[member.member_id] = url
            if metadata.get("leaving"):
                leaving.add(url)  # it stopped everything: it gets nothing, and its work is not held back
                continue
            if metadata.get("runs_work") is False:
                standby.add(url)
            held = {Work.parse(item) for item in metadata.get("holdings", [])}
            generation = int(metadata.get("generation", -1))
            reported.append(generation)
            # Assigned to it after the assignment it reported: it may run that by now, or soon.
            since = [plan[url] for planned_in, plan in self._history if planned_in > generation and url in plan]
            holdings[url] = since[-1] if since else held
            in_flight[url] = held.union(*since)
        known = [ms for ms in sync_ms if ms is not None]
        self.follower_sync_s = max(known, default=0) / 1000 if len(known) == len(sync_ms) else None
        plan = assign(
            holdings,
            wanted,
            previous_holdings={url: work for url, work in self._planned.items() if url not in leaving},
            held_back=self._held_back,
            in_flight=in_flight,
            standby=standby,
            now_ms=int(time.time() * 1000),
            delay_ms=self._delay_ms,
        )
        self._planned, self._held_back = plan.assignments, plan.held_back
        self._next_rebalance_ms = plan.next_rebalance_ms
        if plan.revoked:
            # The workers that give work up rejoin once they stopped it, which starts the round that hands it out.
            # In case none does (work only possibly running on a worker with a stale report), the leader does.
            fallback = int(time.time() * 1000) + self._session_timeout_ms
            self._next_rebalance_ms = min(fallback, self._next_rebalance_ms or fallback)
        oldest = min(reported, default=joined.generation_id)
        self._history = [entry for entry in self._history if entry[0] > oldest][-HISTORY + 1 :]
        self._history.append((joined.generation_id, plan.assignments))
        log.info(
            "leader %s assigned generation %d: %s%s",
            self._worker_url,
            joined.generation_id,
            ", ".join(f"{url}: {len(work)}" for url, work in sorted(plan.assignments.items())),
            (f"; {len(plan.held_back)} held back for a vanished worker" if plan.held_back else "")
            + (f"; {len(plan.revoked)} revoked, to move next round" if plan.revoked else "")
            + (f"; {', '.join(sorted(leaving))} leaving" if leaving else ""),
        )
        return {
            member_id: versioned_json({"leader_url": self._worker_url, "work": encode(plan.assignments.get(url, ()))})
            for member_id, url in urls.items()
        }


def encode(works: Iterable[Work]) -> list[list[Any]]:
    """Work as the metadata and assignments carry it: ``[[connector, task or null], …]`` in work order."""
    return [[work.connector, work.task] for work in sorted(works, key=work_order)]


def versioned_json(value: Mapping[str, Any]) -> bytes:
    return json.dumps({"version": FORMAT_VERSION, **value}).encode()
