"""Keeps one Streaming API subscription alive on a thread of its own and hands its events to the task.

Responsibility: handshake, subscribe to one channel from a replay id, long-poll, and put every data message into a
bounded queue in arrival order; across failures, resubscribe from the replay id of the last message queued, so the
task sees each event once per subscription and in order:

- ``403::Unknown client`` (the server forgot the client, e.g. after a restart or a long pause): handshake again,
  at once the first time, then with waits doubling from ``backoff_ms`` up to 10 s while it keeps failing;
- the session expired (401): ``relogin()``, then handshake;
- a network error or any other refusal: the same backoff, then handshake;
- the replay id is outside the retention window: per ``on_invalid_replay`` — ``fail`` (the task fails with the
  server's message), ``all`` (resubscribe with -2: every retained event), ``latest`` (-1: only new ones);
- any other subscribe refusal (an unknown channel): the task fails with the server's message;
- an answer longer than ``connection.max.message.size``: the task fails naming it (the same events would come
  again).

Thread-safety: ``start``/``stop``/``take`` are called from the task's threads; the queue and an Event connect them.
The subscriber thread is a daemon: a long poll that does not return after ``stop`` cannot keep the process alive.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from connectors.salesforce.cometd import (
    AuthenticationError,
    BayeuxClient,
    BayeuxError,
    InvalidReplayIdError,
    MessageTooLargeError,
    UnknownClientError,
)

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0
QUEUE_EVENTS = 10_000
REPLAY_CHOICES = {"all": -2, "latest": -1}


class StreamSubscriber:
    """One channel's subscription, run on a daemon thread (see the module docstring)."""

    def __init__(
        self,
        client: BayeuxClient,
        channel: str,
        replay_id: int,
        *,
        relogin: Callable[[], None],
        on_invalid_replay: str = "fail",
        backoff_ms: int = 100,
    ) -> None:
        self.client = client
        self.channel = channel
        self.replay_id = replay_id
        self._relogin = relogin
        self._on_invalid_replay = on_invalid_replay
        self._backoff_s = backoff_ms / 1000
        self._events: queue.Queue[dict[str, Any]] = queue.Queue(QUEUE_EVENTS)
        self._stopped = threading.Event()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"salesforce-stream {channel}", daemon=True)
        self.error: str | None = None
        self.handshakes = 0
        self.subscriptions = 0  # subscribe calls that succeeded; events from then on arrive (replay id -1)

    def start(self) -> None:
        self._thread.start()

    def wait_subscribed(self, timeout_s: float) -> bool:
        """Whether the first subscription was made within ``timeout_s`` (False also when it failed)."""
        deadline = time.monotonic() + timeout_s
        while not self._subscribed.wait(0.05):
            if self.error is not None or time.monotonic() > deadline or not self._thread.is_alive():
                return False
        return True

    def take(self, max_events: int, wait_s: float) -> list[dict[str, Any]]:
        """Up to ``max_events`` queued events, waiting at most ``wait_s`` for the first."""
        try:
            first = self._events.get(timeout=wait_s)
        except queue.Empty:
            return []
        events = [first]
        while len(events) < max_events:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        return events

    def stop(self) -> None:
        self._stopped.set()
        threading.Thread(target=self._disconnect, name="salesforce-stream disconnect", daemon=True).start()

    def _disconnect(self) -> None:
        self.client.disconnect()  # the server then answers a waiting connect at once
        self.client.close()

    def _run(self) -> None:
        failures = 0
        subscribed = False
        while not self._stopped.is_set():
            try:
                if not subscribed:
                    self.client.handshake()
                    self.handshakes += 1
                    self.client.subscribe(self.channel, self.replay_id)
                    subscribed = True
                    self.subscriptions += 1
                    self._subscribed.set()
                    log.info("subscribed to %s from replay id %s", self.channel, self.replay_id)
                for message in self.client.connect():
                    if message.get("channel") == self.channel:
                        self._queue(message)
                failures = 0
            except InvalidReplayIdError as exc:
                subscribed = False
                if self._on_invalid_replay not in REPLAY_CHOICES:
                    self.error = f"cannot resume {self.channel} from replay id {self.replay_id}: {exc.error}"
                    return
                log.warning(
                    "%s: replay id %s is outside the retention window (%s); resubscribing with %s",
                    self.channel,
                    self.replay_id,
                    exc.error,
                    self._on_invalid_replay,
                )
                self.replay_id = REPLAY_CHOICES[self._on_invalid_replay]
            except AuthenticationError as exc:
                subscribed = False
                failures += 1
                log.info("%s: %s; logging in again", self.channel, exc.error)
                try:
                    self._relogin()
                except Exception as login_error:  # the task sees it; the session scrubs secrets from it
                    self.error = f"logging in again for {self.channel} failed: {login_error}"
                    return
                self._pause(failures)
            except UnknownClientError as exc:
                subscribed = False
                failures += 1
                log.info("%s: %s; handshaking again", self.channel, exc.error)
                self._pause(failures)
            except MessageTooLargeError as exc:
                self.error = f"reading {self.channel} failed: {exc.error}"
                return
            except BayeuxError as exc:
                subscribed = False
                if exc.channel == "/meta/subscribe":
                    self.error = f"subscribing to {self.channel} failed: {exc.error}"
                    return
                failures += 1
                log.warning("%s: %s; handshaking again", self.channel, exc.error)
                self._pause(failures)
            except requests.RequestException as exc:
                subscribed = False
                failures += 1
                if not self._stopped.is_set():
                    log.warning("%s: %s: %s; handshaking again", self.channel, type(exc).__name__, exc)
                self._pause(failures)

    def _queue(self, message: dict[str, Any]) -> None:
        while not self._stopped.is_set():
            try:
                self._events.put(message, timeout=0.5)
                break
            except queue.Full:
                continue
        replay_id = (message.get("data") or {}).get("event", {}).get("replayId")
        if isinstance(replay_id, int):
            self.replay_id = replay_id

    def _pause(self, failures: int) -> None:
        """No wait after the first failure of a streak, then waits doubling up to MAX_BACKOFF_S."""
        if failures > 1:
            self._stopped.wait(min(MAX_BACKOFF_S, self._backoff_s * 2 ** (failures - 2)))
