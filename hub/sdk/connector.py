"""The connector and task API a plugin implements, with the contexts the runtime hands it.

Lifecycle (Kafka Connect's, called by the runtime):

- Connector: ``validate_connection(config)`` whenever a config is validated (on an instance of its own); then
  ``initialize(context)`` → ``start(config)`` → ``task_configs(max_tasks)`` (again whenever the
  connector calls ``context.request_task_reconfiguration()``) → ``stop()``. A connector only plans work; it never
  moves data.
- SourceTask, on its own thread: ``initialize(context)`` → ``start(config)`` → ``poll()`` in a loop →
  ``commit_record(record, metadata)`` per acknowledged record → ``commit()`` after each offset flush → ``stop()``,
  which the runtime calls from *another* thread and which must make a blocked ``poll()`` return.
- SinkTask, on its own thread: ``initialize(context)`` → ``start(config)`` → ``open(partitions)`` on assignment →
  ``put(records)`` repeatedly → ``pre_commit(offsets)`` before each offset commit (default: ``flush(offsets)``
  and commit them) → ``close(partitions)`` on revocation → ``stop()``.

Raise RetriableError for transient failures (the runtime retries, or redelivers the batch to ``put``), any other
exception to fail the task with its trace.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from enum import StrEnum
from typing import Any, ClassVar

from hub.sdk.config import ConfigDef
from hub.sdk.records import SinkRecord, SourceRecord

Config = dict[str, str]
TopicPartition = tuple[str, int]


class ConnectorContext(ABC):
    """What a connector may ask of the runtime."""

    @abstractmethod
    def request_task_reconfiguration(self) -> None:
        """Ask the runtime to call ``task_configs()`` again (the input changed, e.g. a new table appeared)."""

    @abstractmethod
    def raise_error(self, error: Exception) -> None:
        """Fail the connector with ``error`` (from a background thread of the connector)."""


class OffsetReader(ABC):
    """Reads the source offsets the runtime stored for this connector."""

    @abstractmethod
    def offsets(self, partitions: Collection[Mapping[str, Any]]) -> dict[str, Mapping[str, Any] | None]:
        """Offsets of the given source partitions, keyed by their canonical JSON; None when none is stored."""

    def offset(self, partition: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The stored offset of one source partition, or None."""
        found = self.offsets([partition])
        return next(iter(found.values()), None)


class ExactlyOnceSupport(StrEnum):
    """Whether a source connector can deliver exactly once with a given config (Connect's ExactlyOnceSupport)."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"


class ConnectorTransactionBoundaries(StrEnum):
    """Whether a source connector's tasks can say where transactions end (Connect's
    ConnectorTransactionBoundaries)."""

    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"


class TransactionContext(ABC):
    """How a source task ends transactions itself, with ``transaction.boundary=connector`` (Connect's
    TransactionContext). Each call is a request the runtime honours on the task's thread: a commit or abort asked
    without a record takes effect once the records of the current ``poll()`` were handed to the producer; with a
    record, right after that record. An abort drops every record of the open transaction (with its offsets),
    which the source then produces again or skips, as it decides. Call only from ``poll()`` (the task's thread)."""

    @abstractmethod
    def commit_transaction(self, record: SourceRecord | None = None) -> None:
        """Commit the open transaction after the current batch, or after ``record`` (one of this batch's)."""

    @abstractmethod
    def abort_transaction(self, record: SourceRecord | None = None) -> None:
        """Abort the open transaction after the current batch, or after ``record`` (one of this batch's)."""


class SourceTaskContext(ABC):
    """What a source task may ask of the runtime."""

    @property
    @abstractmethod
    def config(self) -> Config:
        """The task's config."""

    @property
    @abstractmethod
    def offset_reader(self) -> OffsetReader:
        """Where to find the offsets to resume from."""

    @property
    def transaction_context(self) -> TransactionContext | None:
        """The task's transaction context when the connector defines its transaction boundaries
        (``transaction.boundary=connector`` with exactly-once delivery); None otherwise."""
        return None


class ErrantRecordReporter(ABC):
    """Sends a record the sink could not handle to the dead-letter queue (per ``errors.tolerance``)."""

    @abstractmethod
    def report(self, record: SinkRecord, error: BaseException) -> Future[None]:
        """Report a bad record; the runtime waits for the future before committing that record's offset."""


class SinkTaskContext(ABC):
    """What a sink task may ask of the runtime."""

    @property
    @abstractmethod
    def config(self) -> Config:
        """The task's config."""

    @abstractmethod
    def assignment(self) -> set[TopicPartition]:
        """The topic partitions this task currently owns."""

    @abstractmethod
    def offset(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Rewind or skip: consume these partitions from these offsets next."""

    @abstractmethod
    def timeout(self, timeout_ms: int) -> None:
        """After a RetriableError from ``put``, wait this long before redelivering the batch."""

    @abstractmethod
    def pause(self, *partitions: TopicPartition) -> None:
        """Stop receiving records of these partitions."""

    @abstractmethod
    def resume(self, *partitions: TopicPartition) -> None:
        """Receive records of paused partitions again."""

    @abstractmethod
    def request_commit(self) -> None:
        """Ask for an offset commit as soon as possible."""

    @property
    @abstractmethod
    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        """The dead-letter reporter, or None when no DLQ and no error logging is configured."""


class Task(ABC):
    """Common base of source and sink tasks."""

    def version(self) -> str:
        """The task's version; by default its package's."""
        return package_version(type(self))

    @abstractmethod
    def start(self, config: Config) -> None:
        """Start with this task's config (as produced by the connector's ``task_configs``)."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and release resources. For source tasks this is called from another thread."""

    def progress(self) -> Mapping[str, Any] | None:
        """Figures about the work, shown with the task's status (every few seconds, on the task's thread): e.g.
        ``{"phase": "snapshot", "done": 4200, "total": 10000}`` (the runtime adds percent and ETA) or
        ``{"lag_bytes": 512}``. None by default."""
        return None


class SourceTask(Task):
    """Reads from an external system and returns records for the runtime to write to topics."""

    context: SourceTaskContext

    def initialize(self, context: SourceTaskContext) -> None:
        self.context = context

    @abstractmethod
    def poll(self) -> Sequence[SourceRecord]:
        """New records, or an empty sequence when there is nothing for now. May block briefly (≈ 1 s)."""

    def commit(self) -> None:
        """Offsets up to the last flushed ones are stored; acknowledge upstream if the source needs it."""

    def commit_record(self, record: SourceRecord, metadata: Any | None) -> None:
        """``record`` is in its topic (metadata says where), or was dropped by a transform/tolerance (None)."""


class SinkTask(Task):
    """Receives records from topics and writes them to an external system."""

    context: SinkTaskContext

    def initialize(self, context: SinkTaskContext) -> None:
        self.context = context

    def open(self, partitions: Collection[TopicPartition]) -> None:
        """These partitions were assigned to this task; prepare writers for them."""

    @abstractmethod
    def put(self, records: Sequence[SinkRecord]) -> None:
        """Write (or buffer) records. RetriableError redelivers the same batch after ``context.timeout``."""

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Make everything ``put`` so far durable in the external system."""

    def pre_commit(self, offsets: Mapping[TopicPartition, int]) -> Mapping[TopicPartition, int]:
        """Offsets safe to commit (next offset to read per partition). Default: flush, then all of them."""
        self.flush(offsets)
        return offsets

    def close(self, partitions: Collection[TopicPartition]) -> None:
        """These partitions were revoked; flush and drop their writers."""


class Connector(ABC):
    """Plans the work: validates its config and splits it into task configs."""

    #: Names a user may write in ``connector.class`` besides the class's own path (e.g. Confluent's class name).
    aliases: ClassVar[tuple[str, ...]] = ()
    context: ConnectorContext

    def initialize(self, context: ConnectorContext) -> None:
        self.context = context

    def version(self) -> str:
        """The connector's version; by default its package's."""
        return package_version(type(self))

    @abstractmethod
    def config_def(self) -> ConfigDef:
        """The options this connector takes (the runtime adds the common ones: name, tasks.max, …)."""

    def validate_connection(self, config: Config) -> Mapping[str, Sequence[str]]:
        """Problems found by trying the external system (connect, log in, look for the bucket…), per option:
        ``{"connection.password": ["password authentication failed for user 'hub'"]}``, empty when it answers.

        ``config`` is the whole connector config with ``${provider:…}`` references resolved. The runtime calls this
        during validation (creating or updating a connector, and ``…/config/validate``) on a thread of its own, only
        once every option passed its declared checks, and waits at most 30 s; a problem refuses the config, as
        Debezium's connectors refuse a database they cannot reach. Put each problem on the option to fix (the
        password for a refused login, the host or URL for an unreachable server) with the server's own message; use
        connect timeouts of a few seconds. Must not raise: an exception is reported on ``connector.class``.
        Default: no problems."""
        return {}

    @abstractmethod
    def start(self, config: Config) -> None:
        """Start with the connector's (validated) config."""

    @abstractmethod
    def task_class(self) -> type[Task]:
        """The task class that does the work."""

    @abstractmethod
    def task_configs(self, max_tasks: int) -> list[Config]:
        """At most ``max_tasks`` task configs; the runtime starts one task per config."""

    @abstractmethod
    def stop(self) -> None:
        """Stop and release resources."""

    def on_delete(self) -> None:
        """The user deleted the connector: remove what it created in the external system (a replication slot, a
        publication). Called once, on the worker running the connector, after its tasks were told to stop and
        before ``stop()``; an error is logged and does not keep the connector. Does nothing by default."""


class SourceConnector(Connector):
    """A connector whose tasks are SourceTasks."""

    @abstractmethod
    def task_class(self) -> type[SourceTask]: ...

    def exactly_once_support(self, config: Config) -> ExactlyOnceSupport | None:
        """Whether this connector, with ``config``, delivers exactly once when the runtime writes its records and
        offsets in transactions: SUPPORTED when a task resumed from its last committed offsets produces exactly
        the records that followed them (same records, same order). Called on a fresh instance while a config with
        ``exactly.once.support=required`` is validated. Default None: the connector does not say, and ``required``
        is refused (``requested`` still runs it with transactions)."""
        return None

    def can_define_transaction_boundaries(self, config: Config) -> ConnectorTransactionBoundaries:
        """Whether this connector's tasks, with ``config``, end transactions through
        ``context.transaction_context`` (needed for ``transaction.boundary=connector``). Default UNSUPPORTED."""
        return ConnectorTransactionBoundaries.UNSUPPORTED


class SinkConnector(Connector):
    """A connector whose tasks are SinkTasks; its config names ``topics`` or ``topics.regex``."""

    @abstractmethod
    def task_class(self) -> type[SinkTask]: ...


class PartitionedSinkConnector(SinkConnector):
    """A sink whose ``tasks.max`` tasks all take the whole config: the runtime's consumer group spreads the topics'
    partitions over them (what most sinks do). Subclasses give ``aliases``, ``config_def`` and ``task_class``, and
    may check options against each other in ``check``."""

    config: Config

    def check(self, config: Config) -> None:
        """Raise ConfigError for options that do not go together; called when the connector starts."""

    def start(self, config: Config) -> None:
        self.check(config)
        self.config = dict(config)

    def task_configs(self, max_tasks: int) -> list[Config]:
        return [dict(self.config) for _ in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release: the tasks hold the clients."""


def package_version(cls: type) -> str:
    """The version of the installed distribution that provides ``cls``'s top-level package, else ``unknown``."""
    from importlib.metadata import PackageNotFoundError, version

    for distribution in _distributions_by_package().get(cls.__module__.split(".")[0], []):
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "unknown"


@functools.cache
def _distributions_by_package() -> Mapping[str, list[str]]:
    # Cached: it reads every installed distribution's file list (a third of a second or more), and listing the
    # plugins asks once per plugin; what is installed is taken as fixed for the life of the process.
    from importlib.metadata import packages_distributions

    return packages_distributions()
