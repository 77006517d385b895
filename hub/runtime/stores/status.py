"""StatusStore: the state of every connector and task, in Kafka Connect's status-topic format.

``status-connector-NAME`` and ``status-task-NAME-N`` → ``{"state", "trace", "worker_id", "generation"}`` (plus
``progress`` on running tasks, which Connect's readers ignore); a
DESTROYED status is written as a tombstone. A write from an older generation of another worker never replaces
a newer one ("safe put"), so a worker that lost its tasks in a rebalance cannot overwrite their new owner's state.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import orjson

from hub.runtime.stores.key_value_log import KeyValueLog, RecordCallback

log = logging.getLogger("hub.runtime.stores")


class State(StrEnum):
    UNASSIGNED = "UNASSIGNED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    RESTARTING = "RESTARTING"
    DESTROYED = "DESTROYED"


@dataclass(frozen=True)
class Status:
    """The state of a connector (``task`` None) or of one of its tasks."""

    connector: str
    task: int | None
    state: State
    worker_id: str
    generation: int = 0
    trace: str | None = None
    progress: Mapping[str, Any] | None = None  # a running task's live figures (hub.runtime.progress)

    @property
    def key(self) -> str:
        if self.task is None:
            return f"status-connector-{self.connector}"
        return f"status-task-{self.connector}-{self.task}"


class StatusStore:
    """Statuses kept through a KeyValueLog. Thread-safe."""

    def __init__(self, make_log: Callable[[RecordCallback], KeyValueLog]) -> None:
        self._lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._unread: dict[tuple[str, str], int] = {}  # (key, writer) -> own writes not yet read back
        self._statuses: dict[tuple[str, int | None], Status] = {}
        self._topics: dict[str, set[str]] = {}
        self.log = make_log(self._apply)

    def start(self) -> None:
        self.log.start()

    def stop(self) -> None:
        self.log.stop()

    def put(self, status: Status) -> None:
        """Record a status (written asynchronously; readers of this store see it at once). A status from an older
        generation of another worker than the one that wrote the current status is dropped."""
        with self._write_lock:  # statuses reach the log in the order they were remembered
            if not self._remember(status):
                return
            value = None
            writer = "" if status.state is State.DESTROYED else status.worker_id
            with self._lock:
                self._unread[(status.key, writer)] = self._unread.get((status.key, writer), 0) + 1
            if status.state is not State.DESTROYED:
                fields: dict[str, Any] = {
                    "state": status.state.value,
                    "trace": status.trace,
                    "worker_id": status.worker_id,
                    "generation": status.generation,
                }
                if status.progress is not None:
                    fields["progress"] = status.progress
                value = orjson.dumps(fields)
            self.log.send(status.key.encode(), value)

    def put_progress(self, connector: str, task: int, worker_id: str, progress: Mapping[str, Any]) -> None:
        """Attach live figures to a task's RUNNING status written by ``worker_id`` (else nothing happens)."""
        with self._write_lock:
            with self._lock:
                current = self._statuses.get((connector, task))
            if current is None or current.state is not State.RUNNING or current.worker_id != worker_id:
                return
            self.put(replace(current, progress=dict(progress)))

    def _remember(self, status: Status) -> bool:
        ident = (status.connector, status.task)
        with self._lock:
            previous = self._statuses.get(ident)
            if (
                previous is not None
                and previous.worker_id != status.worker_id
                and status.generation < previous.generation
            ):
                return False
            if status.state is State.DESTROYED:
                self._statuses.pop(ident, None)
            else:
                self._statuses[ident] = status
            return True

    def _apply(self, raw_key: bytes, raw_value: bytes | None) -> None:
        key = raw_key.decode("utf-8", "replace")
        if key.startswith("status-topic-"):
            topic, _, connector = key[len("status-topic-") :].rpartition(":connector-")
            with self._lock:
                if raw_value is None:
                    self._topics.get(connector, set()).discard(topic)
                else:
                    self._topics.setdefault(connector, set()).add(topic)
            return
        ident = _parse_key(key)
        if ident is None:
            return
        connector, task = ident
        if raw_value is None:
            if not self._stale_own_write(key, ""):
                self._remember(Status(connector, task, State.DESTROYED, "", 1 << 62))
            return
        try:
            value: dict[str, Any] = orjson.loads(raw_value)
            status = Status(
                connector,
                task,
                State(value["state"]),
                str(value.get("worker_id") or ""),
                int(value.get("generation") or 0),
                value.get("trace"),
                value.get("progress") if isinstance(value.get("progress"), dict) else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            log.error("status record %r is not in Connect's format (%s); ignored", key, exc)
            return
        if not self._stale_own_write(key, status.worker_id):
            self._remember(status)

    def _stale_own_write(self, key: str, writer: str) -> bool:
        """Whether a record read back is one this store wrote and has written a newer one for since (reading it
        would undo the newer status in between, as Connect's status store guards against with sequence numbers)."""
        with self._lock:
            unread = self._unread.get((key, writer), 0)
            if unread == 0:
                return False  # another worker's write, or one from before this store started
            if unread == 1:
                del self._unread[(key, writer)]
                return False
            self._unread[(key, writer)] = unread - 1
            return True

    def put_topic(self, connector: str, topic: str, task: int) -> None:
        """Record that a connector uses a topic (KIP-558 topic tracking); written once per topic."""
        with self._lock:
            if topic in self._topics.get(connector, set()):
                return
            self._topics.setdefault(connector, set()).add(topic)
        value = {
            "topic": {"name": topic, "connector": connector, "task": task, "discoverTimestamp": int(time.time() * 1000)}
        }
        self.log.send(f"status-topic-{topic}:connector-{connector}".encode(), orjson.dumps(value))

    def topics(self, connector: str) -> list[str]:
        """The topics a connector used since it was created or its topics were last reset."""
        with self._lock:
            return sorted(self._topics.get(connector, set()))

    def reset_topics(self, connector: str) -> None:
        with self._lock:
            topics = self._topics.pop(connector, set())
        for topic in topics:
            self.log.send(f"status-topic-{topic}:connector-{connector}".encode(), None)

    def get(self, connector: str, task: int | None = None) -> Status | None:
        with self._lock:
            return self._statuses.get((connector, task))

    def tasks(self, connector: str) -> list[Status]:
        """Statuses of the connector's tasks, by task number."""
        with self._lock:
            found = [s for (name, task), s in self._statuses.items() if name == connector and task is not None]
        return sorted(found, key=lambda status: status.task or 0)

    def forget(self, connector: str) -> None:
        """Tombstone the statuses of a deleted connector and its tasks."""
        for status in [self.get(connector), *self.tasks(connector)]:
            if status is not None:
                self.put(Status(connector, status.task, State.DESTROYED, status.worker_id, status.generation))

    def flush(self) -> None:
        self.log.flush()


def _parse_key(key: str) -> tuple[str, int | None] | None:
    if key.startswith("status-connector-"):
        return key[len("status-connector-") :], None
    if key.startswith("status-task-"):
        name, _, number = key[len("status-task-") :].rpartition("-")
        if name and number.isdigit():
            return name, int(number)
    return None
