"""Herder: the one interface for changing and reading the desired state of connectors (the REST API calls one
method per route). Shapes follow Kafka Connect's REST entities. Errors: NotFoundError (404),
AlreadyExistsError (409), ConflictError (409), BadRequestError and ConfigError (400), ForbiddenError (403),
UnavailableError (503, retry later)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.runtime.plugins import PluginInfo
from hub.sdk.errors import ConnectError

if TYPE_CHECKING:
    from hub.runtime.request_signing import RequestSignature


class NotFoundError(ConnectError):
    """No such connector, task or plugin."""


class AlreadyExistsError(ConnectError):
    """A connector of that name exists."""


class ConflictError(ConnectError):
    """The request conflicts with the connector's current state (e.g. offsets of a running connector)."""


class BadRequestError(ConnectError):
    """The request itself is wrong."""


class ForbiddenError(ConnectError):
    """The request is not allowed (an internal request with a wrong signature)."""


class UnavailableError(ConnectError):
    """The worker cannot answer yet (it is starting up); the same request may succeed later."""


class NotLeaderError(ConnectError):
    """This worker cannot do the write; ``url`` is the worker that can (None while no leader is known)."""

    def __init__(self, url: str | None, message: str = "") -> None:
        super().__init__(message or f"only the leader {url or '(unknown)'} can do this")
        self.url = url


@dataclass(frozen=True)
class ConnectorInfo:
    name: str
    config: dict[str, str]
    tasks: list[int]
    type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "config": self.config,
            "tasks": [{"connector": self.name, "task": task} for task in self.tasks],
            "type": self.type,
        }


class Herder(ABC):
    """Desired state of the connectors (see the module docstring)."""

    @abstractmethod
    def start(self) -> None:
        """Read the stores and start running what they hold."""

    @abstractmethod
    def stop(self) -> None:
        """Stop every task and connector (committing offsets), then the stores."""

    @abstractmethod
    def wait_until_ready(self, timeout_s: float) -> None:
        """Block until the herder can take writes (NotLeaderError when it cannot within ``timeout_s``)."""

    def check_writer(self) -> None:
        """Return when this worker is the one that writes its cluster's shared state (the leader); else raise
        NotLeaderError naming the worker that is. Other stores kept beside the connectors' (the schema registry)
        use it so that one worker at a time writes them. A worker alone always writes."""

    @abstractmethod
    def connectors(self) -> list[str]: ...

    @abstractmethod
    def connector_info(self, name: str) -> ConnectorInfo: ...

    @abstractmethod
    def put_connector_config(
        self, name: str, config: Mapping[str, str], *, allow_replace: bool, initial_state: str | None = None
    ) -> tuple[bool, ConnectorInfo]:
        """Create or update; returns (created, info). ConfigError listing every problem."""

    @abstractmethod
    def patch_connector_config(self, name: str, patch: Mapping[str, str | None]) -> ConnectorInfo: ...

    @abstractmethod
    def delete_connector(self, name: str) -> None: ...

    @abstractmethod
    def connector_status(self, name: str) -> dict[str, Any]:
        """Connect's ConnectorStateInfo."""

    @abstractmethod
    def task_status(self, name: str, task: int) -> dict[str, Any]: ...

    @abstractmethod
    def task_configs(self, name: str) -> list[dict[str, Any]]:
        """Connect's TaskInfo list."""

    @abstractmethod
    def pause(self, name: str) -> None: ...

    @abstractmethod
    def resume(self, name: str) -> None: ...

    @abstractmethod
    def stop_connector(self, name: str) -> None: ...

    @abstractmethod
    def restart_connector(self, name: str, *, include_tasks: bool, only_failed: bool) -> dict[str, Any] | None:
        """Restart; with include_tasks or only_failed, the restart plan (a ConnectorStateInfo)."""

    @abstractmethod
    def restart_task(self, name: str, task: int) -> None: ...

    @abstractmethod
    def put_task_configs(
        self, name: str, configs: Sequence[Mapping[str, str]], signature: RequestSignature | None
    ) -> None:
        """Store task configs a worker generated for ``name`` (Connect's internal request to the leader), once
        ``signature`` proves the request comes from a worker of the group (ForbiddenError, BadRequestError)."""

    @abstractmethod
    def validate(self, config: Mapping[str, str]) -> dict[str, Any]:
        """Connect's ConfigInfos, plus ``warnings``."""

    @abstractmethod
    def offsets(self, name: str) -> list[dict[str, Any]]:
        """``[{"partition": {…}, "offset": {…}}]`` for sources; sink offsets per topic partition."""

    @abstractmethod
    def alter_offsets(self, name: str, offsets: Sequence[Mapping[str, Any]]) -> str: ...

    @abstractmethod
    def reset_offsets(self, name: str) -> str: ...

    @abstractmethod
    def topics(self, name: str) -> list[str]:
        """Topics the connector used (KIP-558)."""

    @abstractmethod
    def reset_topics(self, name: str) -> None: ...

    @abstractmethod
    def kafka_cluster_id(self) -> str:
        """The id of the cluster the worker keeps its state in ("" while it cannot be read)."""

    @abstractmethod
    def health(self) -> tuple[str, str]:
        """("healthy" | "starting" | "unhealthy", message)."""

    @abstractmethod
    def plugins(self) -> list[PluginInfo]: ...

    @abstractmethod
    def plugin_config(self, plugin: str) -> list[dict[str, Any]]:
        """Connect's ConfigKeyInfo list of a plugin's options."""
