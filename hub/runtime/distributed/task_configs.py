"""TaskConfigSender: brings the task configs a worker generated for a connector it runs to the group's leader,
which alone writes them to the config topic (Kafka Connect's internal ``PUT /connectors/{name}/tasks``).

Only the newest configs of each connector wait here. A sending thread delivers them to the leader known at the
time; while no leader is known, or the leader cannot take them (a rebalance, a worker that died), they wait for
the next leader (``leader_changed``, called after every rebalance) or a retry after a backoff. They are dropped
once delivered, when newer configs of the same connector replace them, when the connector leaves this worker
(``discard``), and when the leader refuses them for good (the connector was deleted or stopped meanwhile).

Requests are signed with the group's session key (``hub/runtime/request_signing.py``): the leader's REST API
takes them without credentials and checks the signature. A signature the leader refuses (403: a key rotated since
this worker read it) is retried once this worker has read the new key.

Thread-safe: ``submit``, ``discard`` and ``leader_changed`` may be called from any thread.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence

log = logging.getLogger("hub.runtime.distributed")

TaskConfigs = list[dict[str, str]]


class UndeliveredError(Exception):
    """The leader did not take the configs: ``retry`` later, or (``retry`` False) never."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


#: Sends ``configs`` of connector ``name`` to the leader at ``url``; raises UndeliveredError when it did not take them.
Send = Callable[[str, str, TaskConfigs], None]
#: The headers that sign a request body (UndeliveredError, to retry, while no session key is known).
Sign = Callable[[bytes], Mapping[str, str]]

# Workers of one cluster talk to each other over their own certificates (as the REST layer's forwarding does).
_UNVERIFIED = ssl._create_unverified_context()


def send_over_rest(url: str, name: str, configs: TaskConfigs, *, sign: Sign, timeout_s: float = 30.0) -> None:
    """Signed ``PUT {url}/connectors/{name}/tasks?forward=true``: a worker that is no longer the leader forwards it
    once."""
    target = f"{url.rstrip('/')}/connectors/{urllib.parse.quote(name, safe='')}/tasks?forward=true"
    body = json.dumps(configs).encode()
    headers = {"Content-Type": "application/json", **sign(body)}
    request = urllib.request.Request(target, data=body, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=_UNVERIFIED):
            return
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        # 403: signed under a key the leader has replaced since; 503: the leader has not read a key yet.
        raise UndeliveredError(
            f"the leader {url} answered {exc.code}: {detail}", retry=exc.code not in (400, 401, 404)
        ) from None
    except OSError as exc:
        raise UndeliveredError(f"the leader {url} did not answer: {exc}", retry=True) from None


class TaskConfigSender:
    """Delivers task configs to the leader (see the module docstring)."""

    def __init__(
        self,
        worker_id: str,
        leader: Callable[[], str | None],
        send: Send,
        write_here: Callable[[str, TaskConfigs], None],
        *,
        initial_backoff_s: float = 0.5,
        max_backoff_s: float = 10.0,
    ) -> None:
        self.worker_id = worker_id
        self._leader = leader
        self._send = send
        self._write_here = write_here
        self._initial_backoff_s = initial_backoff_s
        self._max_backoff_s = max_backoff_s
        self._pending: dict[str, TaskConfigs] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hub-task-configs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(60)

    def submit(self, name: str, configs: Sequence[Mapping[str, str]]) -> None:
        """Deliver these configs of ``name`` (replacing any not delivered yet)."""
        with self._lock:
            self._pending[name] = [dict(config) for config in configs]
        self._wake.set()

    def discard(self, name: str) -> None:
        """``name`` no longer runs here: its undelivered configs are someone else's to write."""
        with self._lock:
            self._pending.pop(name, None)

    def pending(self) -> set[str]:
        with self._lock:
            return set(self._pending)

    def leader_changed(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        backoff_s = self._initial_backoff_s
        while not self._closed.is_set():
            self._wake.wait(backoff_s if self.pending() else None)
            self._wake.clear()
            if self._closed.is_set():
                return
            delivered = self._deliver_all()
            backoff_s = self._initial_backoff_s if delivered else min(backoff_s * 2, self._max_backoff_s)

    def _deliver_all(self) -> bool:
        """One attempt for every pending connector; False when some must be retried."""
        with self._lock:
            batch = dict(self._pending)
        done_all = True
        for name, configs in batch.items():
            leader = self._leader()
            if leader is None:
                return False  # leader_changed() wakes this thread once there is one
            if not self._deliver(leader, name, configs):
                done_all = False
                continue
            with self._lock:
                if self._pending.get(name) == configs:
                    del self._pending[name]
        return done_all

    def _deliver(self, leader: str, name: str, configs: TaskConfigs) -> bool:
        """True when the configs were written or refused for good; False to retry."""
        try:
            if leader == self.worker_id:
                self._write_here(name, configs)
                return True
            self._send(leader, name, configs)
            log.info("sent %d task config(s) of %s to the leader %s", len(configs), name, leader)
            return True
        except UndeliveredError as exc:
            if exc.retry:
                log.info("task configs of %s not delivered yet: %s", name, exc)
                return False
            log.warning("task configs of %s dropped: %s", name, exc)
            return True
        except Exception as exc:
            log.warning("task configs of %s not written yet: %s", name, exc)
            return False
