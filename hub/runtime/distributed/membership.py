"""GroupMembership: this worker's place in its group, kept by the membership thread.

The worker joins the group (``group.id``, protocol type ``connect``) through the store's GroupMember, advertising
its REST URL and what it runs. The leader plans everyone's share (LeaderPlanner); each worker applies its own:
it replaces the GroupPlacement, names the leader to the LeaderGate and has the Reconciler stop and start what
changed, waiting for that before it joins again, since what it reports it holds must be true or work could run on
two workers at once.

Coordinators differ in when they start a new generation. Kafka's (and Hub's) makes every member rejoin whenever
one rejoins with other metadata, and always when the leader rejoins. tansu starts one only when a member joins,
leaves, expires or rejoins with other metadata, and then answers the leader at once with the metadata each member
sent last. So: a worker that wants a rebalance changes its metadata (``rebalance_requests``); a leader answered in
a generation whose assignment it already applied asks again rather than plan into a generation the coordinator
keeps; and every worker reports the generation of the assignment it runs, so the leader can tell a stale report.

Fencing: a task runs only while the coordinator confirmed this worker within most of the session timeout (the
worker's lease); past it, everything stops before the worker joins again. Leaving: after its tasks stopped, the
worker rejoins once with ``leaving`` and nothing held, so the leader hands its work out at once, then leaves.

Thread-safety: the loop runs on its own thread; the config listener callbacks only flag a wanted rebalance (on
every worker, as in Connect, so no member waits for its next heartbeat to learn of it);
``health`` and ``lease_ok`` may be called from any thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from hub.log.client import ClientError, GroupMember, GroupMembershipError, GroupProtocol, JoinResult, StoreClients
from hub.runtime.distributed.assignor import Work, all_work
from hub.runtime.distributed.planner import FORMAT_VERSION, LeaderPlanner, encode, versioned_json
from hub.runtime.distributed.session_keys import SessionKeys
from hub.runtime.distributed.strategies import GroupPlacement, LeaderGate
from hub.runtime.distributed.task_configs import TaskConfigSender
from hub.runtime.stores import ConfigListener, ConfigStore, TargetState
from hub.runtime.worker import Worker
from hub.runtime.worker_config import WorkerConfig

log = logging.getLogger("hub.runtime.distributed")

#: Group protocol name; its metadata and assignments are versioned JSON (see docs/distributed.md).
PROTOCOL = "hub-incremental"
#: The longest a worker waits after it received its assignment before it asks for a new generation (or leaves):
#: that ends the current generation, voiding the others' SyncGroup calls of it not answered yet, and those workers
#: would wait for a later round. tansu answers followers' SyncGroup calls up to seconds late; Kafka's and Hub's
#: coordinators answer them with the leader's, so the wait is measured (``sync_grace_s``) and this only caps it.
SYNC_GRACE_S = 1.0
#: The measured wait: this many times the slowest follower's SyncGroup wait, plus SYNC_GRACE_FLOOR_S.
SYNC_GRACE_FACTOR = 2
SYNC_GRACE_FLOOR_S = 0.02
#: The longest the membership thread waits on the group between looks at its lease and the work it wants.
POLL_S = 0.5


def sync_grace_s(follower_sync_s: float | None) -> float:
    """How long after its assignment a worker waits before it ends the generation: a multiple of how long followers
    waited for their SyncGroup answers (the slowest of them), capped at SYNC_GRACE_S; SYNC_GRACE_S when unknown."""
    if follower_sync_s is None:
        return SYNC_GRACE_S
    return min(SYNC_GRACE_S, SYNC_GRACE_FACTOR * follower_sync_s + SYNC_GRACE_FLOOR_S)


def rejoin_wait_s(wanted: bool, grace_left_s: float) -> float | None:
    """How long the membership thread waits on the group before it looks again: None when it asks for a new
    generation now (it wants one and its grace is over); while it wants one, until the grace ends rather than a
    whole POLL_S (which added up to half a second to every new connector's start); else POLL_S."""
    if not wanted:
        return POLL_S
    if grace_left_s <= 0:
        return None
    return min(POLL_S, grace_left_s)


class Reconciling(Protocol):
    """What membership needs of the Reconciler."""

    def reconsider(self, names: Iterable[str]) -> None: ...

    def sync(self, timeout_s: float) -> bool: ...


@dataclass
class RebalanceStats:
    """This worker's rebalances, for Connect's ``connect-worker-rebalance-metrics``: a rebalance runs from the
    join that starts it to the assignment applied. Written on the membership thread, read by scrapes (plain
    values: a scrape sees one rebalance old at worst)."""

    completed: int = 0
    seconds: float = 0.0  # total time of the completed rebalances
    max_seconds: float = 0.0
    rebalancing: bool = False
    epoch: int = -1  # the generation of the assignment applied last
    completed_at: float | None = None  # monotonic time of the last completed one
    _started: float = field(default=0.0, repr=False)

    def started(self) -> None:
        if not self.rebalancing:
            self.rebalancing, self._started = True, time.monotonic()

    def completed_in(self, generation: int) -> None:
        now = time.monotonic()
        took = now - self._started if self.rebalancing else 0.0
        self.completed += 1
        self.seconds += took
        self.max_seconds = max(self.max_seconds, took)
        self.epoch, self.completed_at, self.rebalancing = generation, now, False


class GroupMembership(ConfigListener):
    """Keeps this worker in its group and runs its share (see the module docstring)."""

    def __init__(
        self,
        worker_url: str,
        config: WorkerConfig,
        clients: StoreClients,
        configs: ConfigStore,
        *,
        placement: GroupPlacement,
        gate: LeaderGate,
        planner: LeaderPlanner,
        session_keys: SessionKeys,
        reconciler: Reconciling,
        worker: Worker,
        task_configs: TaskConfigSender,
    ) -> None:
        self._worker_url = worker_url
        self._config = config
        self._configs = configs
        self._placement = placement
        self._gate = gate
        self._session_keys = session_keys
        self._reconciler = reconciler
        self._worker = worker
        self._task_configs = task_configs
        self._member: GroupMember = clients.group_member(
            config["group.id"],
            "connect",
            session_timeout_ms=config["session.timeout.ms"],
            rebalance_timeout_ms=config["rebalance.timeout.ms"],
            heartbeat_interval_ms=config["heartbeat.interval.ms"],
        )
        self._planner = planner
        self._rebalance_timeout_s = int(config["rebalance.timeout.ms"]) / 1000
        self._applied_generation = -1  # of the assignment this worker runs
        self._rebalance_requests = 0  # part of the metadata: a new value makes any coordinator start a generation
        self._rejoin = threading.Event()
        self._synced_at = 0.0  # monotonic time of this worker's last assignment
        self._sync_s: float | None = None  # how long this worker's last SyncGroup as a follower waited
        self._wanted_when_assigned: set[Work] = set()  # the work the configs named then, as this worker read them
        self._membership_error = ""  # why the last join or sync failed, for /health; "" once one succeeds
        self.rebalances = RebalanceStats()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-membership", daemon=True)
        # A task runs only while the coordinator confirmed this worker within (most of) the session timeout.
        self._lease_s = int(config["session.timeout.ms"]) / 1000 * 0.8
        worker.lease = self.lease_ok
        configs.add_listener(self)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop the membership thread (the worker stays in the group until ``leave``)."""
        self._closing.set()
        self._member.wakeup()
        self._thread.join(60)

    def hand_over(self) -> None:
        """Rejoin once as leaving, holding nothing, so the leader shares this worker's work out now instead of
        holding it back for a worker that may come back (best effort: bounded by twice the session timeout)."""
        if self._member.generation_id < 0:
            return
        timeout_s = 2 * int(self._config["session.timeout.ms"]) / 1000
        try:
            joined = self._member.join([GroupProtocol(PROTOCOL, self._metadata(leaving=True))], timeout_s=timeout_s)
            self._member.sync(self._plan(joined) if joined.is_leader else None, timeout_s=timeout_s)
            log.info("worker %s handed its work over in generation %d", self._worker_url, joined.generation_id)
            time.sleep(self._grace_s())  # leaving starts another generation
        except (ClientError, ValueError, KeyError) as exc:
            log.warning(
                "worker %s: handing its work over failed (the others take it after "
                "scheduled.rebalance.max.delay.ms): %s",
                self._worker_url,
                exc,
            )

    def leave(self) -> None:
        """Leave the group for good."""
        try:
            self._member.leave()
        except ClientError as exc:
            log.warning("leaving the group failed (the others take over after the session timeout): %s", exc)
        self._member.close()

    # --- state -------------------------------------------------------------------------------------------------

    def lease_ok(self) -> bool:
        """Whether the coordinator confirmed this worker recently enough for its work to keep running."""
        return time.monotonic() - self._member.confirmed_at < self._lease_s

    def health(self) -> tuple[str, str] | None:
        """Why this worker is not healthy as a member of its group (None when it is)."""
        error = f" Last error: {self._membership_error}" if self._membership_error else ""
        if self._gate.leader_url is None:
            return "starting", f"Worker is still starting up: joining group {self._config['group.id']}.{error}"
        unconfirmed_s = time.monotonic() - self._member.confirmed_at
        if unconfirmed_s > int(self._config["session.timeout.ms"]) / 1000:
            return "unhealthy", (
                f"Worker is out of its group {self._config['group.id']}: the group coordinator has not confirmed "
                f"its membership for {unconfirmed_s:.0f} s.{error}"
            )
        return None

    # --- the membership thread ---------------------------------------------------------------------------------

    def _metadata(self, *, leaving: bool = False) -> bytes:
        fields: dict[str, Any] = {
            "url": self._worker_url,
            "holdings": [] if leaving else encode(self._placement.work),
            "generation": self._applied_generation,
            "rebalance_requests": self._rebalance_requests,
        }
        if self._sync_s is not None:
            fields["sync_ms"] = round(self._sync_s * 1000)
        if leaving:
            fields["leaving"] = True
        if not self._config["hub.worker.runs.work"]:
            fields["runs_work"] = False
        return versioned_json(fields)

    def _run(self) -> None:
        asked = False
        while not self._closing.is_set():
            try:
                self.rebalances.started()
                joined = self._member.join(
                    [GroupProtocol(PROTOCOL, self._metadata())], timeout_s=self._rebalance_timeout_s
                )
                if (asked or joined.is_leader) and joined.generation_id <= self._applied_generation:
                    # No new generation although one is due: this coordinator keeps the current one (and the
                    # assignment stored with it) for a rejoin with unchanged metadata. Ask for one.
                    log.info(
                        "worker %s: generation %d again; asking for a new one", self._worker_url, joined.generation_id
                    )
                    self._rebalance_requests += 1
                    continue
                plans = self._plan(joined) if joined.is_leader else None
                syncing_at = time.monotonic()
                assigned = json.loads(self._member.sync(plans, timeout_s=self._rebalance_timeout_s))
                self._synced_at = time.monotonic()
                if not joined.is_leader:
                    self._sync_s = self._synced_at - syncing_at
                self._membership_error = ""
                self._apply(assigned, joined.generation_id)
                self.rebalances.completed_in(joined.generation_id)
                asked = False
                wait_s = POLL_S
                while not self._closing.is_set():
                    if self._gate.is_leader:
                        self._session_keys.keep_fresh()
                    asked = self._member.poll(wait_s)
                    if self._placement.work and not self.lease_ok():
                        self._fence()  # before anything else, also when the group already asked us to rejoin
                        break
                    if asked:
                        self._rejoin.clear()  # the round the group started serves what this worker wanted too
                        break
                    wanted = self._rejoin.is_set() or (self._gate.is_leader and self._planner.rebalance_due())
                    next_wait_s = rejoin_wait_s(wanted, self._synced_at + self._grace_s() - time.monotonic())
                    if next_wait_s is None:
                        self._rebalance_requests += 1
                        self._rejoin.clear()
                        break
                    wait_s = next_wait_s
            except (ClientError, ValueError, KeyError) as exc:
                if self._closing.is_set():
                    return
                log.warning("worker %s: group membership failed, joining again: %s", self._worker_url, exc)
                self._membership_error = str(exc) or type(exc).__name__
                self._gate.join_failed()
                dropped = isinstance(exc, GroupMembershipError) and exc.member_dropped
                if dropped and self._placement.work and not self.lease_ok():
                    self._fence()  # e.g. frozen while it waited for a sync answer: its work may run elsewhere
                self._closing.wait(1.0)

    def _grace_s(self) -> float:
        """This worker's wait before ending a generation: the leader knows every follower's last SyncGroup wait
        (from their metadata); a follower goes by its own."""
        return sync_grace_s(self._planner.follower_sync_s if self._gate.is_leader else self._sync_s)

    def _plan(self, joined: JoinResult) -> dict[str, bytes]:
        """As leader: everyone's share, from the config topic read to its end."""
        self._configs.refresh()
        return self._planner.plan(joined, self._wanted())

    def _fence(self) -> None:
        """The coordinator has not confirmed this worker for too long (a frozen process, a lost network): others
        may run its work by now, so stop all of it before joining again."""
        log.warning(
            "worker %s: group membership unconfirmed for %.1f s; stopping all work before rejoining",
            self._worker_url,
            time.monotonic() - self._member.confirmed_at,
        )
        held = self._placement.work
        self._placement.replace(frozenset())
        self._reconciler.reconsider(sorted({work.connector for work in held}))
        self._reconciler.sync(self._rebalance_timeout_s)

    def _wanted(self) -> set[Work]:
        snapshot = self._configs.snapshot()
        counts = {
            name: 0 if snapshot.target_state(name) is TargetState.STOPPED else len(snapshot.tasks.get(name, []))
            for name in snapshot.connectors
        }
        return all_work(counts)

    def _apply(self, assigned: Mapping[str, Any], generation: int) -> None:
        if assigned.get("version") != FORMAT_VERSION:
            raise ValueError(f"assignment in an unknown format version {assigned.get('version')!r}")
        new = frozenset(Work.parse(item) for item in assigned["work"])
        old = self._placement.work
        changed = {work.connector for work in old ^ new}
        if (old - new) & self._wanted():
            self._rejoin.set()  # work given up, once stopped, is handed out in a new round: ask for it
        self._gate.leader_is(str(assigned["leader_url"]))
        if not self._gate.is_leader:
            self._planner.forget()
        self._worker.generation = generation
        self._applied_generation = generation
        self._wanted_when_assigned = self._wanted()
        self._placement.replace(new)
        self._gate.assignment_applied()
        log.info(
            "worker %s runs %d connector(s) and task(s) in generation %d (leader %s)",
            self._worker_url,
            len(new),
            generation,
            self._gate.leader_url,
        )
        for name in sorted(changed):
            if Work(name) not in new:
                self._task_configs.discard(name)  # its new owner generates them again
        self._reconciler.reconsider(sorted(changed))
        self._task_configs.leader_changed()
        # Join again only once the herder thread has stopped what is no longer ours.
        if not self._reconciler.sync(self._rebalance_timeout_s):
            log.warning("worker %s: applying the assignment takes longer than the rebalance timeout", self._worker_url)

    # --- config listener: a leader plans again when the work changed ----------------------------------------------

    def _topology_changed(self) -> None:
        """As Connect's workers do on a new connector or new task configs, every worker asks for a rebalance once
        the work differs from what it knew at its last assignment, rather than learn of the leader's request at
        its next heartbeat (up to ``heartbeat.interval.ms`` later)."""
        if self._applied_generation < 0:
            return  # the first assignment is still to come and plans from the configs as they are then
        wanted = self._wanted()
        if not self._planner.covers(wanted) if self._gate.is_leader else wanted != self._wanted_when_assigned:
            self._rejoin.set()
            self._member.wakeup()

    def on_connector_config(self, name: str) -> None:
        self._topology_changed()

    def on_task_configs(self, name: str) -> None:
        self._topology_changed()

    def on_target_state(self, name: str) -> None:
        self._topology_changed()
