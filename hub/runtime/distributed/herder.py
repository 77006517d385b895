"""DistributedHerder: a worker of a group that shares connectors and tasks with the other workers.

Workers join a group (``group.id``, protocol type ``connect``) through the store's GroupMember, each advertising
its REST URL — its worker id — and what it runs. The leader reads the config topic to its end and assigns every
connector and task with the incremental assignor; each worker then runs exactly its share, through the same
reconciling herder thread as standalone mode. Configs, offsets and statuses live in the shared internal topics.

Writes (create, update, delete, pause, resume, stop, restart, offsets, task configs) are done by the leader;
other workers raise NotLeaderError with the leader's URL and the REST layer forwards the request there. A worker
that runs a connector sends the task configs it generates to the leader (TaskConfigSender), signed with the
session key the leader distributes through the config topic (``hub/runtime/request_signing.py``); unsigned or
wrongly signed task configs are refused. The leader starts a rebalance when the set of connectors or tasks changes,
and when held-back work of a vanished worker is due.

Coordinators differ in when they start a new generation. Kafka's (and Hub's) makes every member rejoin whenever
one rejoins with other metadata, and always when the leader rejoins. tansu starts one only when a member joins,
leaves, expires or rejoins with other metadata, and then answers the leader at once with the metadata each member
sent last. So: a worker that wants a rebalance changes its metadata (``rebalance_requests``); a leader answered in
a generation whose assignment it already applied asks again rather than plan into a generation the coordinator
keeps; and every worker reports the generation of the assignment it runs, so the leader can tell a stale report
and treats what it assigned to that worker since as possibly running there (the assignor's ``in_flight``).

Stopping: the worker stops its tasks (committing their offsets), rejoins once with ``leaving`` and nothing held,
so the leader hands its work out at once (not held back as a vanished worker's), and only then leaves the group.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hub.log.client import ClientError, GroupMember, GroupProtocol, JoinResult, StoreClients
from hub.runtime.distributed.assignor import Work, all_work, assign, work_order
from hub.runtime.distributed.task_configs import Send, TaskConfigs, TaskConfigSender, UndeliveredError, send_over_rest
from hub.runtime.herder import BadRequestError, ConnectorInfo, NotFoundError, NotLeaderError
from hub.runtime.plugins import Plugins
from hub.runtime.request_signing import RequestSignature, SessionKey, signature_headers, verify
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores import ConfigStore, OffsetStore, StatusStore, TargetState
from hub.runtime.worker_config import WorkerConfig

log = logging.getLogger("hub.runtime.distributed")

#: Group protocol name; its metadata and assignments are versioned JSON (see docs/distributed.md).
PROTOCOL = "hub-incremental"
FORMAT_VERSION = 1
#: How many of the leader's own assignments it remembers, to know what a worker with a stale report may run.
HISTORY = 16
#: How long a write that arrives before the worker's first assignment waits for it (and so for a known leader).
FIRST_ASSIGNMENT_WAIT_S = 30.0
#: A worker asks for a new generation (or leaves) no sooner than this after it received its assignment: that ends
#: the current generation, voiding the others' SyncGroup calls of it not answered yet (tansu answers them about
#: once a second), and those workers would wait for a later round.
SYNC_GRACE_S = 1.0


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
        *,
        send_task_configs: Send | None = None,
    ) -> None:
        super().__init__(worker_url, config, plugins, clients, configs, offsets, statuses)
        self._session_key: SessionKey | None = None
        self._member: GroupMember = clients.group_member(
            config["group.id"],
            "connect",
            session_timeout_ms=config["session.timeout.ms"],
            rebalance_timeout_ms=config["rebalance.timeout.ms"],
            heartbeat_interval_ms=config["heartbeat.interval.ms"],
        )
        self._delay_ms = int(config["scheduled.rebalance.max.delay.ms"])
        self._assignment: frozenset[Work] = frozenset()
        self._applied_generation = -1  # of the assignment this worker runs
        self._rebalance_requests = 0  # part of the metadata: a new value makes any coordinator start a generation
        self._leader_url: str | None = None
        self._rejoin = threading.Event()
        self._assigned = threading.Event()  # set once the first assignment is applied
        self._join_failed = threading.Event()  # a join failed: writes waiting for the first assignment give up
        self._synced_at = 0.0  # monotonic time of this worker's last assignment
        self._membership_error = ""  # why the last join or sync failed, for /health; "" once one succeeds
        self._closing = threading.Event()
        self._planned: dict[str, set[Work]] = {}
        self._history: list[tuple[int, dict[str, set[Work]]]] = []  # the leader's assignments, by generation
        self._held_back: dict[Work, int] = {}
        self._next_rebalance_ms: int | None = None
        self._membership_thread = threading.Thread(target=self._membership, name="hub-membership", daemon=True)
        send = send_task_configs or functools.partial(send_over_rest, sign=self.sign_request)
        self._task_configs = TaskConfigSender(worker_url, lambda: self._leader_url, send, self._write_here)
        # A task runs only while the coordinator confirmed this worker within (most of) the session timeout.
        self._lease_s = int(config["session.timeout.ms"]) / 1000 * 0.8
        self.worker.lease = self._lease_ok

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        super().start()
        self._task_configs.start()
        self._membership_thread.start()

    def stop(self) -> None:
        self._closing.set()
        self._member.wakeup()
        self._membership_thread.join(60)
        self._task_configs.close()
        self._stop_work()  # tasks stop and commit first ...
        self._hand_over()  # ... then the leader gives their work to the others at once ...
        try:
            self._member.leave()  # ... and this worker leaves the group
        except ClientError as exc:
            log.warning("leaving the group failed (the others take over after the session timeout): %s", exc)
        self._member.close()
        self._close_stores()

    def _hand_over(self) -> None:
        """Rejoin once as leaving, holding nothing, so the leader shares this worker's work out now instead of
        holding it back for a worker that may come back (best effort: bounded by twice the session timeout)."""
        if self._member.generation_id < 0:
            return
        timeout_s = 2 * int(self.config["session.timeout.ms"]) / 1000
        try:
            joined = self._member.join([GroupProtocol(PROTOCOL, self._metadata(leaving=True))], timeout_s=timeout_s)
            self._member.sync(self._plan(joined) if joined.is_leader else None, timeout_s=timeout_s)
            log.info("worker %s handed its work over in generation %d", self.worker_id, joined.generation_id)
            time.sleep(SYNC_GRACE_S)  # leaving starts another generation
        except (ClientError, ValueError, KeyError) as exc:
            log.warning("worker %s: handing its work over failed (the others take it after "
                        "scheduled.rebalance.max.delay.ms): %s", self.worker_id, exc)  # fmt: skip

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

    def _metadata(self, *, leaving: bool = False) -> bytes:
        fields: dict[str, Any] = {
            "url": self.worker_id,
            "holdings": [] if leaving else _encode(self._assignment),
            "generation": self._applied_generation,
            "rebalance_requests": self._rebalance_requests,
        }
        if leaving:
            fields["leaving"] = True
        return _dumps(fields)

    def _membership(self) -> None:
        timeout_s = int(self.config["rebalance.timeout.ms"]) / 1000
        asked = False
        while not self._closing.is_set():
            try:
                joined = self._member.join([GroupProtocol(PROTOCOL, self._metadata())], timeout_s=timeout_s)
                if (asked or joined.is_leader) and joined.generation_id <= self._applied_generation:
                    # No new generation although one is due: this coordinator keeps the current one (and the
                    # assignment stored with it) for a rejoin with unchanged metadata. Ask for one.
                    log.info("worker %s: generation %d again; asking for a new one", self.worker_id,
                             joined.generation_id)  # fmt: skip
                    self._rebalance_requests += 1
                    continue
                plans = self._plan(joined) if joined.is_leader else None
                assigned = json.loads(self._member.sync(plans, timeout_s=timeout_s))
                self._synced_at = time.monotonic()
                self._membership_error = ""
                self._apply(assigned, joined.generation_id)
                asked = False
                while not self._closing.is_set():
                    self._keep_session_key_fresh()
                    asked = self._member.poll(0.5)
                    if self._assignment and not self._lease_ok():
                        self._fence()  # before anything else, also when the group already asked us to rejoin
                        break
                    if asked:
                        self._rejoin.clear()  # the round the group started serves what this worker wanted too
                        break
                    wanted = self._rejoin.is_set() or self._rebalance_due()
                    if wanted and time.monotonic() - self._synced_at >= SYNC_GRACE_S:
                        self._rebalance_requests += 1
                        self._rejoin.clear()
                        break
            except (ClientError, ValueError, KeyError) as exc:
                if self._closing.is_set():
                    return
                log.warning("worker %s: group membership failed, joining again: %s", self.worker_id, exc)
                self._membership_error = str(exc) or type(exc).__name__
                self._join_failed.set()
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

    # --- the session key of signed internal requests ------------------------------------------------------------

    def on_session_key(self) -> None:
        record = self.configs.snapshot().session_key
        try:
            self._session_key = None if record is None else SessionKey.from_record(record)
        except ValueError as exc:
            log.error("worker %s: ignoring the session key record of the config topic: %s", self.worker_id, exc)
            return
        log.info("worker %s read a new session key (%s)", self.worker_id, self._session_key)

    def _keep_session_key_fresh(self) -> None:
        """As leader: distribute a session key when there is none, it expired, or the config asks for another kind."""
        if not self.is_leader:
            return
        key, now_ms = self._session_key, int(time.time() * 1000)
        algorithm = self.config["inter.worker.key.generation.algorithm"]
        size_bits = self.config["inter.worker.key.size"]
        if (
            key is not None
            and now_ms < key.created_ms + int(self.config["inter.worker.key.ttl.ms"])
            and key.algorithm == algorithm
            and (size_bits is None or len(key.key) * 8 == size_bits)
        ):
            return
        try:
            self.configs.put_session_key(SessionKey.generate(algorithm, size_bits, now_ms).to_record())
        except ClientError as exc:
            log.warning("leader %s could not write a new session key (trying again): %s", self.worker_id, exc)
            return
        log.info("leader %s distributed a new session key", self.worker_id)

    def sign_request(self, body: bytes) -> Mapping[str, str]:
        """The headers that sign an internal request's body with the current session key."""
        key = self._session_key
        if key is None:
            raise UndeliveredError("no session key read from the config topic yet", retry=True)
        return signature_headers(key, self.config["inter.worker.signature.algorithm"], body)

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
        in_flight: dict[str, set[Work]] = {}
        leaving: set[str] = set()
        reported: list[int] = []
        for member in joined.members:
            metadata = json.loads(member.metadata)
            url = str(metadata["url"])
            if url in urls.values():  # two workers claim one URL: keep them apart rather than run work twice
                url = f"{url}#{member.member_id}"
            urls[member.member_id] = url
            if metadata.get("leaving"):
                leaving.add(url)  # it stopped everything: it gets nothing, and its work is not held back
                continue
            held = {Work.parse(item) for item in metadata.get("holdings", [])}
            generation = int(metadata.get("generation", -1))
            reported.append(generation)
            # Assigned to it after the assignment it reported: it may run that by now, or soon.
            since = [plan[url] for planned_in, plan in self._history if planned_in > generation and url in plan]
            holdings[url] = since[-1] if since else held
            in_flight[url] = held.union(*since)
        plan = assign(
            holdings,
            self._wanted(),
            previous_holdings={url: work for url, work in self._planned.items() if url not in leaving},
            held_back=self._held_back,
            in_flight=in_flight,
            now_ms=int(time.time() * 1000),
            delay_ms=self._delay_ms,
        )
        self._planned, self._held_back = plan.assignments, plan.held_back
        self._next_rebalance_ms = plan.next_rebalance_ms
        if plan.revoked:
            # The workers that give work up rejoin once they stopped it, which starts the round that hands it out.
            # In case none does (work only possibly running on a worker with a stale report), the leader does.
            fallback = int(time.time() * 1000) + int(self.config["session.timeout.ms"])
            self._next_rebalance_ms = min(fallback, self._next_rebalance_ms or fallback)
        oldest = min(reported, default=joined.generation_id)
        self._history = [entry for entry in self._history if entry[0] > oldest][-HISTORY + 1 :]
        self._history.append((joined.generation_id, plan.assignments))
        log.info(
            "leader %s assigned generation %d: %s%s",
            self.worker_id,
            joined.generation_id,
            ", ".join(f"{url}: {len(work)}" for url, work in sorted(plan.assignments.items())),
            (f"; {len(plan.held_back)} held back for a vanished worker" if plan.held_back else "")
            + (f"; {len(plan.revoked)} revoked, to move next round" if plan.revoked else "")
            + (f"; {', '.join(sorted(leaving))} leaving" if leaving else ""),
        )
        return {
            member_id: _dumps({"leader_url": self.worker_id, "work": _encode(plan.assignments.get(url, ()))})
            for member_id, url in urls.items()
        }

    def _apply(self, assigned: Mapping[str, Any], generation: int) -> None:
        if assigned.get("version") != FORMAT_VERSION:
            raise ValueError(f"assignment in an unknown format version {assigned.get('version')!r}")
        new = frozenset(Work.parse(item) for item in assigned["work"])
        changed = {work.connector for work in self._assignment ^ new}
        if (self._assignment - new) & self._wanted():
            self._rejoin.set()  # work given up, once stopped, is handed out in a new round: ask for it
        self._leader_url = str(assigned["leader_url"])
        if not self.is_leader:  # what this worker remembers of its own time as leader is stale by now
            self._planned, self._held_back, self._history, self._next_rebalance_ms = {}, {}, [], None
        self.worker.generation = generation
        self._applied_generation = generation
        self._assignment = new
        self._assigned.set()
        log.info("worker %s runs %d connector(s) and task(s) in generation %d (leader %s)", self.worker_id,
                 len(new), generation, self._leader_url)  # fmt: skip
        for name in sorted(changed):
            if Work(name) not in new:
                self._task_configs.discard(name)  # its new owner generates them again
            self._events.put(("connector", name))
        self._task_configs.leader_changed()
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
        deadline = time.monotonic() + FIRST_ASSIGNMENT_WAIT_S
        while not (self._assigned.is_set() or self._join_failed.is_set() or self._closing.is_set()):
            if time.monotonic() > deadline:  # a worker just started learns its leader in a moment: wait for it
                break
            self._assigned.wait(0.1)
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

    # --- task configs: generated where the connector runs, written by the leader --------------------------------

    def put_task_configs(
        self, name: str, configs: Sequence[Mapping[str, str]], signature: RequestSignature | None
    ) -> None:
        verify(signature, self._session_key, self.config["inter.worker.verification.algorithms"])
        self._require_leader()
        self._store_task_configs(name, [dict(config) for config in configs])

    def _store_task_configs(self, name: str, configs: TaskConfigs) -> None:
        snapshot = self.configs.snapshot()
        if name not in snapshot.connectors:
            self.configs.refresh()  # the sender read the connector's config from the topic; so does the leader now
            snapshot = self.configs.snapshot()
        if name not in snapshot.connectors:
            raise NotFoundError(f"Connector {name} not found")
        if configs and snapshot.target_state(name) is TargetState.STOPPED:
            raise BadRequestError(f"Connector {name} is stopped; it has no tasks until it is resumed")
        if configs == snapshot.tasks.get(name) and name not in snapshot.inconsistent:
            return
        self.configs.put_task_configs(name, configs)
        log.info("leader %s wrote %d task config(s) of %s", self.worker_id, len(configs), name)

    def _write_task_configs(self, name: str, configs: list[dict[str, str]]) -> None:
        if self.is_leader:
            try:
                self._store_task_configs(name, configs)
            except (NotFoundError, BadRequestError) as exc:
                log.info("task configs of %s not written: %s", name, exc)
        else:
            self._task_configs.submit(name, configs)

    def _write_here(self, name: str, configs: TaskConfigs) -> None:
        """For the sender: this worker became the leader, or the leader's REST API does not take its requests."""
        try:
            self._store_task_configs(name, configs)
        except (NotFoundError, BadRequestError) as exc:
            raise UndeliveredError(str(exc), retry=False) from None

    def health(self) -> tuple[str, str]:
        """Starting until the first assignment; unhealthy (as Connect's 500) while the group coordinator has not
        confirmed this worker for longer than the session timeout: by then its work is stopped and the group
        may hand it to others, whether the coordinator is unreachable or every join fails."""
        status, message = super().health()
        if status != "healthy":
            return status, message
        error = f" Last error: {self._membership_error}" if self._membership_error else ""
        if self._leader_url is None:
            return "starting", f"Worker is still starting up: joining group {self.config['group.id']}.{error}"
        unconfirmed_s = time.monotonic() - self._member.confirmed_at
        if unconfirmed_s > int(self.config["session.timeout.ms"]) / 1000:
            return "unhealthy", (
                f"Worker is out of its group {self.config['group.id']}: the group coordinator has not confirmed "
                f"its membership for {unconfirmed_s:.0f} s.{error}"
            )
        return status, message


def _encode(works: Iterable[Work]) -> list[list[Any]]:
    return [[work.connector, work.task] for work in sorted(works, key=work_order)]


def _dumps(value: Mapping[str, Any]) -> bytes:
    return json.dumps({"version": FORMAT_VERSION, **value}).encode()
