"""What the three Streaming API sources share: one task that subscribes to one channel and turns its events into
records, with the replay id as the source offset.

Offsets: the source partition is ``{"channel": "/data/AccountChangeEvent"}`` (the channel subscribed), the offset
``{"replayId": N}``. A task with a stored offset subscribes from it (Salesforce sends the events after N); without
one it starts from ``salesforce.initial.start`` (-1 new events, -2 all retained). An event that becomes several
records (a change event naming several records) gives the earlier ones the previous event's replay id, so a restart
between them reads the event again rather than skipping its rest. Delivery is at least once: after a crash, events
after the last committed replay id come again.

The subscription itself (handshake, long polls, rehandshake with backoff, re-login) runs on the subscriber's thread
(subscriber.py); ``poll`` takes at most ``hub.salesforce.batch.max.events`` of its events, waiting up to a second,
and a subclass's ``records_of`` turns each into records. ``stop`` from another thread ends the wait.

Thread-safety: the REST session is used by the task thread and, for a re-login, by the subscriber's thread; a lock
serialises them.
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from connectors.salesforce.cometd import BayeuxClient
from connectors.salesforce.schema import SCHEMA_NAMESPACE, ObjectDescription, from_json
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.streaming_config import StreamingSettings
from connectors.salesforce.subscriber import StreamSubscriber
from hub.sdk import ConfigDef, Schema, SourceConnector, SourceRecord, SourceTask
from hub.sdk.errors import ConfigError, ConnectorError, DataError

log = logging.getLogger(__name__)

POLL_WAIT_S = 1.0
SCHEMA_PREFIX = SCHEMA_NAMESPACE + "."


def describe_fields(describe: dict[str, Any]) -> list[tuple[str, Schema]]:
    """``(name, schema)`` of an sObject's describe fields as the Salesforce connectors map them (schema.py), in
    describe order; compound address and location fields are left out (their parts are fields of their own)."""
    return [(field.name, field.schema) for field in ObjectDescription.of(describe).schema.fields]


def typed(schema: Schema, value: Any, where: str) -> Any:
    """An event's JSON value as a value of ``schema``; DataError naming ``where`` when it does not fit."""
    try:
        return from_json(schema, value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: {value!r} is not a valid {schema.name or schema.type.value}: {exc}") from None


class StreamingSourceConnector(SourceConnector):
    """Plans the one task a Streaming API subscription allows (as Confluent's, these connectors run one task)."""

    definition: ClassVar[ConfigDef]

    def __init__(self) -> None:
        self.config: dict[str, str] = {}

    def config_def(self) -> ConfigDef:
        return self.definition

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        try:
            settings = StreamingSettings.parse(config, self.definition)
        except ConfigError as exc:
            return exc.errors
        session = SalesforceSession(settings.connection)
        try:
            session.open()
        except Exception as exc:  # the session's messages carry no secret
            return {"salesforce.username": [str(exc)]}
        finally:
            session.close()
        return {}

    def start(self, config: dict[str, str]) -> None:
        StreamingSettings.parse(config, self.definition)
        self.config = dict(config)

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [self.config]

    def stop(self) -> None:
        """Nothing to release."""


class StreamingSourceTask(SourceTask):
    """Subscribes to ``channel()`` and emits ``records_of(event)`` for each event (see the module docstring)."""

    definition: ClassVar[ConfigDef]

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._session_lock = threading.Lock()
        self.subscriber: StreamSubscriber | None = None
        self._session: SalesforceSession | None = None
        self._last_replay_id = -1
        self.events_read = 0

    @property
    def session(self) -> SalesforceSession:
        if self._session is None:
            raise RuntimeError("the task is not started")
        return self._session

    def start(self, config: dict[str, str]) -> None:
        self.settings = settings = StreamingSettings.parse(config, self.definition)
        self._stopped.clear()
        self._session = SalesforceSession(settings.connection, self._stopped).open()
        channel = self.prepare()
        self.partition = {"channel": channel}
        stored = self.context.offset_reader.offset(self.partition)
        replay_id = settings.initial_replay_id
        if stored and isinstance(stored.get("replayId"), int):
            replay_id = int(stored["replayId"])
        self._last_replay_id = replay_id
        client = BayeuxClient(
            f"{self.session.instance_url}/cometd/{self.session.version}",
            lambda: self.session.access_token,
            connect_timeout_s=settings.connection.timeout_ms / 1000,
            verify=settings.connection.ca_file or True,
            max_message_bytes=settings.connection.max_message_bytes,
        )
        self.subscriber = StreamSubscriber(
            client,
            channel,
            replay_id,
            relogin=self._relogin,
            on_invalid_replay=settings.on_invalid_replay,
            backoff_ms=settings.connection.retry_backoff_ms,
        )
        self.subscriber.start()
        # "latest" means the events after start() returns: wait until the subscription is made.
        if not self.subscriber.wait_subscribed(settings.connection.timeout_ms / 1000):
            self.subscriber.stop()
            raise ConnectorError(self.subscriber.error or f"could not subscribe to {channel} in time")
        log.info("streaming %s from replay id %s", channel, replay_id)

    def _relogin(self) -> None:
        with self._session_lock:
            self.session.login()

    def rest(self, method: str, path: str, **kwargs: Any) -> Any:
        """A REST call through the task's session (re-login and retries included); the response's JSON."""
        with self._session_lock:
            return self.session.request(method, path, **kwargs).json()

    def poll(self) -> Sequence[SourceRecord]:
        subscriber = self.subscriber
        if subscriber is None or self._stopped.is_set():
            return []
        if subscriber.error:
            raise ConnectorError(subscriber.error)
        records: list[SourceRecord] = []
        for message in subscriber.take(self.settings.batch_max_events, POLL_WAIT_S):
            data = message.get("data") or {}
            replay_id = (data.get("event") or {}).get("replayId")
            if not isinstance(replay_id, int):
                raise ConnectorError(f"an event on {subscriber.channel} has no replay id: {str(message)[:300]}")
            made = self.records_of(data)
            for index, record in enumerate(made):
                offset = replay_id if index == len(made) - 1 else self._last_replay_id
                records.append(record.with_source(self.partition, {"replayId": offset}))
            self._last_replay_id = replay_id
            self.events_read += 1
        return records

    def progress(self) -> dict[str, Any]:
        handshakes = self.subscriber.handshakes if self.subscriber else 0
        return {"events": self.events_read, "replay_id": self._last_replay_id, "handshakes": handshakes}

    def stop(self) -> None:
        self._stopped.set()
        if self.subscriber is not None:
            self.subscriber.stop()
        if self._session is not None:
            self._session.close()

    # --- what each source defines ----------------------------------------------------------------------------------

    @abstractmethod
    def prepare(self) -> str:
        """Look up what the records need (describe, the PushTopic) and return the channel to subscribe to."""

    @abstractmethod
    def records_of(self, data: dict[str, Any]) -> list[Pending]:
        """The records of one event's ``data`` member, in order."""


class Pending:
    """A record without its source position yet (the task adds the partition and replay id)."""

    __slots__ = ("key", "key_schema", "timestamp", "topic", "value", "value_schema")

    def __init__(self, topic: str, key: Any, key_schema: Any, value: Any, value_schema: Any, timestamp: int | None):
        self.topic = topic
        self.key = key
        self.key_schema = key_schema
        self.value = value
        self.value_schema = value_schema
        self.timestamp = timestamp

    def with_source(self, partition: dict[str, Any], offset: dict[str, Any]) -> SourceRecord:
        return SourceRecord(
            self.topic,
            self.value,
            self.value_schema,
            key=self.key,
            key_schema=self.key_schema,
            timestamp=self.timestamp,
            source_partition=partition,
            source_offset=offset,
        )
