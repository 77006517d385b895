"""Automatic restarts of failed connectors and tasks (``hub.task.restart.*``, off by default).

RestartPolicy computes the wait before the Nth restart in a row much as Kafka's ExponentialBackoff does:
``initial.backoff.ms * multiplier^(N-1)``, times a random factor in [0.8, 1.2) so that workers do not restart
in step, and never more than ``max.backoff.ms``. RestartSchedule holds one worker's pending restarts, keyed by
unit (``(connector, None)`` for a connector, ``(connector, task)`` for a task) and counts the restarts of each
in a row. A unit that reported RUNNING for at least ``max.backoff.ms`` before it failed counts as healthy
again: its count starts over. Past ``max.attempts`` restarts in a row a unit is left FAILED.

The schedule only says *when*; the herder decides *whether* (the unit must still be this worker's, failed, and
its connector started) and restarts through the same path as a user's restart.

Thread-safety: RestartSchedule is thread-safe (failures and RUNNING reports arrive on task threads, due restarts
are taken by the herder thread). RestartPolicy is immutable.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from hub.runtime.worker_config import WorkerConfig

log = logging.getLogger("hub.runtime.restarts")

#: A connector (task None) or one of its tasks.
Unit = tuple[str, int | None]

JITTER = 0.2


def describe(unit: Unit) -> str:
    """``connector NAME`` or ``task NAME-N``, as logs name them."""
    name, task = unit
    return f"connector {name}" if task is None else f"task {name}-{task}"


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a failed unit automatically, and when to give up."""

    enabled: bool = False
    initial_backoff_ms: int = 1_000
    max_backoff_ms: int = 60_000
    multiplier: float = 2.0
    max_attempts: int = -1  # -1: no limit

    @classmethod
    def from_config(cls, config: WorkerConfig) -> RestartPolicy:
        return cls(
            enabled=bool(config["hub.task.restart.enabled"]),
            initial_backoff_ms=int(config["hub.task.restart.initial.backoff.ms"]),
            max_backoff_ms=int(config["hub.task.restart.max.backoff.ms"]),
            multiplier=float(config["hub.task.restart.backoff.multiplier"]),
            max_attempts=int(config["hub.task.restart.max.attempts"]),
        )

    def backoff_ms(self, attempt: int, random_fraction: float) -> int:
        """The wait before restart number ``attempt`` (1, 2, …); ``random_fraction`` is in [0, 1)."""
        term = float(self.initial_backoff_ms)
        for _ in range(attempt - 1):
            if term >= self.max_backoff_ms or self.multiplier <= 1:
                break
            term *= self.multiplier
        factor = 1 - JITTER + 2 * JITTER * random_fraction
        return max(0, min(self.max_backoff_ms, round(min(term, self.max_backoff_ms) * factor)))

    def allows(self, attempt: int) -> bool:
        """Whether restart number ``attempt`` may happen."""
        return self.enabled and (self.max_attempts < 0 or attempt <= self.max_attempts)


@dataclass(frozen=True)
class ScheduledRestart:
    unit: Unit
    attempt: int
    delay_ms: int


class RestartSchedule:
    """One worker's pending automatic restarts (see the module docstring)."""

    def __init__(
        self,
        policy: RestartPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self._clock = clock
        self._random = random_fraction
        self._lock = threading.Lock()
        self._attempts: dict[Unit, int] = {}  # restarts in a row, scheduled or done
        self._due: dict[Unit, float] = {}  # clock time of each pending restart
        self._running_since: dict[Unit, float] = {}
        self._closed = False

    def failed(self, unit: Unit) -> ScheduledRestart | None:
        """A unit of this worker failed: schedule its restart, or None (disabled, closed, already pending, or
        out of attempts)."""
        if not self.policy.enabled:
            return None
        scheduled = None
        with self._lock:
            now = self._clock()
            if self._closed or unit in self._due:
                return None
            since = self._running_since.pop(unit, None)
            if since is not None and now - since >= self.policy.max_backoff_ms / 1000:
                self._attempts.pop(unit, None)  # it was healthy for a while: a new series of failures
            attempt = self._attempts.get(unit, 0) + 1
            if self.policy.allows(attempt):
                self._attempts[unit] = attempt
                scheduled = ScheduledRestart(unit, attempt, self.policy.backoff_ms(attempt, self._random()))
                self._due[unit] = now + scheduled.delay_ms / 1000
        if scheduled is None:
            log.warning(
                "%s failed after %d automatic restart(s) in a row; leaving it FAILED "
                "(hub.task.restart.max.attempts=%d)",
                describe(unit),
                attempt - 1,
                self.policy.max_attempts,
            )
        else:
            log.info("auto-restarting %s after %d ms (attempt %d)", describe(unit), scheduled.delay_ms, attempt)
        return scheduled

    def running(self, unit: Unit) -> None:
        """A unit of this worker reported RUNNING."""
        if not self.policy.enabled:
            return
        with self._lock:
            self._running_since[unit] = self._clock()

    def due(self) -> list[Unit]:
        """The units whose restart is due now, removed from the schedule (their counts are kept)."""
        with self._lock:
            now = self._clock()
            ready = sorted((unit for unit, at in self._due.items() if at <= now), key=_order)
            for unit in ready:
                del self._due[unit]
            return ready

    def wait_s(self) -> float | None:
        """Seconds until the next pending restart is due (0 when one is); None when none is pending."""
        with self._lock:
            if not self._due:
                return None
            return max(0.0, min(self._due.values()) - self._clock())

    def pending(self) -> list[Unit]:
        with self._lock:
            return sorted(self._due, key=_order)

    def forget(self, unit: Unit) -> None:
        """Drop a unit's pending restart and its count (a user restarted it, or it left this worker)."""
        with self._lock:
            self._drop(unit)

    def retain(self, connector: str, units: Collection[Unit]) -> None:
        """Forget every unit of ``connector`` but ``units`` (what this worker still runs of it)."""
        with self._lock:
            known = {*self._attempts, *self._due, *self._running_since}
            for unit in known:
                if unit[0] == connector and unit not in units:
                    self._drop(unit)

    def close(self) -> None:
        """Cancel every pending restart and ignore later failures (the worker is stopping)."""
        with self._lock:
            self._closed = True
            self._due.clear()

    def _drop(self, unit: Unit) -> None:
        self._attempts.pop(unit, None)
        self._due.pop(unit, None)
        self._running_since.pop(unit, None)


def _order(unit: Unit) -> tuple[str, int]:
    return unit[0], -1 if unit[1] is None else unit[1]
