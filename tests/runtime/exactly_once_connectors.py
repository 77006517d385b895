"""Source connectors for the exactly-once tests. Register them with ``Plugins.discover(extra=[PLUGIN])``.

- SilentSource: says nothing about exactly-once support (the SDK's defaults).
- RefusingSource: UNSUPPORTED for exactly-once and transaction boundaries, unless ``refuse`` is false.
- RaisingSource: its preflight answers raise (``boom`` as the message, or none).
- ScriptedTxnSource: one task that returns the batches of ``script`` (``;`` between polls, ``,`` between
  records; a record ``N`` has offset ``{"n": N}``; ``N!c`` / ``N!a`` also asks to commit / abort after it, a
  poll ending in ``|c`` / ``|a`` asks for the batch), then nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.sdk import (
    ConfigDef,
    ConfigType,
    ConnectorTransactionBoundaries,
    ExactlyOnceSupport,
    SourceConnector,
    SourceRecord,
    SourceTask,
    hookimpl,
)
from hub.sdk.schema import STRING_SCHEMA


class _Idle(SourceTask):
    def start(self, config: dict[str, str]) -> None:
        """Nothing to open."""

    def poll(self) -> Sequence[SourceRecord]:
        return []

    def stop(self) -> None:
        """Nothing to release."""


class _Base(SourceConnector):
    def config_def(self) -> ConfigDef:
        return ConfigDef().define("refuse", ConfigType.BOOLEAN, True, doc="Refuse exactly-once support.")

    def start(self, config: dict[str, str]) -> None:
        self.config = config

    def task_class(self) -> type[SourceTask]:
        return _Idle

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class SilentSourceConnector(_Base):
    """The SDK's defaults."""


class RefusingSourceConnector(_Base):
    def exactly_once_support(self, config: dict[str, str]) -> ExactlyOnceSupport:
        refuse = config.get("refuse", "true") == "true"
        return ExactlyOnceSupport.UNSUPPORTED if refuse else ExactlyOnceSupport.SUPPORTED

    def can_define_transaction_boundaries(self, config: dict[str, str]) -> ConnectorTransactionBoundaries:
        refuse = config.get("refuse", "true") == "true"
        return ConnectorTransactionBoundaries.UNSUPPORTED if refuse else ConnectorTransactionBoundaries.SUPPORTED


class RaisingSourceConnector(_Base):
    def exactly_once_support(self, config: dict[str, str]) -> ExactlyOnceSupport:
        raise RuntimeError(config.get("message", "boom"))

    def can_define_transaction_boundaries(self, config: dict[str, str]) -> ConnectorTransactionBoundaries:
        raise RuntimeError("")


class ScriptedTxnTask(SourceTask):
    def start(self, config: dict[str, str]) -> None:
        self.polls = config["script"].split(";")
        self.topic = config.get("topic", "out")

    def poll(self) -> Sequence[SourceRecord]:
        if not self.polls:
            return []
        step = self.polls.pop(0)
        step, _, batch_end = step.partition("|")
        transactions = self.context.transaction_context
        records = []
        for item in filter(None, step.split(",")):
            number, _, end = item.partition("!")
            record = SourceRecord(
                self.topic, number, STRING_SCHEMA, None, None, None, None, (), {"p": 0}, {"n": int(number)}
            )
            records.append(record)
            if end and transactions is not None:
                (transactions.commit_transaction if end == "c" else transactions.abort_transaction)(record)
        if batch_end and transactions is not None:
            (transactions.commit_transaction if batch_end == "c" else transactions.abort_transaction)()
        return records

    def stop(self) -> None:
        """Nothing to release."""


class ScriptedTxnSourceConnector(_Base):
    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("script", ConfigType.STRING, doc="Polls (see the module docstring).")
            .define("topic", ConfigType.STRING, "out", doc="Topic of the records.")
        )

    def exactly_once_support(self, config: dict[str, str]) -> ExactlyOnceSupport:
        return ExactlyOnceSupport.SUPPORTED

    def can_define_transaction_boundaries(self, config: dict[str, str]) -> ConnectorTransactionBoundaries:
        return ConnectorTransactionBoundaries.SUPPORTED

    def task_class(self) -> type[SourceTask]:
        return ScriptedTxnTask


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [SilentSourceConnector, RefusingSourceConnector, RaisingSourceConnector, ScriptedTxnSourceConnector]


PLUGIN = _Plugin()
