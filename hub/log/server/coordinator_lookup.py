"""CoordinatorLookup: which group coordinator serves a group request on this node, or the error refusing it here.

Every group API (``group_handlers``, ``group_admin_handlers``, ``consumer_group_handlers``) is served only by the
group coordinator: when ``coordinator_node()`` names another node (or none) a request is refused with
NOT_COORDINATOR, and with COORDINATOR_NOT_AVAILABLE when this broker has no GroupCoordinator.

Holds no state of its own: each answer asks ``coordinator_node()`` and the coordinator getter afresh, so it follows
the coordinator as it moves. Safe for one event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.log.error_codes import ErrorCode
from hub.log.group import GroupCoordinator
from hub.log.server.context import CoordinatorNode


class CoordinatorLookup:
    """The coordinator serving group requests on node ``node_id`` (see the module docstring)."""

    def __init__(
        self, coordinator: Callable[[], GroupCoordinator | None], node_id: int, coordinator_node: CoordinatorNode
    ) -> None:
        self._coordinator = coordinator
        self._node_id = node_id
        self.coordinator_node = coordinator_node

    def serving(self) -> GroupCoordinator | ErrorCode:
        """The coordinator to ask, or the error refusing the request here."""
        node = self.coordinator_node()
        if node is None or node[0] != self._node_id:
            return ErrorCode.NOT_COORDINATOR
        coordinator = self._coordinator()
        return ErrorCode.COORDINATOR_NOT_AVAILABLE if coordinator is None else coordinator
