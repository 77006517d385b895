"""TaskRunner: the thread one task runs on, with its lifecycle, pause/resume and status reports.

Subclasses (source and sink runners) implement ``execute()``, the task's main loop, which runs until
``stopping`` is set. Any exception escaping it fails the task: its status becomes FAILED with the trace, and the
worker leaves it stopped until restarted. Logs of a runner carry the task's name (``connector-N``).

A task that does not stop within the worker's graceful timeout is *cancelled*, as Connect cancels it: its thread
is abandoned (Python cannot kill it), and from then on it writes nothing — no status, no offsets, no records (a
source's producer is closed). So a restarted task's successor is never contradicted by its predecessor.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hub.runtime.converters_setup import TaskConverters
from hub.runtime.errors import ToleranceOperator
from hub.runtime.progress import INTERVAL_S, RUNTIME_KEYS, ProgressMeter
from hub.runtime.stores import State, TargetState
from hub.runtime.transforms import TransformationChain
from hub.sdk.connector import Task


@dataclass(frozen=True, order=True)
class TaskId:
    """A task of a connector: ``NAME-N`` in logs and status keys."""

    connector: str
    task: int

    def __str__(self) -> str:
        return f"{self.connector}-{self.task}"


@dataclass(slots=True)
class TaskCounters:
    """What a runner counts for its metrics (hub.runtime.metrics): bumped once per batch on the task's thread,
    read by scrapes on other threads (plain ints: a scrape sees a value a batch old at worst)."""

    batches: int = 0  # polls that returned records (source) or batches handed to put() (sink)
    records_out: int = 0  # records the store acknowledged (source) or put() took (sink)
    offset_commits: int = 0
    offset_commit_failures: int = 0
    offset_commit_seconds: float = 0.0  # total time of the successful offset commits
    batch_seconds: float = 0.0  # total time of poll() (source) or put() (sink) for those batches


class StateClock:
    """The time a task spent in each state since its runner was made (Connect's ``running-ratio`` and
    ``pause-ratio``). Thread-safe: states are entered on the task's and the worker's threads, ratios read by
    scrapes; one lock, taken only when the state changes or is read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = self._since = time.monotonic()
        self._state: State | None = None
        self._spent: dict[State, float] = {}

    def enter(self, state: State) -> None:
        with self._lock:
            now = time.monotonic()
            if self._state is not None:
                self._spent[self._state] = self._spent.get(self._state, 0.0) + now - self._since
            self._state, self._since = state, now

    def ratio(self, state: State) -> float:
        """The fraction of the runner's life spent in ``state`` so far."""
        with self._lock:
            now = time.monotonic()
            spent = self._spent.get(state, 0.0) + (now - self._since if self._state is state else 0.0)
            lifetime = now - self._started
        return spent / lifetime if lifetime > 0 else 0.0


StatusCallback = Callable[["TaskId", State, str | None], None]


class TaskLogAdapter(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every message with the task it concerns."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return f"[{self.extra['task'] if self.extra else ''}] {msg}", kwargs


@dataclass
class TaskSetup:
    """Everything a runner needs besides the task object."""

    task_id: TaskId
    config: Mapping[str, str]  # the task config, references resolved
    connector_config: Mapping[str, Any]  # the connector's typed common options
    raw_connector_config: Mapping[str, str]  # the connector config, references resolved
    converters: TaskConverters
    transforms: TransformationChain
    errors: ToleranceOperator
    on_status: StatusCallback
    on_topic: Callable[[str], None]  # the task reads or writes this topic (topic tracking)
    offset_flush_interval_s: float
    offset_flush_timeout_s: float
    lease: Callable[[], bool] = lambda: True  # False while this worker may no longer own its work (fencing)
    on_progress: Callable[[TaskId, dict[str, Any]], None] = lambda task_id, progress: None
    progress_interval_s: float = INTERVAL_S


class TaskRunner(ABC):
    """Runs one task on its own thread (see the module docstring)."""

    def __init__(self, setup: TaskSetup, task: Task, target: TargetState) -> None:
        self.setup = setup
        self.id = setup.task_id
        self.task = task
        self.log = TaskLogAdapter(logging.getLogger(f"hub.runtime.task.{type(self).__name__}"), {"task": str(self.id)})
        self.stopping = threading.Event()
        setup.errors.stop_event = self.stopping
        self.resumed = threading.Event()
        if target is TargetState.STARTED:
            self.resumed.set()
        self.failed = False
        self.cancelled = False
        self.meter = ProgressMeter(self._publish_progress, setup.progress_interval_s)
        self.counters = TaskCounters()
        self.clock = StateClock()
        self._warned_progress_keys = False
        self._thread = threading.Thread(target=self._run, name=f"hub-task-{self.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            self.execute()
        except BaseException as exc:
            self.failed = True
            self.log.error("task failed: %s", exc, exc_info=exc)
            self.report(State.FAILED, "".join(traceback.format_exception(exc)))
        finally:
            self._release()
        if not self.failed:
            self.report(State.UNASSIGNED, None)

    def _publish_progress(self, progress: dict[str, Any]) -> None:
        if not self.cancelled:
            self.setup.on_progress(self.id, progress)

    def report(self, state: State, trace: str | None) -> None:
        """Write the task's status, unless it was cancelled (its successor's status is the one that counts)."""
        self.clock.enter(state)
        if not self.cancelled:
            self.setup.on_status(self.id, state, trace)

    def _release(self) -> None:
        for close in (self.close_resources, self.setup.transforms.close, self.setup.errors.close):
            try:
                close()
            except Exception as exc:
                self.log.warning("closing failed: %s", exc)

    @abstractmethod
    def execute(self) -> None:
        """The task's main loop; returns when ``stopping`` is set."""

    def close_resources(self) -> None:
        """Close clients opened by ``execute``."""

    def tick_progress(self) -> None:
        """Publish the task's progress when it is due (called from the task's loop, on its thread)."""
        if not self.meter.due():
            return
        own = dict(self.runner_progress())
        try:
            reported = dict(self.task.progress() or {})
        except Exception as exc:
            self.log.warning("progress() failed: %s", exc)
            reported = {}
        clashing = sorted(reported.keys() & (RUNTIME_KEYS | own.keys()))
        if clashing and not self._warned_progress_keys:
            self._warned_progress_keys = True
            self.log.warning("progress() reports %s, which the runtime reports itself; use other names", clashing)
        self.meter.publish({**{k: v for k, v in reported.items() if k not in clashing}, **own})

    def runner_progress(self) -> Mapping[str, Any]:
        """What the runner knows besides the record count (a sink's lag)."""
        return {}

    def report_running(self) -> None:
        self.report(State.RUNNING if self.resumed.is_set() else State.PAUSED, None)

    def set_target_state(self, target: TargetState) -> None:
        """Pause (stop moving records, keep resources) or resume; a failed task stays FAILED (with its trace)."""
        if self.failed:
            return
        if target is TargetState.STARTED and not self.resumed.is_set():
            self.resumed.set()
            self.report(State.RUNNING, None)
        elif target is TargetState.PAUSED and self.resumed.is_set():
            self.resumed.clear()
            self.report(State.PAUSED, None)
        self.wakeup()

    def wait_if_paused(self) -> bool:
        """Wait while paused or while the worker's group membership is unconfirmed (another worker may run this
        task now); True when the loop should go on."""
        while not self.stopping.is_set() and (not self.resumed.is_set() or not self.setup.lease()):
            self.on_paused_tick()
            self.stopping.wait(0.1) if self.resumed.is_set() else self.resumed.wait(0.2)
        return not self.stopping.is_set()

    def on_paused_tick(self) -> None:
        """Called regularly while paused (sinks keep their group membership alive here)."""

    def wakeup(self) -> None:
        """Unblock the loop (a blocked poll)."""

    def stop(self) -> None:
        """Ask the task to stop; returns at once (``join`` waits)."""
        self.stopping.set()
        self.resumed.set()
        self.wakeup()

    def join(self, timeout_s: float) -> bool:
        """Wait for the thread; False when it did not end in time."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def cancel(self) -> None:
        """After a stop that did not end in time: the task may write nothing more (see the module docstring).
        Returns at once; called from the worker's thread."""
        self.cancelled = True
        self.log.error("task did not stop in time; cancelled, its thread abandoned")
        self.discard_output()

    def discard_output(self) -> None:
        """Make sure a cancelled task's pending and later output goes nowhere (a source closes its producer)."""

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
