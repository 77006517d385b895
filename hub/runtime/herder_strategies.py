"""The two choices that make a herder standalone or distributed, given to its parts as strategies.

- **Placement**: which connectors and tasks this worker runs. The reconciler runs exactly those; a standalone
  worker runs everything (``EverythingHere``), a worker of a group its share of the group's assignment.
- **Write gate**: whether this worker may change the desired state now. A standalone worker always may
  (``AlwaysWritable``); a worker of a group only while it is the leader, otherwise ``check`` raises NotLeaderError
  carrying the leader's URL, and the REST layer forwards the request there.
- **Task configs destination**: where the task configs this worker generated for a connector it runs are stored:
  straight into the config store here, through the leader in a group.

Implementations are called from any thread (the herder thread, REST handler threads) and must be thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from hub.runtime.stores import ConfigStore


class Placement(Protocol):
    """Which connectors and tasks this worker runs."""

    def owns_connector(self, name: str) -> bool:
        """Whether this worker runs connector ``name`` itself."""
        ...

    def owned_tasks(self, name: str, count: int) -> set[int]:
        """The tasks of ``name`` (of ``count``) this worker runs."""
        ...


class WriteGate(Protocol):
    """Whether this worker may change the desired state."""

    def check(self) -> None:
        """Return when this worker may write; NotLeaderError (with the URL of the worker that may) otherwise."""
        ...


#: Stores the task configs this worker generated for a connector (on the herder thread; must not block long).
TaskConfigsDestination = Callable[[str, list[dict[str, str]]], None]


class EverythingHere:
    """Placement of a standalone worker: every connector and every task runs here."""

    def owns_connector(self, name: str) -> bool:
        return True

    def owned_tasks(self, name: str, count: int) -> set[int]:
        return set(range(count))


class AlwaysWritable:
    """Write gate of a standalone worker: it always may write."""

    def check(self) -> None:
        return None


def into_store(configs: ConfigStore) -> TaskConfigsDestination:
    """Task configs destination of a standalone worker: its own config store."""
    return configs.put_task_configs
