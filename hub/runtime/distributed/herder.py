"""DistributedHerder: a worker of a group that shares connectors and tasks with the other workers.

Workers join a group (``group.id``) and each runs exactly its share of every connector and task, which the
group's leader assigns with the incremental assignor. Configs, offsets and statuses live in the shared internal
topics. The herder is a composition (``ComposedHerder``) of the herder's parts (``hub/runtime/herder_parts.py``)
given the group's strategies, and of the group's own parts:

- GroupPlacement and LeaderGate (``strategies.py``): the Reconciler runs the assignment; only the leader writes
  (create, update, delete, pause, resume, stop, restart, offsets, task configs), other workers raise
  NotLeaderError with the leader's URL and the REST layer forwards the request there;
- GroupMembership (``membership.py``) with LeaderPlanner (``planner.py``): joining, the leader's plan, applying
  an assignment, fencing, handing work over when stopping;
- SessionKeys (``session_keys.py``) and TaskConfigSender (``task_configs.py``): a worker that runs a connector
  sends the task configs it generates to the leader, signed with the group's session key; the leader refuses
  unsigned or wrongly signed ones, and alone writes them to the config topic.

A task restart is done by the worker that runs the task: elsewhere, the leader names that worker
(NotLeaderError with its URL) and the request is forwarded there.

Thread-safety: every Herder method may be called from any thread; ``start`` and ``stop`` once each, in order.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence

from hub.log.client import StoreClients
from hub.runtime.composed_herder import ComposedHerder
from hub.runtime.distributed.assignor import Work
from hub.runtime.distributed.membership import PROTOCOL, SYNC_GRACE_S, GroupMembership, RebalanceStats
from hub.runtime.distributed.planner import FORMAT_VERSION, HISTORY, LeaderPlanner
from hub.runtime.distributed.session_keys import SessionKeys
from hub.runtime.distributed.strategies import FIRST_ASSIGNMENT_WAIT_S, GroupPlacement, LeaderGate
from hub.runtime.distributed.task_configs import Send, TaskConfigs, TaskConfigSender, UndeliveredError, send_over_rest
from hub.runtime.herder import BadRequestError, NotFoundError, NotLeaderError
from hub.runtime.herder_parts import HerderParts
from hub.runtime.plugins import Plugins
from hub.runtime.request_signing import RequestSignature
from hub.runtime.stores import ConfigStore, OffsetStore, StatusStore, TargetState
from hub.runtime.worker_config import WorkerConfig

__all__ = ["FIRST_ASSIGNMENT_WAIT_S", "FORMAT_VERSION", "HISTORY", "PROTOCOL", "SYNC_GRACE_S", "DistributedHerder"]

log = logging.getLogger("hub.runtime.distributed")


class DistributedHerder(ComposedHerder):
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
        self.worker_id = worker_url
        self.config = config
        self.clients = clients
        self.configs = configs
        self.offset_store = offsets
        self.statuses = statuses
        self._placement = GroupPlacement()
        self._gate = LeaderGate(worker_url)
        super().__init__(
            HerderParts.assemble(
                worker_url,
                config,
                plugins,
                clients,
                (configs, offsets, statuses),
                placement=self._placement,
                gate=self._gate,
                task_configs_destination=self._write_task_configs,
                may_fence=lambda: self._gate.is_leader,  # only the leader writes task-count records
            )
        )
        self._session_keys = SessionKeys(worker_url, config, configs)
        send = send_task_configs or functools.partial(send_over_rest, sign=self.sign_request)
        self._task_configs = TaskConfigSender(worker_url, lambda: self._gate.leader_url, send, self._write_here)
        self._planner = LeaderPlanner(
            worker_url,
            delay_ms=int(config["scheduled.rebalance.max.delay.ms"]),
            session_timeout_ms=int(config["session.timeout.ms"]),
        )
        self._membership = GroupMembership(
            worker_url,
            config,
            clients,
            configs,
            placement=self._placement,
            gate=self._gate,
            planner=self._planner,
            session_keys=self._session_keys,
            reconciler=self._reconciler,
            worker=self.worker,
            task_configs=self._task_configs,
        )

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Read the stores, start the herder thread, then join the group."""
        self._parts.start_stores()
        self._reconciler.start()
        log.info("herder started on worker %s (store: %s)", self.worker_id, self.clients.location)
        self._task_configs.start()
        self._membership.start()

    def stop(self) -> None:
        self._gate.close()
        self._membership.stop()
        self._task_configs.close()
        self._reconciler.stop()  # tasks stop and commit first ...
        self._membership.hand_over()  # ... then the leader gives their work to the others at once ...
        self._membership.leave()  # ... and this worker leaves the group
        self._parts.close_stores()

    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until this worker has its first assignment (and so knows the leader to send writes to)."""
        self._gate.wait_for_leader(timeout_s)

    @property
    def is_leader(self) -> bool:
        return self._gate.is_leader

    def check_writer(self) -> None:
        self._gate.check()

    @property
    def assignment(self) -> frozenset[Work]:
        return self._placement.work

    def sign_request(self, body: bytes) -> Mapping[str, str]:
        """The headers that sign an internal request's body with the current session key."""
        return self._session_keys.sign(body)

    @property
    def rebalances(self) -> RebalanceStats:
        """This worker's rebalances so far (for the worker's rebalance metrics)."""
        return self._membership.rebalances

    def health(self) -> tuple[str, str]:
        """Starting until the first assignment; unhealthy (as Connect's 500) while the group coordinator has not
        confirmed this worker for longer than the session timeout: by then its work is stopped and the group
        may hand it to others, whether the coordinator is unreachable or every join fails."""
        if not self._reconciler.is_running:
            return "starting", "Worker is still starting up."
        return self._membership.health() or (
            "healthy",
            "Worker has completed startup and is ready to handle requests.",
        )

    # --- task restarts: on the worker that runs the task ---------------------------------------------------------

    def restart_task(self, name: str, task: int) -> None:
        """Restarted here when this worker runs the task; otherwise the leader names the worker that does."""
        if task in self._placement.owned_tasks(name, task + 1):
            self._reconciler.restart_task(name, task)
            return
        self._gate.check()
        owner = self._planner.owner_of(Work(name, task))
        if owner is None:
            self._reconciler.restart_task(name, task)  # validates the names, then nobody runs it: nothing to restart
            return
        raise NotLeaderError(owner.split("#", 1)[0], f"task {name}-{task} runs on {owner}")

    # --- task configs: generated where the connector runs, written by the leader --------------------------------

    def put_task_configs(
        self, name: str, configs: Sequence[Mapping[str, str]], signature: RequestSignature | None
    ) -> None:
        self._session_keys.verify(signature)
        self._gate.check()
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
        """The Reconciler's task configs destination: the leader stores them, other workers send them to it."""
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
