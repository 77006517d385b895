"""The console's charts: records per second and lag of every connector over the last hour, kept in memory.

Responsibility: a daemon thread samples the herder's connector statuses every ``interval_s`` (the rates and lags
the tasks publish with their progress, hub.runtime.progress) and keeps at most an hour of points per connector;
nothing is written anywhere, so a restarted worker starts empty charts. Sampling starts on the first read (a REST
app nobody opens the console of pays nothing). ``series()`` may be called from any thread: points are appended
and copied under one lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

from hub.runtime.herder import Herder

log = logging.getLogger("hub.rest.ui")

WINDOW_S = 3600.0


class History:
    """Sampled rates and lags per connector (see the module docstring)."""

    def __init__(self, herder: Herder, interval_s: float = 5.0) -> None:
        self._herder = herder
        self.interval_s = interval_s
        self._points: dict[str, deque[tuple[float, float, float]]] = {}
        self._lock = threading.Lock()
        self._started = False
        self._stopped = threading.Event()

    def series(self) -> dict[str, Any]:
        """Per connector ``{"t": [...], "rate": [...], "lag": [...]}`` (t in Unix seconds), oldest first."""
        self._start()
        with self._lock:
            copied = {name: list(points) for name, points in self._points.items()}
        return {
            name: {"t": [p[0] for p in pts], "rate": [p[1] for p in pts], "lag": [p[2] for p in pts]}
            for name, pts in sorted(copied.items())
        }

    def stop(self) -> None:
        self._stopped.set()

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
        self.sample()
        threading.Thread(target=self._run, name="hub-ui-history", daemon=True).start()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            try:
                self.sample()
            except Exception:  # a herder between states must not end the charts
                log.debug("console sample failed", exc_info=True)

    def sample(self) -> None:
        """Add one point per connector now."""
        now = time.time()
        for name in self._herder.connectors():
            try:
                status = self._herder.connector_status(name)
            except Exception:  # deleted meanwhile
                continue
            progress = [t.get("progress") or {} for t in status.get("tasks", [])]
            rate = sum(float(p.get("records_per_second") or 0) for p in progress)
            lag = sum(float(p.get("lag_records") or 0) for p in progress)
            with self._lock:
                points = self._points.setdefault(name, deque())
                points.append((now, rate, lag))
                while points and points[0][0] < now - WINDOW_S:
                    points.popleft()
