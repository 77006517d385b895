"""Exactly-once source options (KIP-618, Connect's names) and their preflight checks.

The worker option ``exactly.once.source.support`` (disabled | preparing | enabled) says whether source tasks write
their records and offsets in transactions (enabled) and whether the leader fences a connector's previous task
generation before new tasks start (preparing and enabled; preparing lets a running cluster be switched over worker
by worker, as in Connect). A source connector takes ``exactly.once.support`` (requested | required),
``transaction.boundary`` (poll | interval | connector) and ``transaction.boundary.interval.ms``; Connect's
per-connector ``offsets.storage.topic`` is refused (offsets stay in the worker's offsets topic).

``check_source`` adds Connect's preflight problems to a validation, with Connect's messages: ``required`` on a
worker without exactly-once support or with a connector that does not declare SUPPORTED, and ``connector``
boundaries with a connector that cannot define them. Unlike Connect's standalone mode, Hub's standalone herder runs
these checks too: a standalone worker keeps offsets in the store's topic and can deliver exactly once, and one
that cannot (offsets in a file) refuses ``enabled`` at start, so ``required`` is never accepted and then ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.sdk.config import ConfigKey, ConfigType, Importance
from hub.sdk.connector import Connector, ConnectorTransactionBoundaries, ExactlyOnceSupport, SourceConnector

log = logging.getLogger("hub.runtime.exactly_once")

EXACTLY_ONCE_GROUP = "Exactly Once Support"
SOURCE_SUPPORT_KEY = "exactly.once.source.support"


class SourceSupport(StrEnum):
    """The worker's ``exactly.once.source.support``."""

    DISABLED = "disabled"
    PREPARING = "preparing"
    ENABLED = "enabled"

    @property
    def fences(self) -> bool:
        """Whether the leader fences previous task generations (preparing and enabled)."""
        return self is not SourceSupport.DISABLED


class Boundary(StrEnum):
    """A source connector's ``transaction.boundary``."""

    POLL = "poll"
    INTERVAL = "interval"
    CONNECTOR = "connector"


WORKER_KEY = ConfigKey(
    SOURCE_SUPPORT_KEY,
    ConfigType.STRING,
    SourceSupport.DISABLED.value,
    "Whether source tasks write their records and source offsets in transactions, and the leader fences a "
    "connector's previous task generation before starting new tasks. A new cluster: enabled. An existing one: "
    "preparing on every worker, then enabled (a rolling restart each time).",
    importance=Importance.HIGH,
    choices=tuple(support.value for support in SourceSupport),
)

_INTERVAL_DOC = (
    "With transaction.boundary=interval, how often tasks commit their transaction; unset: the worker's "
    "offset.flush.interval.ms."
)

SOURCE_KEYS = [
    ConfigKey("exactly.once.support", ConfigType.STRING, "requested",
              "requested or required. required: the connector must declare that it can deliver exactly once with "
              "this config, and the worker must have exactly-once source support enabled, or the config is refused.",
              group=EXACTLY_ONCE_GROUP, choices=("requested", "required"), case_insensitive_choices=True),
    ConfigKey("transaction.boundary", ConfigType.STRING, Boundary.POLL.value,
              "poll: a transaction per batch of records a task returns; interval: a transaction every "
              "transaction.boundary.interval.ms; connector: the tasks end transactions themselves (only for "
              "connectors that can).", group=EXACTLY_ONCE_GROUP, choices=tuple(b.value for b in Boundary),
              case_insensitive_choices=True),
    ConfigKey("transaction.boundary.interval.ms", ConfigType.LONG, None, _INTERVAL_DOC, group=EXACTLY_ONCE_GROUP,
              importance=Importance.LOW, minimum=0),
]  # fmt: skip

#: Connect's per-connector offsets topic, which Hub does not offer: every connector's offsets are in the worker's.
OFFSETS_TOPIC_UNSUPPORTED = (
    "offsets.storage.topic",
    "a separate offsets topic per connector is not supported; source offsets are kept in the worker's "
    "offset.storage.topic",
)


@dataclass(frozen=True)
class ExactlyOnceSettings:
    """A source connector's exactly-once options, typed."""

    required: bool
    boundary: Boundary
    interval_ms: int | None

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> ExactlyOnceSettings:
        """From the connector's typed common options (``parse_common``)."""
        interval = options.get("transaction.boundary.interval.ms")
        return cls(
            str(options.get("exactly.once.support") or "requested").lower() == "required",
            Boundary(str(options.get("transaction.boundary") or "poll").lower()),
            None if interval is None else int(interval),
        )


_NO_PREFLIGHT = (
    "The connector does not implement the API required for preflight validation of exactly-once source support. "
    "Please consult the documentation for the connector to determine whether it supports exactly-once semantics, "
    'and then consider reconfiguring the connector to use the value "requested" for this property (which will '
    "disable this preflight check and allow the connector to be created)."
)
_UNSUPPORTED = "The connector does not support exactly-once semantics with the provided configuration."
_WORKER_DISABLED = "This worker does not have exactly-once source support enabled."
_NO_BOUNDARIES = (
    "The connector does not support connector-defined transaction boundaries with the given configuration. "
    "Please reconfigure it to use a different transaction boundary definition."
)


def check_source(
    connector_class: type[Connector],
    config: Mapping[str, str],
    problems: dict[str, list[str]],
    *,
    worker_enabled: bool,
) -> None:
    """Add Connect's preflight problems (see the module docstring); options already refused are left alone."""
    if not issubclass(connector_class, SourceConnector):
        return
    support = str(config.get("exactly.once.support", "requested")).strip().lower()
    if "exactly.once.support" not in problems and support == "required":
        if not worker_enabled:
            problems.setdefault("exactly.once.support", []).append(_WORKER_DISABLED)
        message = _ask(lambda: _exactly_once_problem(connector_class().exactly_once_support(dict(config))))
        if message:
            problems.setdefault("exactly.once.support", []).append(message)
    boundary = str(config.get("transaction.boundary", "poll")).strip().lower()
    if "transaction.boundary" not in problems and boundary == Boundary.CONNECTOR:
        message = _ask(lambda: _boundaries_problem(connector_class().can_define_transaction_boundaries(dict(config))))
        if message:
            problems.setdefault("transaction.boundary", []).append(message)


def _exactly_once_problem(answer: ExactlyOnceSupport | None) -> str | None:
    if answer is None:
        return _NO_PREFLIGHT
    return None if answer == ExactlyOnceSupport.SUPPORTED else _UNSUPPORTED


def _boundaries_problem(answer: ConnectorTransactionBoundaries | None) -> str | None:
    if answer is None:
        return (
            "This connector has returned a null value from its canDefineTransactionBoundaries method, which is not "
            "permitted. The connector will be treated as if it cannot define its own transaction boundaries, and "
            "cannot be configured with 'transaction.boundary' set to 'connector'."
        )
    return None if answer == ConnectorTransactionBoundaries.SUPPORTED else _NO_BOUNDARIES


def _ask(check: Any) -> str | None:
    """A connector's answer as a problem; an exception from the connector becomes one too, as in Connect."""
    try:
        result: str | None = check()
        return result
    except Exception as exc:
        log.error("a connector failed while its exactly-once support was checked", exc_info=exc)
        detail = str(exc).strip()
        if detail:
            return f"An unexpected error occurred during validation: {detail}"
        return "An unexpected error occurred during validation; please see the worker logs for more details."


def task_transactional_id(group_id: str, connector: str, task: int) -> str:
    """The transactional id of a task's producer, as Connect names it: ``{group.id}-{connector}-{task}``."""
    return f"{group_id}-{connector}-{task}"
