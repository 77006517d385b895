"""DistributedHerder: a worker of a group that shares connectors and tasks with the other workers.

Workers join a group (``group.id``, protocol type ``connect``) through the store's GroupMember, each advertising
its REST URL — its worker id — and what it runs. The leader reads the config topic to its end and assigns every
connector and task with the incremental assignor; each worker then runs exactly its share, through the same
reconciling herder thread as standalone mode. Configs, offsets and statuses live in the shared internal topics.

Writes (create, update, delete, pause, resume, stop, restart, offsets) are done by the leader; other workers
raise NotLeaderError with the leader's URL and the REST layer forwards the request there. The leader starts a
rebalance when the set of connectors or tasks changes, and when held-back work of a vanished worker is due.

Stopping: the worker stops its tasks (committing their offsets) and only then leaves the group, so the others
take its work over at once without ever running a task twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hub.log.client import ClientError, GroupMember, GroupProtocol, JoinResult, StoreClients
from hub.runtime.distributed.assignor import Work, all_work, assign, work_order
from hub.runtime.herder import ConnectorInfo, NotLeaderError
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores import ConfigStore, OffsetStore, StatusStore, TargetState
from hub.runtime.worker_config import WorkerConfig

log = logging.getLogger("hub.runtime.distributed")

#: Group protocol name; its metadata and assignments are versioned JSON (see docs/distributed.md).
PROTOCOL = "hub-incremental"
FORMAT_VERSION = 1


class DistributedHerder(StandaloneHerder):
    """One worker of a group (see the module docstring)."""

    def __init__(
        self,
        worker_url: str,
        config: WorkerConfig,
        plugins: Plugins,
        clients: StoreClients,
        configs: ConfigStore,
        offsets: OffsetStore,
        statuses: StatusStore,
    ) -> None:
        super().__init__(worker_url, config, plugins, clients, configs, offsets, statuses)
        self._member: GroupMember = clients.group_member(
            config["group.id"],
            "connect",
            session_timeout_ms=config["session.timeout.ms"],
            rebalance_timeout_ms=config["rebalance.timeout.ms"],
            heartbeat_interval_ms=config["heartbeat.interval.ms"],
        )
        self._delay_ms = int(config["scheduled.rebalance.max.delay.ms"])
        self._assignment: frozenset[Work] = frozenset()
        self._leader_url: str | None = None
        self._rejoin = threading.Event()
        self._closing = threading.Event()
        self._planned: dict[str, set[Work]] = {}
        self._held_back: dict[Work, int] = {}
        self._next_rebalance_ms: int | None = None
        self._membership_thread = threading.Thread(target=self._membership, name="hub-membership", daemon=True)
        # A task runs only while the coordinator confirmed this worker within (most of) the session timeout.
        self._lease_s = int(config["session.timeout.ms"]) / 1000 * 0.8
        self.worker.lease = self._lease_ok

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        super().start()
        self._membership_thread.start()

    def stop(self) -> None:
        self._closing.set()
        self._member.wakeup()
        self._membership_thread.join(60)
        super().stop()  # tasks stop and commit first ...
        try:
            self._member.leave()  # ... then the others take the work over at once
        except ClientError as exc:
            log.warning("leaving the group failed (the others take over after the session timeout): %s", exc)
        self._member.close()

    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until this worker has its first assignment (and so knows the leader to send writes to)."""
        deadline = time.monotonic() + timeout_s
        while self._leader_url is None:
            if time.monotonic() > deadline:
                raise NotLeaderError(None, f"worker {self.worker_id} did not join its group in {timeout_s:.0f} s")
            time.sleep(0.05)

    @property
    def is_leader(self) -> bool:
        return self._leader_url == self.worker_id

    @property
    def assignment(self) -> frozenset[Work]:
        return self._assignment

    # --- what this worker runs ---------------------------------------------------------------------------------

    def _owns_connector(self, name: str) -> bool:
        return Work(name) in self._assignment

    def _owned_tasks(self, name: str, count: int) -> set[int]:
        return {w.task for w in self._assignment if w.connector == name and w.task is not None and w.task < count}

    # --- membership --------------------------------------------------------------------------------------------

    def _membership(self) -> None:
        timeout_s = int(self.config["rebalance.timeout.ms"]) / 1000
        while not self._closing.is_set():
            try:
                metadata = _dumps({"url": self.worker_id, "holdings": _encode(self._assignment)})
                joined = self._member.join([GroupProtocol(PROTOCOL, metadata)], timeout_s=timeout_s)
                plans = self._plan(joined) if joined.is_leader else None
                assigned = json.loads(self._member.sync(plans, timeout_s=timeout_s))
                self._apply(assigned, joined.generation_id)
                while not self._closing.is_set():
                    asked = self._member.poll(0.5)
                    if self._assignment and not self._lease_ok():
                        self._fence()  # before anything else, also when the group already asked us to rejoin
                        break
                    if asked or self._rejoin.is_set() or self._rebalance_due():
                        self._rejoin.clear()
                        break
            except (ClientError, ValueError, KeyError) as exc:
                if self._closing.is_set():
                    return
                log.warning("worker %s: group membership failed, joining again: %s", self.worker_id, exc)
                self._closing.wait(1.0)

    def _lease_ok(self) -> bool:
        return time.monotonic() - self._member.confirmed_at < self._lease_s

    def _fence(self) -> None:
        """The coordinator has not confirmed this worker for too long (a frozen process, a lost network): others
        may run its work by now, so stop all of it before joining again."""
        log.warning("worker %s: group membership unconfirmed for %.1f s; stopping all work before rejoining",
                    self.worker_id, time.monotonic() - self._member.confirmed_at)  # fmt: skip
        held = self._assignment
        self._assignment = frozenset()
        for name in sorted({work.connector for work in held}):
            self._events.put(("connector", name))
        done = threading.Event()
        self._events.put(("sync", done))
        done.wait(int(self.config["rebalance.timeout.ms"]) / 1000)

    def _rebalance_due(self) -> bool:
        due = self._next_rebalance_ms
        return self.is_leader and due is not None and time.time() * 1000 >= due

    def _wanted(self) -> set[Work]:
        snapshot = self.configs.snapshot()
        counts = {
            name: 0 if snapshot.target_state(name) is TargetState.STOPPED else len(snapshot.tasks.get(name, []))
            for name in snapshot.connectors
        }
        return all_work(counts)

    def _plan(self, joined: JoinResult) -> dict[str, bytes]:
        """As leader: everyone's share, from the config topic read to its end."""
        self.configs.refresh()
        urls: dict[str, str] = {}
        holdings: dict[str, set[Work]] = {}
        for member in joined.members:
            metadata = json.loads(member.metadata)
            url = str(metadata["url"])
            if url in holdings:  # two workers claim one URL: keep them apart rather than run work twice
                url = f"{url}#{member.member_id}"
            urls[member.member_id] = url
            holdings[url] = {Work.parse(item) for item in metadata.get("holdings", [])}
        plan = assign(
            holdings,
            self._wanted(),
            previous_holdings=self._planned,
            held_back=self._held_back,
            now_ms=int(time.time() * 1000),
            delay_ms=self._delay_ms,
        )
        self._planned, self._held_back = plan.assignments, plan.held_back
        self._next_rebalance_ms = plan.next_rebalance_ms
        if plan.revoked:
            self._rejoin.set()  # hand the revoked work out once its workers have stopped it
        log.info(
            "leader %s assigned generation %d: %s%s",
            self.worker_id,
            joined.generation_id,
            ", ".join(f"{url}: {len(work)}" for url, work in sorted(plan.assignments.items())),
            (f"; {len(plan.held_back)} held back for a vanished worker" if plan.held_back else "")
            + (f"; {len(plan.revoked)} revoked, to move next round" if plan.revoked else ""),
        )
        return {
            member_id: _dumps({"leader_url": self.worker_id, "work": _encode(plan.assignments[url])})
            for member_id, url in urls.items()
        }

    def _apply(self, assigned: Mapping[str, Any], generation: int) -> None:
        if assigned.get("version") != FORMAT_VERSION:
            raise ValueError(f"assignment in an unknown format version {assigned.get('version')!r}")
        new = frozenset(Work.parse(item) for item in assigned["work"])
        changed = {work.connector for work in self._assignment ^ new}
        self._leader_url = str(assigned["leader_url"])
        self.worker.generation = generation
        self._assignment = new
        log.info("worker %s runs %d connector(s) and task(s) in generation %d (leader %s)", self.worker_id,
                 len(new), generation, self._leader_url)  # fmt: skip
        for name in sorted(changed):
            self._events.put(("connector", name))
        # Join again only once the herder thread has stopped what is no longer ours: what this worker reports
        # it holds must be true, or work could run on two workers at once.
        done = threading.Event()
        self._events.put(("sync", done))
        if not done.wait(int(self.config["rebalance.timeout.ms"]) / 1000):
            log.warning("worker %s: applying the assignment takes longer than the rebalance timeout", self.worker_id)

    def _topology_changed(self) -> None:
        if self.is_leader and self._wanted() != set().union(*self._planned.values(), self._held_back):
            self._rejoin.set()
            self._member.wakeup()

    def on_connector_config(self, name: str) -> None:
        super().on_connector_config(name)
        self._topology_changed()

    def on_task_configs(self, name: str) -> None:
        super().on_task_configs(name)
        self._topology_changed()

    def on_target_state(self, name: str) -> None:
        super().on_target_state(name)
        self._topology_changed()

    # --- writes go to the leader -------------------------------------------------------------------------------

    def _require_leader(self) -> None:
        if not self.is_leader:
            raise NotLeaderError(self._leader_url)

    def put_connector_config(
        self, name: str, config: Mapping[str, str], *, allow_replace: bool, initial_state: str | None = None
    ) -> tuple[bool, ConnectorInfo]:
        self._require_leader()
        return super().put_connector_config(name, config, allow_replace=allow_replace, initial_state=initial_state)

    def patch_connector_config(self, name: str, patch: Mapping[str, str | None]) -> ConnectorInfo:
        self._require_leader()
        return super().patch_connector_config(name, patch)

    def delete_connector(self, name: str) -> None:
        self._require_leader()
        super().delete_connector(name)

    def pause(self, name: str) -> None:
        self._require_leader()
        super().pause(name)

    def resume(self, name: str) -> None:
        self._require_leader()
        super().resume(name)

    def stop_connector(self, name: str) -> None:
        self._require_leader()
        super().stop_connector(name)

    def restart_connector(self, name: str, *, include_tasks: bool, only_failed: bool) -> dict[str, Any] | None:
        self._require_leader()
        return super().restart_connector(name, include_tasks=include_tasks, only_failed=only_failed)

    def restart_task(self, name: str, task: int) -> None:
        if task in self._owned_tasks(name, task + 1):
            super().restart_task(name, task)
            return
        self._require_leader()
        owner = next((url for url, work in self._planned.items() if Work(name, task) in work), None)
        if owner is None:
            super().restart_task(name, task)  # validates the names, then nobody runs it: nothing to restart
            return
        raise NotLeaderError(owner.split("#", 1)[0], f"task {name}-{task} runs on {owner}")

    def alter_offsets(self, name: str, offsets: Sequence[Mapping[str, Any]]) -> str:
        self._require_leader()
        return super().alter_offsets(name, offsets)

    def reset_offsets(self, name: str) -> str:
        self._require_leader()
        return super().reset_offsets(name)

    def health(self) -> tuple[str, str]:
        status, message = super().health()
        if status == "healthy" and self._leader_url is None:
            return "starting", "Worker is joining its group."
        return status, message


def _encode(works: Iterable[Work]) -> list[list[Any]]:
    return [[work.connector, work.task] for work in sorted(works, key=work_order)]


def _dumps(value: Mapping[str, Any]) -> bytes:
    return json.dumps({"version": FORMAT_VERSION, **value}).encode()
