"""CoordinatorLookup: which group coordinator serves a group request on this node, or the error refusing it here.

Every group API (``group_handlers``, ``group_admin_handlers``, ``consumer_group_handlers``) is served only by the
group coordinator: when ``coordinator_node()`` names another node (or none) a request is refused with
NOT_COORDINATOR, and with COORDINATOR_NOT_AVAILABLE when this broker has no GroupCoordinator.

FindCoordinator asks ``node_for(key_type, key)``: a group's coordinator is ``coordinator_node()``, a transactional id's
(key type 1) ``transaction_node(id)`` — the leader of the id's ``__transaction_state`` partition (this node when no
``transaction_node`` is given: a store of one node).

Holds no state of its own: each answer asks ``coordinator_node()`` and the coordinator getter afresh, so it follows
the coordinator as it moves. Safe for one event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.log.error_codes import ErrorCode
from hub.log.group import GroupCoordinator
from hub.log.server.context import CoordinatorNode

#: FindCoordinator's key types (Kafka's CoordinatorType): a group id, a transactional id.
GROUP_KEY = 0
TRANSACTION_KEY = 1


class CoordinatorLookup:
    """The coordinator serving group requests on node ``node_id`` (see the module docstring)."""

    def __init__(
        self,
        coordinator: Callable[[], GroupCoordinator | None],
        node_id: int,
        coordinator_node: CoordinatorNode,
        transaction_node: Callable[[str], tuple[int, str, int] | None] | None = None,
    ) -> None:
        self._coordinator = coordinator
        self._node_id = node_id
        self.coordinator_node = coordinator_node
        self.transaction_node = transaction_node

    def node_for(self, key_type: int, key: str) -> tuple[int, str, int] | ErrorCode | None:
        """Who coordinates ``key`` of ``key_type`` (None: nobody now); INVALID_REQUEST for an unknown key type."""
        if key_type == GROUP_KEY:
            return self.coordinator_node()
        if key_type == TRANSACTION_KEY:
            if self.transaction_node is None:
                node = self.coordinator_node()
                return node if node is not None and node[0] == self._node_id else None
            return self.transaction_node(key)
        return ErrorCode.INVALID_REQUEST

    def serving(self) -> GroupCoordinator | ErrorCode:
        """The coordinator to ask, or the error refusing the request here."""
        node = self.coordinator_node()
        if node is None or node[0] != self._node_id:
            return ErrorCode.NOT_COORDINATOR
        coordinator = self._coordinator()
        return ErrorCode.COORDINATOR_NOT_AVAILABLE if coordinator is None else coordinator
