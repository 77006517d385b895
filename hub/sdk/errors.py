"""Errors a connector raises to tell the runtime what happened.

Exception tree::

    ConnectError              base class; the runtime fails the task with this message and trace
    ├── RetriableError        transient: the runtime retries the operation (errors.retry.timeout) or
    │                         redelivers the same batch to put() after a backoff
    ├── ConnectorError        a permanent failure of the connector or task (bad credentials, missing table…)
    ├── DataError             a record cannot be converted or transformed; tolerable per errors.tolerance
    └── ConfigError           a config is invalid; carries every problem found, per key
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ConnectError(Exception):
    """Base class of the errors connectors and the runtime raise."""


class RetriableError(ConnectError):
    """A transient failure: the runtime retries with backoff instead of failing the task."""


class ConnectorError(ConnectError):
    """A permanent failure; the task's status shows this message and its trace."""


class DataError(ConnectError):
    """A record could not be converted or transformed."""


class ConfigError(ConnectError):
    """A config is invalid. ``errors`` maps each config key (or "" for the whole config) to its problems."""

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors = {key: list(messages) for key, messages in errors.items() if messages}
        lines = [f"{key}: {message}" if key else message for key, msgs in self.errors.items() for message in msgs]
        count = len(lines)
        super().__init__(f"{count} config error{'s' if count != 1 else ''}: " + "; ".join(lines))
