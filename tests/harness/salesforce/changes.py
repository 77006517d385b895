"""The change feed: every record change in the org, published to whoever listens (the streaming bus).

Responsibility: carry one :class:`RecordChange` per create, update, delete and undelete from the org model to its
subscribers, in commit order. Invariants: ``commit_number`` rises by one per published change; listeners are called
in the order they subscribed, on the publishing thread, after the change is committed in the org. Thread-safety:
``subscribe`` and ``publish`` may be called from any thread; publishes are serialised, so listeners see changes one at
a time and in order. A listener must not call back into the org while it runs (the org's lock is held).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CHANGE_TYPES = ("CREATE", "UPDATE", "DELETE", "UNDELETE")
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordChange:
    """One committed change of one record (Change Data Capture's header fields, and the record's values)."""

    entity: str  # sObject API name, e.g. "Account"
    change_type: str  # "CREATE" | "UPDATE" | "DELETE" | "UNDELETE"
    record_ids: tuple[str, ...]  # 18-char ids
    changed_fields: tuple[str, ...]  # field API names changed (UPDATE); all set fields for CREATE
    fields: dict[str, Any]  # the record's values after the change (for DELETE: the last values)
    commit_timestamp_ms: int
    transaction_key: str
    commit_number: int


class ChangeFeed:
    """Fans record changes out to listeners; owned by the org."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._listeners: list[Callable[[RecordChange], None]] = []

    def subscribe(self, listener: Callable[[RecordChange], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def publish(self, change: RecordChange) -> None:
        """Hand ``change`` to every listener; a listener that raises is logged (the server's log) and the others
        still get the change, since the org has already committed it."""
        with self._lock:
            for listener in list(self._listeners):
                try:
                    listener(change)
                except Exception:
                    LOG.exception(
                        "change feed listener %r failed on %s %s", listener, change.change_type, change.record_ids
                    )
