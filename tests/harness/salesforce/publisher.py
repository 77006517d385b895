"""Turns the org's record changes into Streaming API events on the bus, shaped as Salesforce documents them.

Responsibility: listen on the org's change feed and publish, per change,

- a change event (Change Data Capture) on ``/data/<Entity>ChangeEvent`` (``Foo__c`` → ``Foo__ChangeEvent``), on
  ``/data/ChangeEvents`` and on each custom channel ``/data/<Name>__chn`` it is a member of (channels.py):
  ``{"schema", "payload": {"ChangeEventHeader": {...}, fields...}, "event": {"replayId"}}``.
  CREATE and UNDELETE carry every non-null field, UPDATE the changed fields (a field set to null is null and named
  in ``nulledFields``), DELETE only the header. ``Id`` is not a payload field: the ids are in ``recordIds``;
- an event on ``/topic/<Name>`` for each PushTopic that notifies it (see pushtopics.py):
  ``{"event": {"createdDate", "replayId", "type"}, "sobject": {...}}``, one per record;
- for a created ``<Name>__e`` record, a platform event on ``/event/<Name>__e``:
  ``{"schema", "payload": {"CreatedDate", "CreatedById", fields...}, "event": {"replayId", "EventUuid"}}``.

Gap and overflow events: ``gap_next(n)`` makes the changes of the next ``n`` change events gap events
(``GAP_CREATE`` … ``GAP_UNDELETE``: the header only, as when Salesforce cannot build the event); a transaction
whose changes pass ``overflow_threshold`` (100,000 as in Salesforce, counting each changed field of an update)
gets, instead of the change events past the threshold, one ``GAP_OVERFLOW`` event per entity with no record ids.

Thread-safety: ``on_change`` runs on the org's publishing thread (one change at a time, in commit order); the
settings are guarded by the bus's lock.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from tests.harness.salesforce.bus import EventBus
from tests.harness.salesforce.changes import RecordChange
from tests.harness.salesforce.channels import CustomChannels
from tests.harness.salesforce.pushtopics import EVENT_TYPES, PushTopicRegistry

ALL_CHANGE_EVENTS = "/data/ChangeEvents"
DEFAULT_OVERFLOW_THRESHOLD = 100_000
#: Fields a change event does not carry: the id is in the header, the others are not tracked.
_NOT_IN_PAYLOAD = frozenset({"id", "isdeleted", "systemmodstamp", "attributes"})
_DEFAULT_USER = "005000000000001AAA"
_TRANSACTIONS_REMEMBERED = 1000


def change_event_channel(entity: str) -> str:
    """``Account`` → ``/data/AccountChangeEvent``; ``Foo__c`` → ``/data/Foo__ChangeEvent``."""
    base = entity[:-1] if entity.endswith("__c") else entity
    return f"/data/{base}ChangeEvent"


def iso_ms(timestamp_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(timestamp_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


def schema_id(name: str, fields: list[str]) -> str:
    """An opaque, stable schema id per event type and field set, shaped like Salesforce's (22 characters)."""
    digest = hashlib.sha256((name + "\0" + "\0".join(sorted(fields))).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return iso_ms(int(moment.timestamp() * 1000))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class StreamingPublisher:
    """The change feed's listener that publishes CDC, PushTopic and platform events (see the module docstring)."""

    def __init__(self, bus: EventBus, *, matches: Callable[[str, dict[str, Any]], bool] | None = None) -> None:
        self.bus = bus
        self.pushtopics = PushTopicRegistry()
        self.channels = CustomChannels()
        self._matches = matches
        self._lock = threading.Lock()
        self._gaps_left = 0
        self.overflow_threshold = DEFAULT_OVERFLOW_THRESHOLD
        self._transactions: OrderedDict[str, list[Any]] = OrderedDict()  # key -> [sequence, changes, overflowed]

    def gap_next(self, count: int) -> None:
        with self._lock:
            self._gaps_left = count

    def known_channels(self) -> set[str]:
        """The PushTopic and custom channels defined in the org."""
        return {f"/topic/{name}" for name in self.pushtopics.names()} | {
            f"/data/{name}" for name in self.channels.names()
        }

    def on_change(self, change: RecordChange) -> None:
        if change.entity == "PushTopic":
            self.pushtopics.apply(change)
            return
        if change.entity.endswith("__e"):
            if change.change_type == "CREATE":
                self._platform_event(change)
            return
        self._change_event(change)
        for topic in self.pushtopics.topics():
            if topic.notifies(change, self._matches):
                for record_id in change.record_ids:
                    self._pushtopic_event(topic.name, change, topic.sobject_values(change, record_id))

    def _pushtopic_event(self, name: str, change: RecordChange, sobject: dict[str, Any]) -> None:
        def data(replay_id: int) -> dict[str, Any]:
            event = {
                "createdDate": iso_ms(change.commit_timestamp_ms),
                "replayId": replay_id,
                "type": EVENT_TYPES[change.change_type],
            }
            return {"event": event, "sobject": sobject}

        self.bus.publish((f"/topic/{name}",), data)

    def _change_event(self, change: RecordChange) -> None:
        with self._lock:
            gap = self._gaps_left > 0
            if gap:
                self._gaps_left -= 1
            state = self._transactions.setdefault(change.transaction_key, [0, 0, set()])
            self._transactions.move_to_end(change.transaction_key)
            while len(self._transactions) > _TRANSACTIONS_REMEMBERED:
                self._transactions.popitem(last=False)
            state[1] += len(change.changed_fields) if change.change_type == "UPDATE" else len(change.record_ids)
            overflow = state[1] > self.overflow_threshold
            if overflow and change.entity in state[2]:
                return  # one overflow event per entity and transaction
            if overflow:
                state[2].add(change.entity)
            state[0] += 1
            sequence = state[0]
        header: dict[str, Any] = {
            "entityName": change.entity,
            "recordIds": [] if overflow else list(change.record_ids),
            "changeType": "GAP_OVERFLOW" if overflow else ("GAP_" if gap else "") + change.change_type,
            "changeOrigin": "com/salesforce/api/rest/hub-test-server",
            "transactionKey": change.transaction_key,
            "sequenceNumber": sequence,
            "commitTimestamp": change.commit_timestamp_ms,
            "commitNumber": change.commit_number,
            "commitUser": str(change.fields.get("LastModifiedById") or _DEFAULT_USER),
            "nulledFields": [],
            "diffFields": [],
            "changedFields": [],
        }
        payload: dict[str, Any] = {"ChangeEventHeader": header}
        if not gap and not overflow:
            self._fill_payload(change, header, payload)
        name = change_event_channel(change.entity)[len("/data/") :]
        schema = schema_id(name, [key for key in change.fields if key.lower() not in _NOT_IN_PAYLOAD])
        self.bus.publish(
            (change_event_channel(change.entity), ALL_CHANGE_EVENTS, *self.channels.of(name)),
            lambda replay_id: {"schema": schema, "payload": payload, "event": {"replayId": replay_id}},
        )

    @staticmethod
    def _fill_payload(change: RecordChange, header: dict[str, Any], payload: dict[str, Any]) -> None:
        if change.change_type in ("CREATE", "UNDELETE"):
            for name, value in change.fields.items():
                if name.lower() not in _NOT_IN_PAYLOAD and value is not None:
                    payload[name] = _json_value(value)
        elif change.change_type == "UPDATE":
            changed = [name for name in change.changed_fields if name.lower() not in _NOT_IN_PAYLOAD]
            if "LastModifiedDate" in change.fields and "LastModifiedDate" not in changed:
                changed.append("LastModifiedDate")
            for name in changed:
                value = change.fields.get(name)
                payload[name] = _json_value(value)
                if value is None:
                    header["nulledFields"].append(name)
            header["changedFields"] = changed

    def _platform_event(self, change: RecordChange) -> None:
        payload: dict[str, Any] = {
            "CreatedDate": iso_ms(change.commit_timestamp_ms),
            "CreatedById": str(change.fields.get("CreatedById") or _DEFAULT_USER),
        }
        for name, value in change.fields.items():
            if name.lower() not in _NOT_IN_PAYLOAD | {"createddate", "createdbyid", "replayid", "eventuuid"}:
                payload[name] = _json_value(value)
        schema = schema_id(change.entity, list(payload))
        event_uuid = str(change.fields.get("EventUuid") or uuid.uuid4())
        self.bus.publish(
            (f"/event/{change.entity}",),
            lambda replay_id: {
                "schema": schema,
                "payload": payload,
                "event": {"replayId": replay_id, "EventUuid": event_uuid},
            },
        )
