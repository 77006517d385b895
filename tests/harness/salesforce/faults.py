"""Faults the control API arms: the next N API requests answer REQUEST_LIMIT_EXCEEDED or 503, a delay before every
answer under a path (a slow org, so a test can act while a long read is under way), and the daily API request
allowance that ``limits`` and the ``Sforce-Limit-Info`` header report.

Thread-safety: all methods lock; ``take`` decides for one request atomically.
"""

from __future__ import annotations

import threading

FAULT_KINDS = ("REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE")


class FaultPlan:
    """Armed faults, consumed one per matching request, and the API request count against its daily maximum."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[tuple[str, str, int]] = []  # (kind, path prefix, requests left)
        self._delays: dict[str, float] = {}  # path prefix -> seconds before each answer
        self.api_requests = 0
        self.api_requests_max = 15000

    def arm(self, kind: str, count: int, path_prefix: str = "/services/") -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {kind!r}")
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        with self._lock:
            self._armed.append((kind, path_prefix, count))

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
            self._delays.clear()

    def slow_down(self, path_prefix: str, seconds: float) -> None:
        """Delay every answer under ``path_prefix`` by ``seconds`` (0 removes the delay)."""
        if not 0 <= seconds <= 60:
            raise ValueError(f"a delay must be between 0 and 60 s, got {seconds}")
        with self._lock:
            if seconds:
                self._delays[path_prefix] = seconds
            else:
                self._delays.pop(path_prefix, None)

    def delay(self, path: str) -> float:
        """Seconds to wait before answering ``path``."""
        with self._lock:
            return max((s for prefix, s in self._delays.items() if path.startswith(prefix)), default=0.0)

    def take(self, path: str) -> str | None:
        """The fault this request must answer with, if one is armed for its path (using it up), else None."""
        with self._lock:
            for position, (kind, prefix, left) in enumerate(self._armed):
                if path.startswith(prefix):
                    if left <= 1:
                        del self._armed[position]
                    else:
                        self._armed[position] = (kind, prefix, left - 1)
                    return kind
            return None

    def count_request(self) -> bool:
        """Count one API request; False when the daily allowance is used up."""
        with self._lock:
            if self.api_requests >= self.api_requests_max:
                return False
            self.api_requests += 1
            return True

    def usage(self) -> tuple[int, int]:
        with self._lock:
            return self.api_requests, self.api_requests_max
