"""SalesforceCdcSource: Change Data Capture events into records — Confluent's
``io.confluent.salesforce.SalesforceCdcSourceConnector`` with its options.

The task subscribes to ``/data/<salesforce.cdc.name>`` (see streaming_source.py for offsets and resuming). Each
record of a change event names one record of the event's ``recordIds``; its value is a struct named
``io.confluent.salesforce.<sObject>`` with every field of the object's describe (optional; an update carries only the
changed fields, the others are null), ``ChangeEventHeader`` (Salesforce's header: ``entityName``, ``recordIds``,
``changeType``, ``changedFields``, ``nulledFields``, ``commitTimestamp``, …), ``_ObjectType`` (the sObject) and
``_EventType`` (CREATE, UPDATE, DELETE, UNDELETE). The key is ``{"Id"}``; the timestamp the commit's.

Gap events (``GAP_CREATE`` … ``GAP_UNDELETE``: Salesforce could not say what changed) are re-read through the REST
API: the records named are queried and emitted with their current values and the operation without ``GAP_``; one
no longer found becomes a DELETE. An overflow event (``GAP_OVERFLOW``: a transaction too large, no record ids)
re-reads every record of its object modified since the transaction's commit (``SystemModstamp``), as UPDATEs.
Both log a warning saying how many records were re-read.

Row mode (``hub.salesforce.cdc.record=row``, Hub's own): for a table kept equal to the object (a JDBC sink in
upsert mode with deletes), each record named by an event is written as it is now — read through the REST API, one
query per event — as a struct of the describe's fields only, and a deleted (or no longer found) record as a
tombstone: a null value with its ``{"Id"}`` key. It costs one API call per event.

One task; the session and describe calls on the task's thread.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from connectors.salesforce.streaming_config import CDC_SOURCE_CONFIG
from connectors.salesforce.streaming_source import (
    SCHEMA_PREFIX,
    Pending,
    StreamingSourceConnector,
    StreamingSourceTask,
    describe_fields,
    typed,
)
from hub.sdk import SourceTask, Struct
from hub.sdk.schema import (
    OPTIONAL_INT32_SCHEMA,
    OPTIONAL_INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    Schema,
    array_schema,
    struct_schema,
)

log = logging.getLogger(__name__)

_STRINGS = array_schema(STRING_SCHEMA, optional=True)
HEADER_SCHEMA = struct_schema(
    [
        ("entityName", STRING_SCHEMA),
        ("recordIds", _STRINGS),
        ("changeType", STRING_SCHEMA),
        ("changeOrigin", OPTIONAL_STRING_SCHEMA),
        ("transactionKey", OPTIONAL_STRING_SCHEMA),
        ("sequenceNumber", OPTIONAL_INT32_SCHEMA),
        ("commitTimestamp", OPTIONAL_INT64_SCHEMA),
        ("commitNumber", OPTIONAL_INT64_SCHEMA),
        ("commitUser", OPTIONAL_STRING_SCHEMA),
        ("nulledFields", _STRINGS),
        ("diffFields", _STRINGS),
        ("changedFields", _STRINGS),
    ],
    name=SCHEMA_PREFIX + "ChangeEventHeader",
    optional=True,
)
KEY_SCHEMA = struct_schema([("Id", STRING_SCHEMA)], name=SCHEMA_PREFIX + "Key")


def entity_of_channel(name: str) -> str | None:
    """``AccountChangeEvent`` → ``Account``; ``Employee__ChangeEvent`` → ``Employee__c``; multi-entity → None."""
    if name.endswith("ChangeEvents") or not name.endswith("ChangeEvent"):
        return None
    base = name[: -len("ChangeEvent")]
    return base + "c" if base.endswith("__") else base


class _Entity:
    """One sObject's describe-based value schema and the names of its queryable fields."""

    def __init__(self, name: str, describe: dict[str, Any]) -> None:
        self.name = name
        fields = describe_fields(describe)
        self.field_names = [field_name for field_name, _ in fields]
        self.schema: Schema = struct_schema(
            [
                *fields,
                ("ChangeEventHeader", HEADER_SCHEMA),
                ("_ObjectType", OPTIONAL_STRING_SCHEMA),
                ("_EventType", OPTIONAL_STRING_SCHEMA),
            ],
            name=SCHEMA_PREFIX + name,
        )
        self.row_schema: Schema = struct_schema(fields, name=SCHEMA_PREFIX + name)


class SalesforceCdcSourceTask(StreamingSourceTask):
    """Subscribes to a change event channel; see the module docstring."""

    definition = CDC_SOURCE_CONFIG

    def prepare(self) -> str:
        self._entities: dict[str, _Entity] = {}
        name = str(self.settings.values["salesforce.cdc.name"])
        entity = entity_of_channel(name)
        if entity is not None:
            self._entity(entity)  # a missing object fails the start, not the first event
        return f"/data/{name}"

    def _entity(self, name: str) -> _Entity:
        if name not in self._entities:
            self._entities[name] = _Entity(name, self.rest("GET", f"sobjects/{name}/describe"))
        return self._entities[name]

    def records_of(self, data: dict[str, Any]) -> list[Pending]:
        if str(self.settings.values["hub.salesforce.cdc.record"]).lower() == "row":
            return self._rows_of(data)
        payload = data.get("payload") or {}
        header = dict(payload.get("ChangeEventHeader") or {})
        entity = self._entity(str(header.get("entityName")))
        change_type = str(header.get("changeType"))
        if change_type == "GAP_OVERFLOW":
            since = dt.datetime.fromtimestamp(int(header.get("commitTimestamp") or 0) / 1000, tz=dt.UTC)
            rows = self._query(entity, f"SystemModstamp >= {since.strftime('%Y-%m-%dT%H:%M:%SZ')}")
            log.warning("overflow event for %s: re-read %d records modified since %s", entity.name, len(rows), since)
            return [self._record(entity, header, row["Id"], row, "UPDATE") for row in rows]
        ids = [str(record_id) for record_id in header.get("recordIds") or []]
        if change_type.startswith("GAP_"):
            return self._gap(entity, header, ids, change_type[len("GAP_") :])
        values = flatten_compound(payload)
        return [self._record(entity, header, record_id, values, change_type) for record_id in ids]

    def _rows_of(self, data: dict[str, Any]) -> list[Pending]:
        """Row mode: each record named, as it is now (read through REST), or a tombstone when it is gone."""
        header = dict((data.get("payload") or {}).get("ChangeEventHeader") or {})
        entity = self._entity(str(header.get("entityName")))
        timestamp = header.get("commitTimestamp")
        change_type = str(header.get("changeType"))
        if change_type == "GAP_OVERFLOW":
            since = dt.datetime.fromtimestamp(int(timestamp or 0) / 1000, tz=dt.UTC)
            rows = self._query(entity, f"SystemModstamp >= {since.strftime('%Y-%m-%dT%H:%M:%SZ')}")
            ids = [str(row["Id"]) for row in rows]
        else:
            ids = [str(record_id) for record_id in header.get("recordIds") or []]
            rows = []
            if ids and change_type not in ("DELETE", "GAP_DELETE"):
                quoted = ", ".join("'" + record_id.replace("'", "") + "'" for record_id in ids)
                rows = self._query(entity, f"Id IN ({quoted})")
        found = {str(row["Id"]): row for row in rows}
        topic = self.settings.topic_for(entity.name)
        when = timestamp if isinstance(timestamp, int) else None
        records = []
        for record_id in ids:
            key = Struct(KEY_SCHEMA).put("Id", record_id)
            row = found.get(record_id)
            if row is None:
                records.append(Pending(topic, key, KEY_SCHEMA, None, None, when))
                continue
            value = Struct(entity.row_schema)
            for field in entity.row_schema.fields:
                if field.name in row:
                    value.put(field.name, typed(field.schema, row[field.name], f"{entity.name}.{field.name}"))
            records.append(Pending(topic, key, KEY_SCHEMA, value, entity.row_schema, when))
        return records

    def _gap(self, entity: _Entity, header: dict[str, Any], ids: list[str], operation: str) -> list[Pending]:
        found: dict[str, dict[str, Any]] = {}
        if operation != "DELETE" and ids:
            quoted = ", ".join("'" + record_id.replace("'", "") + "'" for record_id in ids)
            found = {row["Id"]: row for row in self._query(entity, f"Id IN ({quoted})")}
        log.warning("gap event %s for %s: re-read %d of %d records", operation, entity.name, len(found), len(ids))
        return [
            self._record(entity, header, record_id, found[record_id], operation)
            if record_id in found
            else self._record(entity, header, record_id, {}, "DELETE")
            for record_id in ids
        ]

    def _query(self, entity: _Entity, where: str) -> list[dict[str, Any]]:
        soql = f"SELECT {', '.join(entity.field_names)} FROM {entity.name} WHERE {where}"
        answer = self.rest("GET", "query", params={"q": soql})
        rows = list(answer.get("records", []))
        while not answer.get("done", True) and answer.get("nextRecordsUrl"):
            answer = self.rest("GET", self.session.instance_url + answer["nextRecordsUrl"])
            rows.extend(answer.get("records", []))
        return rows

    def _record(
        self, entity: _Entity, header: dict[str, Any], record_id: str, values: dict[str, Any], event_type: str
    ) -> Pending:
        value = Struct(entity.schema)
        for field in entity.schema.fields[: len(entity.field_names)]:
            if field.name in values:
                value.put(field.name, typed(field.schema, values[field.name], f"{entity.name}.{field.name}"))
        if entity.schema.has_field("Id"):
            value.put("Id", record_id)
        value.put("ChangeEventHeader", _header(header))
        value.put("_ObjectType", entity.name)
        value.put("_EventType", event_type)
        key = Struct(KEY_SCHEMA).put("Id", record_id)
        timestamp = header.get("commitTimestamp")
        return Pending(
            self.settings.topic_for(entity.name),
            key,
            KEY_SCHEMA,
            value,
            entity.schema,
            timestamp if isinstance(timestamp, int) else None,
        )


def flatten_compound(payload: dict[str, Any]) -> dict[str, Any]:
    """A change event's fields with its compound values spread into the fields they stand for, as the describe
    lists them: ``Name: {"FirstName", "LastName"}`` gives ``FirstName`` and ``LastName``; ``BillingAddress:
    {"Street", "City"}`` gives ``BillingStreet`` and ``BillingCity``. A field set to null stays null."""
    values: dict[str, Any] = {}
    for name, value in payload.items():
        if name == "ChangeEventHeader" or not isinstance(value, dict):
            values[name] = value
            continue
        prefix = name[: -len("Address")] if name.endswith("Address") else ""
        for part, part_value in value.items():
            values[prefix + part] = part_value
    return values


def _header(header: dict[str, Any]) -> Struct:
    struct = Struct(HEADER_SCHEMA)
    for field in HEADER_SCHEMA.fields:
        raw = header.get(field.name)
        if raw is None:
            continue
        if field.schema.type.value == "array":
            struct.put(field.name, [str(item) for item in raw])
        elif field.schema.type.value in ("int32", "int64"):
            struct.put(field.name, int(raw))
        else:
            struct.put(field.name, str(raw))
    return struct


class SalesforceCdcSourceConnector(StreamingSourceConnector):
    """Plans the one task of a CDC subscription."""

    aliases = ("io.confluent.salesforce.SalesforceCdcSourceConnector", "SalesforceCdcSource")
    definition = CDC_SOURCE_CONFIG

    def task_class(self) -> type[SourceTask]:
        return SalesforceCdcSourceTask
