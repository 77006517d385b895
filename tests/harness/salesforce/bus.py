"""The streaming event bus of the test server: the retained events of every channel, with their replay ids.

Responsibility: keep the events published on each Streaming API channel (``/data/AccountChangeEvent``,
``/data/ChangeEvents``, ``/topic/<PushTopic>``, ``/event/<Name>__e``) for the retention window, give each a replay
id, answer "the events after replay id N" for a subscription, and push new events to the live subscribers.

Replay ids come from one counter shared by every channel, so the ids of one channel are increasing but not
contiguous — as Salesforce says of its own, they are opaque positions a subscriber must not compute with. One event
published on several channels (a change event on its entity channel and on ``/data/ChangeEvents``) has one replay id.

Retention: an event older than ``retention_ms`` (72 hours by default, as for change and high-volume platform events;
the test control API shortens it) is dropped when the bus next looks. A subscription from replay id N is valid when
no event after N was dropped from that channel and N is not past the newest id handed out; otherwise
:class:`InvalidReplayIdError` (the Streaming API's ``400::The replayId {N} you provided was invalid…``).

Thread-safety: every method may be called from any thread; one lock guards the logs and the subscriber list, and
listeners are called under it, in publish order (they must only queue the event, never call back).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: Salesforce's retention for change events and high-volume platform events.
DEFAULT_RETENTION_MS = 72 * 3600 * 1000
#: Replay from here: only events published after the subscription.
REPLAY_NEW = -1
#: Replay from here: every retained event, then the new ones.
REPLAY_ALL = -2


class InvalidReplayIdError(ValueError):
    """A subscription asked for events after a replay id the channel no longer (or never) had."""

    def __init__(self, channel: str, replay_id: int) -> None:
        super().__init__(
            f"The replayId {{{replay_id}}} you provided was invalid.  Please provide a valid ID, -2 to replay all "
            "events, or -1 to replay only new events."
        )
        self.channel = channel
        self.replay_id = replay_id


@dataclass(frozen=True)
class BusEvent:
    """One published event: its replay id, when it was published, and the ``data`` member of its message."""

    replay_id: int
    published_ms: int
    data: dict[str, Any]


Listener = Callable[[str, BusEvent], None]


class RetentionWindow:
    """Where the retention window is kept: here, or (subclassed) in the org's settings the control API changes."""

    def __init__(self, retention_ms: int = DEFAULT_RETENTION_MS) -> None:
        self._retention_ms = retention_ms

    def get(self) -> int:
        return self._retention_ms

    def set(self, retention_ms: int) -> None:
        self._retention_ms = retention_ms


class _ChannelLog:
    """The retained events of one channel, oldest first, and the newest replay id dropped from it."""

    def __init__(self) -> None:
        self.events: deque[BusEvent] = deque()
        self.dropped_through = 0


class EventBus:
    """Channels' retained events, replay ids, and the live subscribers (see the module docstring)."""

    def __init__(
        self,
        *,
        retention_ms: int = DEFAULT_RETENTION_MS,
        clock: Callable[[], float] = time.time,
        window: RetentionWindow | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._clock = clock
        self._window = window or RetentionWindow(retention_ms)
        self._logs: dict[str, _ChannelLog] = {}
        self._last_replay_id = 0
        self._listeners: dict[int, tuple[frozenset[str], Listener]] = {}
        self._next_listener = 0

    @property
    def retention_ms(self) -> int:
        return self._window.get()

    def set_retention_ms(self, retention_ms: int) -> None:
        """Change the window; events older than the new one are dropped at once."""
        if retention_ms < 0:
            raise ValueError("the retention window cannot be negative")
        with self._lock:
            self._window.set(retention_ms)
            self._expire()

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def publish(self, channels: tuple[str, ...], make_data: Callable[[int], dict[str, Any]]) -> BusEvent:
        """Give the next replay id to one event, built by ``make_data(replay_id)``, retained on every channel."""
        with self._lock:
            self._expire()
            self._last_replay_id += 1
            event = BusEvent(self._last_replay_id, self.now_ms(), make_data(self._last_replay_id))
            for channel in channels:
                self._logs.setdefault(channel, _ChannelLog()).events.append(event)
            for wanted, listener in list(self._listeners.values()):
                for channel in channels:
                    if channel in wanted:
                        listener(channel, event)
            return event

    def subscribe(self, channels: dict[str, int], listener: Listener) -> int:
        """Register ``listener`` for new events on ``channels`` and first hand it the retained events each replay id
        asks for, all under one lock so nothing published meanwhile is missed or doubled. Returns a handle for
        :meth:`unsubscribe`; InvalidReplayIdError (nothing registered) when a replay id is out of the window."""
        with self._lock:
            self._expire()
            backlog: list[tuple[str, BusEvent]] = []
            for channel, replay_id in channels.items():
                backlog.extend((channel, event) for event in self._after(channel, replay_id))
            handle = self._next_listener
            self._next_listener += 1
            self._listeners[handle] = (frozenset(channels), listener)
            for channel, event in sorted(backlog, key=lambda item: item[1].replay_id):
                listener(channel, event)
            return handle

    def unsubscribe(self, handle: int) -> None:
        with self._lock:
            self._listeners.pop(handle, None)

    def expire(self) -> None:
        """Drop the events now outside the window (also done before every publish and subscribe)."""
        with self._lock:
            self._expire()

    def retained(self, channel: str) -> list[BusEvent]:
        with self._lock:
            self._expire()
            log = self._logs.get(channel)
            return list(log.events) if log else []

    def _after(self, channel: str, replay_id: int) -> list[BusEvent]:
        log = self._logs.get(channel) or _ChannelLog()
        if replay_id == REPLAY_NEW:
            return []
        if replay_id == REPLAY_ALL:
            return list(log.events)
        if replay_id < log.dropped_through or replay_id > self._last_replay_id or replay_id < 0:
            raise InvalidReplayIdError(channel, replay_id)
        return [event for event in log.events if event.replay_id > replay_id]

    def _expire(self) -> None:
        cutoff = self.now_ms() - self._window.get()
        for log in self._logs.values():
            while log.events and log.events[0].published_ms <= cutoff:
                log.dropped_through = log.events.popleft().replay_id
