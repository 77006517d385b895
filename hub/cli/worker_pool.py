"""The worker processes of ``hub start --workers N``: the parent's side (start, watch, replace, stop).

``hub start`` runs the store, its Kafka listener, the REST API on the one public port and a worker that runs work
only while it is alone in the group (``hub.worker.runs.work=false``); the N workers are child processes
(``python -m hub.cli worker-process``) that join the same worker group over the store's Kafka listener, so the
group's assignor spreads connectors and tasks over them. Each child serves
its own REST API on a private port of the REST host: the workers forward writes to the leader and task restarts
to the task's worker there, as any Connect cluster does, while users talk to the public port only.

A child reads its settings as one JSON line on standard input (the worker config may hold credentials, which
belong neither in its argv nor in a file) and then keeps reading: the pipe's end — the parent gone, even by
kill -9 — stops it, so no child outlives ``hub start``. It answers with one ``ready URL`` line on standard output
once it has its first assignment; its log goes to the parent's standard error.

A child that exits on its own (killed, crashed) is logged and replaced after a backoff (1 s, doubling up to 30 s,
back to 1 s once a child has run for a minute); its work moves as a dead worker's does (docs/distributed.md,
"Failures"). ``stop`` sends SIGTERM to every child, so each stops its tasks, commits and leaves the group, and waits
for them; one still running after ``stop_timeout_s`` is killed.

Thread-safety: ``start`` and ``stop`` are called from one thread; a watcher thread per child slot replaces
children; ``urls`` may be read from any thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

logger = logging.getLogger("hub.workers")

#: Backoff before a child that exited on its own is replaced: first, longest; and how long it must have run for
#: the backoff to start over.
RESPAWN_INITIAL_S = 1.0
RESPAWN_MAX_S = 30.0
RESPAWN_RESET_S = 60.0
READY_PREFIX = "ready "


def cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ChildSpec:
    """What a child worker needs: the worker config (as read, with `hub start`'s defaults), where the store is and
    how to reach it, and the host its private REST API listens on."""

    config: Mapping[str, str]
    bootstrap: str
    store_access: Mapping[str, str]
    rest_host: str
    log_level: str

    def line(self, index: int) -> bytes:
        document = {
            "config": dict(self.config),
            "bootstrap": self.bootstrap,
            "store_access": dict(self.store_access),
            "rest_host": self.rest_host,
            "log_level": self.log_level,
            "index": index,
        }
        return json.dumps(document).encode() + b"\n"


@dataclass
class _Slot:
    """One child's place: the process running in it now, and its URL once ready."""

    index: int
    process: subprocess.Popen[bytes] | None = None
    url: str | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    started_at: float = 0.0


class WorkerPool:
    """``count`` child worker processes, kept running until ``stop``."""

    def __init__(self, spec: ChildSpec, count: int, *, stop_timeout_s: float = 60.0) -> None:
        self._spec = spec
        self._slots = [_Slot(index) for index in range(1, count + 1)]
        self._stop_timeout_s = stop_timeout_s
        self._stopping = threading.Event()
        self._lock = threading.RLock()  # the watcher spawns under it, so stop() sees every child
        self._watchers: list[threading.Thread] = []

    def start(self) -> None:
        """Start every child (without waiting for them: ``wait_ready``)."""
        for slot in self._slots:
            self._spawn(slot)
            watcher = threading.Thread(target=self._watch, args=(slot,), name=f"hub-worker-{slot.index}", daemon=True)
            self._watchers.append(watcher)
            watcher.start()

    def wait_ready(self, timeout_s: float) -> list[str]:
        """Wait until every child has its first assignment, at most ``timeout_s``; the URLs of those that have."""
        deadline = time.monotonic() + timeout_s
        for slot in self._slots:
            slot.ready.wait(max(0.0, deadline - time.monotonic()))
        return self.urls()

    def urls(self) -> list[str]:
        with self._lock:
            return [slot.url for slot in self._slots if slot.url is not None]

    def pids(self) -> list[int]:
        with self._lock:
            return [slot.process.pid for slot in self._slots if slot.process is not None]

    def signal_stop(self) -> None:
        """SIGTERM every child (they stop their tasks, commit and leave the group) and replace none from now on."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._stopping.set()
            processes = [slot.process for slot in self._slots if slot.process is not None]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """``signal_stop`` and wait for every child; kill what is still running after the timeout."""
        self.signal_stop()
        with self._lock:
            processes = [slot.process for slot in self._slots if slot.process is not None]
        deadline = time.monotonic() + self._stop_timeout_s
        for process in processes:
            try:
                code = process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning(
                    "worker process %d did not stop in %.0f s; killing it", process.pid, self._stop_timeout_s
                )
                process.kill()
                code = process.wait()
            if code != 0:
                logger.warning("worker process %d exited with code %d while stopping", process.pid, code)
            _close(process.stdin)
        for watcher in self._watchers:
            watcher.join(5)

    def _spawn(self, slot: _Slot) -> None:
        argv = [sys.executable, "-m", "hub.cli", "worker-process"]
        # Its own process group: Ctrl-C reaches the parent only, which stops the children in order.
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, process_group=0)
        assert process.stdin is not None
        try:
            process.stdin.write(self._spec.line(slot.index))
            process.stdin.flush()
        except OSError:
            pass  # it died at once; the watcher sees it exit
        with self._lock:
            slot.process, slot.url, slot.started_at = process, None, time.monotonic()
            slot.ready.clear()
        logger.info("worker process %d started (pid %d)", slot.index, process.pid)

    def _watch(self, slot: _Slot) -> None:
        backoff = RESPAWN_INITIAL_S
        while True:
            process = slot.process
            assert process is not None
            assert process.stdout is not None
            for raw in process.stdout:
                line = raw.decode(errors="replace").strip()
                if line.startswith(READY_PREFIX):
                    with self._lock:
                        slot.url = line.removeprefix(READY_PREFIX)
                    slot.ready.set()
                    logger.info("worker process %d (pid %d) ready at %s", slot.index, process.pid, slot.url)
            code = process.wait()
            if self._stopping.is_set():
                return
            ran_s = time.monotonic() - slot.started_at
            if ran_s >= RESPAWN_RESET_S:
                backoff = RESPAWN_INITIAL_S
            logger.warning(
                "worker process %d (pid %d) exited with code %d; starting another in %.0f s",
                slot.index,
                process.pid,
                code,
                backoff,
            )
            _close(process.stdin)
            slot.ready.set()  # nobody waits for a dead child
            if self._stopping.wait(backoff):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._spawn(slot)
            backoff = min(RESPAWN_MAX_S, backoff * 2)


def _close(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):
            stream.close()


def start_worker_pool(
    node: Any,
    config: Mapping[str, str],
    kafka_listener: tuple[str, int],
    rest_listener: tuple[str, int],
    log_level: str,
    count: int,
    ready_timeout_s: float = 60.0,
) -> WorkerPool | None:
    """``count`` child workers of `hub start` over ``node``'s listener (None for none), waited for until each has
    its first assignment (at most ``ready_timeout_s``: one that is late joins later)."""
    if count < 1:
        return None
    from hub.cli.wiring import worker_store_access

    bootstrap, access = worker_store_access(node, kafka_listener)
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(rest_listener[0], rest_listener[0])
    spec = ChildSpec(config, bootstrap, access, host, log_level)
    pool = WorkerPool(spec, count)
    pool.start()
    ready = pool.wait_ready(ready_timeout_s)
    if len(ready) < count:
        logger.warning("%d of %d worker processes ready after %.0f s", len(ready), count, ready_timeout_s)
    return pool
