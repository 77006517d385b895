"""SessionMember: what every GroupMember backend shares — identity, generation, the heartbeat thread that keeps the
session alive, and the rejoin flag that ``poll`` reports.

A backend implements the four coordinator calls (``join``, ``sync`` and the ``_heartbeat`` / ``_leave``
hooks). After a successful ``sync`` the heartbeat thread runs every ``heartbeat_interval_ms`` and raises the
rejoin flag when the coordinator answers that the group is rebalancing, the generation is gone, or this member
was fenced or expired (a frozen process learns it on its first heartbeat and must stop its work).

Not thread-safe except ``wakeup`` and the heartbeat thread's own work.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod

from hub.log.client.api import GroupMember
from hub.log.client.errors import ClientClosedError, ClientError
from hub.log.error_codes import ErrorCode

log = logging.getLogger("hub.log.client.group")

REJOIN_CODES = frozenset(
    {
        ErrorCode.REBALANCE_IN_PROGRESS,
        ErrorCode.ILLEGAL_GENERATION,
        ErrorCode.UNKNOWN_MEMBER_ID,
        ErrorCode.FENCED_INSTANCE_ID,
    }
)


class SessionMember(GroupMember):
    """The shared half of a GroupMember (see the module docstring)."""

    def __init__(
        self,
        group_id: str,
        protocol_type: str,
        *,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        heartbeat_interval_ms: int,
        group_instance_id: str | None,
        client_id: str,
    ) -> None:
        self.group_id = group_id
        self.protocol_type = protocol_type
        self.session_timeout_ms = session_timeout_ms
        self.rebalance_timeout_ms = rebalance_timeout_ms
        self.group_instance_id = group_instance_id
        self.client_id = client_id
        self._heartbeat_s = heartbeat_interval_ms / 1000
        self._member_id = ""
        self._generation_id = -1
        self._rejoin = threading.Event()
        self._woken = threading.Event()
        self._stop_heartbeats = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self._closed = False
        self._confirmed_at = 0.0

    @property
    def member_id(self) -> str:
        return self._member_id

    @property
    def generation_id(self) -> int:
        return self._generation_id

    @property
    def confirmed_at(self) -> float:
        return self._confirmed_at

    def _check_open(self) -> None:
        if self._closed:
            raise ClientClosedError(f"group member of {self.group_id} is closed")

    def _joined(self, member_id: str, generation_id: int) -> None:
        self._member_id = member_id
        self._generation_id = generation_id
        self._rejoin.clear()

    def _synced(self, error: ErrorCode) -> None:
        """After a SyncGroup answer: flag a rejoin on a group error, else start heartbeating."""
        if error in REJOIN_CODES:
            self._rejoin.set()
        if error is ErrorCode.NONE:
            self._confirmed_at = time.monotonic()
            self._stop_heartbeats.clear()
            self._heartbeat_thread = threading.Thread(
                target=self._heartbeat_loop, name=f"hub-heartbeat-{self.group_id}", daemon=True
            )
            self._heartbeat_thread.start()

    def _stop_heartbeat_thread(self) -> None:
        self._stop_heartbeats.set()
        if self._heartbeat_thread is not None and self._heartbeat_thread is not threading.current_thread():
            self._heartbeat_thread.join()
        self._heartbeat_thread = None

    def _heartbeat_loop(self) -> None:
        while not self._stop_heartbeats.wait(self._heartbeat_s):
            try:
                error = self._heartbeat()
            except ClientError as exc:
                log.warning("group %s: heartbeat failed: %s", self.group_id, exc)
                continue
            if error is ErrorCode.NONE:
                self._confirmed_at = time.monotonic()
            if error in REJOIN_CODES:
                log.info("group %s: member %s must rejoin (%s)", self.group_id, self._member_id, error.name)
                if error is ErrorCode.UNKNOWN_MEMBER_ID:
                    self._member_id = ""
                self._rejoin.set()
                self._woken.set()
                return

    @abstractmethod
    def _heartbeat(self) -> ErrorCode:
        """Send one heartbeat for the current generation; the coordinator's answer."""

    @abstractmethod
    def _leave(self) -> None:
        """Tell the coordinator this member leaves (best effort)."""

    def poll(self, timeout_s: float) -> bool:
        if self._rejoin.is_set():
            return True
        self._woken.wait(timeout_s)
        self._woken.clear()
        return self._rejoin.is_set()

    def needs_rejoin(self) -> bool:
        """True before the first join and whenever the group asked this member to rejoin."""
        return self._rejoin.is_set() or self._generation_id < 0

    def wakeup(self) -> None:
        self._woken.set()

    def leave(self) -> None:
        self._stop_heartbeat_thread()
        if self._member_id:
            self._leave()
        self._member_id = ""
        self._generation_id = -1

    def close(self) -> None:
        if self._closed:
            return
        self.leave()
        self._closed = True
        self._woken.set()
