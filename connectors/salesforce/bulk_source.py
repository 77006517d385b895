"""SalesforceBulkApiSource: sObjects into topics — a Bulk API 2.0 snapshot of each, then its changes by polling
SystemModstamp — answering to Confluent's ``io.confluent.salesforce.SalesforceBulkApiSourceConnector``.

The connector spreads the objects of ``salesforce.object`` over ``min(tasks.max, objects)`` tasks; each task logs
in once and reads its objects in turn (``bulk_reader.ObjectReader``: snapshot, then incremental polling with
overlap and de-duplication by (Id, SystemModstamp); offsets per object). Records go to ``kafka.topic`` (one
object) or ``{topic.prefix}.{SObject}``, keyed by the record's Id, with the object's describe as value schema and
SystemModstamp as timestamp; rows deleted since they were sent come again with ``IsDeleted=true``.

Delivery is at-least-once: see ``bulk_reader`` for which rows a restarted task may send twice.

``poll`` blocks for at most a second when nothing is due; ``stop`` (another thread) cuts the wait short.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence

from connectors.salesforce.bulk_reader import ObjectReader
from connectors.salesforce.config import BULK_SOURCE_CONFIG
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import BulkSourceSettings, ConnectionSettings
from hub.sdk import ConfigDef, SourceConnector, SourceRecord, SourceTask
from hub.sdk.errors import ConfigError, ConnectError

log = logging.getLogger(__name__)

MAX_POLL_RECORDS = 5_000


def check_login(connection: ConnectionSettings) -> dict[str, list[str]]:
    """Log in once, with a timeout of a few seconds and no retries; the problem on the option to fix, or {}."""
    quick = dataclasses.replace(connection, timeout_ms=min(connection.timeout_ms, 5_000), retry_time_ms=0)
    session = SalesforceSession(quick)
    try:
        session.open()
    except ConnectError as exc:
        key = "salesforce.instance" if "unavailable" in str(exc) else "salesforce.username"
        return {key: [str(exc)]}
    finally:
        session.close()
    return {}


class SalesforceBulkApiSourceConnector(SourceConnector):
    """Plans Bulk API source tasks: each gets a share of the objects."""

    aliases = ("io.confluent.salesforce.SalesforceBulkApiSourceConnector", "SalesforceBulkApiSource")

    def __init__(self) -> None:
        self.config: dict[str, str] = {}
        self.settings: BulkSourceSettings | None = None

    def config_def(self) -> ConfigDef:
        return BULK_SOURCE_CONFIG

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        try:
            settings = BulkSourceSettings.parse(config)
        except ConfigError as exc:
            return exc.errors
        return check_login(settings.connection)

    def start(self, config: dict[str, str]) -> None:
        self.settings = BulkSourceSettings.parse(config)
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return SalesforceBulkApiSourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        assert self.settings is not None
        objects = self.settings.objects
        count = max(1, min(max_tasks, len(objects)))
        return [{**self.config, "task.objects": ",".join(objects[index::count])} for index in range(count)]

    def stop(self) -> None:
        """Nothing to release."""


class SalesforceBulkApiSourceTask(SourceTask):
    """Reads its objects in turn (see the module docstring)."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._session: SalesforceSession | None = None
        self._readers: list[ObjectReader] = []
        self._turn = 0

    def start(self, config: dict[str, str]) -> None:
        settings = BulkSourceSettings.parse(config)
        mine = [name for name in config.get("task.objects", ",".join(settings.objects)).split(",") if name]
        self._stopped.clear()
        self._session = SalesforceSession(settings.connection, self._stopped).open()
        reader = self.context.offset_reader
        self._readers = [
            ObjectReader(
                self._session,
                name,
                settings.topics[name],
                page_rows=settings.page_rows,
                since=settings.since,
                overlap_ms=settings.overlap_ms,
                poll_interval_ms=settings.poll_interval_ms,
                snapshot=settings.snapshot,
                stored=reader.offset({"object": name}),
            )
            for name in mine
        ]
        log.info("reading %s from %s", ", ".join(mine), settings.connection.where)

    def poll(self) -> Sequence[SourceRecord]:
        if self._stopped.is_set() or not self._readers:
            return []
        for _ in range(len(self._readers)):
            reader = self._readers[self._turn % len(self._readers)]
            self._turn += 1
            records = reader.poll(MAX_POLL_RECORDS)
            if records:
                return records
            if self._stopped.is_set():
                return []
        wait = min(reader.due_in() for reader in self._readers)
        self._stopped.wait(min(1.0, wait))
        return []

    def stop(self) -> None:
        self._stopped.set()
        for reader in self._readers:
            reader.close()
        if self._session is not None:
            self._session.close()
