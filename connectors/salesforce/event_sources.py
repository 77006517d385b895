"""SalesforcePushTopicSource and SalesforcePlatformEventSource: PushTopic and platform events into records —
Confluent's ``io.confluent.salesforce.SalesforcePushTopicSourceConnector`` and
``…SalesforcePlatformEventSourceConnector`` with their options (offsets and resuming: streaming_source.py).

PushTopic: the task looks the PushTopic ``salesforce.push.topic.name`` up (a SOQL query on ``PushTopic``) and, when
it is missing and ``salesforce.push.topic.create`` is true, creates it selecting every field of ``salesforce.object``
(compound, base64 and long text fields left out, as PushTopic queries refuse them), with the four
``salesforce.push.topic.notify.*`` operations and ``NotifyForFields=All``. Each event becomes one record: the value
is a struct named ``io.confluent.salesforce.<sObject>`` with the describe's fields (those the event's ``sobject``
holds), ``_ObjectType`` and ``_EventType`` (``created``, ``updated``, ``deleted``, ``undeleted``); the key ``{"Id"}``.

Platform events: the value is a struct named ``io.confluent.salesforce.<Name>__e`` with the event's describe fields
(custom fields, ``CreatedDate``, ``CreatedById``, ``ReplayId``, ``EventUuid``) filled from its payload and
``event`` members; no key.

One task each; the session calls on the task's thread.
"""

from __future__ import annotations

from typing import Any

from connectors.salesforce.cdc_source import KEY_SCHEMA
from connectors.salesforce.schema import parse_datetime
from connectors.salesforce.streaming_config import PLATFORM_EVENT_SOURCE_CONFIG, PUSHTOPIC_SOURCE_CONFIG
from connectors.salesforce.streaming_source import (
    SCHEMA_PREFIX,
    Pending,
    StreamingSourceConnector,
    StreamingSourceTask,
    describe_fields,
    typed,
)
from hub.sdk import SourceTask, Struct
from hub.sdk.errors import ConnectorError
from hub.sdk.schema import OPTIONAL_STRING_SCHEMA, Schema, struct_schema

#: Field types a PushTopic query may not select.
_NOT_IN_PUSHTOPIC = frozenset({"address", "location", "base64"})
_LONG_TEXT = 255


def _fill(schema: Schema, values: dict[str, Any], where: str) -> Struct:
    """The struct of ``schema`` with the values named (in any letter case, as a PushTopic query may write them)."""
    by_name = {name.lower(): value for name, value in values.items()}
    struct = Struct(schema)
    for field in schema.fields:
        if field.name.lower() in by_name:
            value = by_name[field.name.lower()]
            struct.put(field.name, typed(field.schema, value, f"{where}.{field.name}"))
    return struct


class SalesforcePushTopicSourceTask(StreamingSourceTask):
    """Subscribes to ``/topic/<salesforce.push.topic.name>``; see the module docstring."""

    definition = PUSHTOPIC_SOURCE_CONFIG

    def prepare(self) -> str:
        values = self.settings.values
        self.sobject = str(values["salesforce.object"])
        name = str(values["salesforce.push.topic.name"])
        describe = self.rest("GET", f"sobjects/{self.sobject}/describe")
        fields = describe_fields(describe)
        self.schema = struct_schema(
            [*fields, ("_ObjectType", OPTIONAL_STRING_SCHEMA), ("_EventType", OPTIONAL_STRING_SCHEMA)],
            name=SCHEMA_PREFIX + self.sobject,
        )
        quoted = name.replace("\\", "\\\\").replace("'", "\\'")
        found = self.rest(
            "GET", "query", params={"q": f"SELECT Id, Name, Query FROM PushTopic WHERE Name = '{quoted}'"}
        )
        if not found.get("records"):
            if not values["salesforce.push.topic.create"]:
                raise ConnectorError(f"there is no PushTopic {name!r} and salesforce.push.topic.create is false")
            self._create(name, describe)
        return f"/topic/{name}"

    def _create(self, name: str, describe: dict[str, Any]) -> None:
        values = self.settings.values
        selectable = [
            str(field["name"])
            for field in describe.get("fields", [])
            if field.get("type") not in _NOT_IN_PUSHTOPIC
            and not (field.get("type") == "textarea" and int(field.get("length") or 0) > _LONG_TEXT)
        ]
        self.rest(
            "POST",
            "sobjects/PushTopic",
            json={
                "Name": name,
                "Query": f"SELECT {', '.join(selectable)} FROM {self.sobject}",
                "ApiVersion": float(self.session.version),
                "NotifyForFields": "All",
                "NotifyForOperationCreate": values["salesforce.push.topic.notify.create"],
                "NotifyForOperationUpdate": values["salesforce.push.topic.notify.update"],
                "NotifyForOperationDelete": values["salesforce.push.topic.notify.delete"],
                "NotifyForOperationUndelete": values["salesforce.push.topic.notify.undelete"],
            },
        )

    def records_of(self, data: dict[str, Any]) -> list[Pending]:
        sobject = dict(data.get("sobject") or {})
        event = data.get("event") or {}
        sobject["_ObjectType"] = self.sobject
        sobject["_EventType"] = event.get("type")
        value = _fill(self.schema, sobject, self.sobject)
        key = Struct(KEY_SCHEMA).put("Id", str(sobject.get("Id")))
        timestamp = _millis(event.get("createdDate"))
        return [Pending(self.settings.topic_for(self.sobject), key, KEY_SCHEMA, value, self.schema, timestamp)]


class SalesforcePlatformEventSourceTask(StreamingSourceTask):
    """Subscribes to ``/event/<salesforce.platform.event.name>``; see the module docstring."""

    definition = PLATFORM_EVENT_SOURCE_CONFIG

    def prepare(self) -> str:
        self.event_name = str(self.settings.values["salesforce.platform.event.name"])
        describe = self.rest("GET", f"sobjects/{self.event_name}/describe")
        self.schema = struct_schema(describe_fields(describe), name=SCHEMA_PREFIX + self.event_name)
        return f"/event/{self.event_name}"

    def records_of(self, data: dict[str, Any]) -> list[Pending]:
        values = dict(data.get("payload") or {})
        event = data.get("event") or {}
        values.setdefault("ReplayId", str(event.get("replayId")))
        if event.get("EventUuid") is not None:
            values.setdefault("EventUuid", event["EventUuid"])
        value = _fill(self.schema, values, self.event_name)
        timestamp = _millis(values.get("CreatedDate"))
        return [Pending(self.settings.topic_for(self.event_name), None, None, value, self.schema, timestamp)]


def _millis(text: Any) -> int | None:
    """An event's ISO-8601 creation time in epoch milliseconds; None when absent or unreadable."""
    if text is None:
        return None
    try:
        return int(parse_datetime(str(text)).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


class SalesforcePushTopicSourceConnector(StreamingSourceConnector):
    """Plans the one task of a PushTopic subscription."""

    aliases = ("io.confluent.salesforce.SalesforcePushTopicSourceConnector", "SalesforcePushTopicSource")
    definition = PUSHTOPIC_SOURCE_CONFIG

    def task_class(self) -> type[SourceTask]:
        return SalesforcePushTopicSourceTask


class SalesforcePlatformEventSourceConnector(StreamingSourceConnector):
    """Plans the one task of a platform event subscription."""

    aliases = ("io.confluent.salesforce.SalesforcePlatformEventSourceConnector", "SalesforcePlatformEventSource")
    definition = PLATFORM_EVENT_SOURCE_CONFIG

    def task_class(self) -> type[SourceTask]:
        return SalesforcePlatformEventSourceTask
