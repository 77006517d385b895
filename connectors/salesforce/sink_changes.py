"""What the sObject sink does with one record: the operation, the target and the fields — from the record's own
event type or the configured operation.

The event type of a record, in this order:

- ``override.event.type=true``: ``salesforce.sink.object.operation`` for every record;
- a null value (a tombstone): delete the record whose Id is the key (a string, or a struct/map with ``Id``);
- a ``ChangeEventHeader`` (a CDC event, e.g. from the CDC source): its ``changeType`` (``GAP_*`` as the change
  it stands for), applied to the record named by the value's ``Id`` or the key (the CDC source writes one record
  per changed record), else to each of the header's ``recordIds``; its ``nulledFields`` are cleared;
- an ``_EventType`` field (Confluent's PushTopic record format): ``created``, ``updated``, ``deleted``,
  ``undeleted``;
- otherwise ``salesforce.sink.object.operation``.

Creates (and undeletes) insert, updates update, deletes delete. With ``salesforce.use.custom.id.field`` the
record's Id goes into the external id field and creates and updates become upserts on it (the target org's Ids
differ), deletes find their target by it. Fields written: those the record sets (non-null), known to the describe,
createable (inserts) or updateable (updates), minus ``salesforce.ignore.fields`` and, with
``salesforce.ignore.reference.fields``, lookups.

Pure functions over immutable inputs; thread-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.salesforce.schema import ObjectDescription, to_json
from connectors.salesforce.settings import SObjectSinkSettings
from hub.sdk import SinkRecord, Struct
from hub.sdk.errors import DataError

HIDDEN_FIELDS = frozenset({"_ObjectType", "_EventType", "ChangeEventHeader", "attributes"})
_EVENT_OPERATIONS = {
    "create": "insert",
    "created": "insert",
    "undelete": "insert",
    "undeleted": "insert",
    "update": "update",
    "updated": "update",
    "delete": "delete",
    "deleted": "delete",
}


@dataclass
class Change:
    """One write: ``operation`` on ``target`` (an Id; for upserts the external id value) with ``fields``."""

    record: SinkRecord
    operation: str  # insert, update, upsert, delete
    target: str
    fields: dict[str, Any] = field(default_factory=dict)
    by_external_id: bool = False  # a delete whose target is an external id value to resolve


def _plain(value: Any) -> Any:
    if isinstance(value, Struct):
        return value.to_dict()
    return value


def _as_map(value: Any, what: str) -> Mapping[str, Any]:
    value = _plain(value)
    if not isinstance(value, Mapping):
        raise DataError(f"{what} must be a struct or a map, not {type(value).__name__}")
    return value


def _key_id(record: SinkRecord) -> str:
    key = _plain(record.key)
    if isinstance(key, Mapping):
        key = key.get("Id")
    if isinstance(key, bytes):
        key = key.decode()
    if not isinstance(key, str) or not key:
        raise DataError("a record without a value deletes by its key, which must be an Id or hold one in Id")
    return key


def _optional_key_id(record: SinkRecord) -> str:
    try:
        return _key_id(record) if record.key is not None else ""
    except DataError:
        return ""


def plan(record: SinkRecord, settings: SObjectSinkSettings, description: ObjectDescription) -> list[Change]:
    """The writes one record asks for; DataError when the record cannot say what to write."""
    if record.value is None:
        return [_change(record, settings, description, "delete", _key_id(record), {}, ())]
    value = _as_map(record.value, "the record's value")
    header = _plain(value.get("ChangeEventHeader"))
    nulled: tuple[str, ...] = ()
    ids: list[str]
    if settings.override_event_type:
        event = settings.operation
        ids = [str(value.get("Id") or "")]
    elif isinstance(header, Mapping):
        change_type = str(header.get("changeType", "")).lower().removeprefix("gap_")
        if change_type == "overflow":
            raise DataError("a GAP_OVERFLOW change event carries no record to write")
        event = _EVENT_OPERATIONS.get(change_type, "")
        own = str(value.get("Id") or "") or _optional_key_id(record)
        ids = [own] if own else [str(each) for each in header.get("recordIds") or () if each] or [""]
        nulled = tuple(str(name) for name in header.get("nulledFields") or ())
    elif value.get("_EventType"):
        event = _EVENT_OPERATIONS.get(str(value["_EventType"]).lower(), "")
        ids = [str(value.get("Id") or "")]
    else:
        event = settings.operation
        ids = [str(value.get("Id") or "")]
    if not event:
        raise DataError(f"unknown event type in record: {header or value.get('_EventType')}")
    return [_change(record, settings, description, event, record_id, value, nulled) for record_id in ids]


def _change(
    record: SinkRecord,
    settings: SObjectSinkSettings,
    description: ObjectDescription,
    event: str,
    record_id: str,
    value: Mapping[str, Any],
    nulled: tuple[str, ...],
) -> Change:
    custom = settings.custom_id_field
    use_custom = settings.use_custom_id
    operation = event
    if use_custom and event in ("insert", "update"):
        operation = "upsert"
    if operation == "delete":
        if not record_id:
            raise DataError("a delete needs the record's Id")
        return Change(record, "delete", record_id, by_external_id=use_custom)
    allowed = description.createable if operation == "insert" else description.updateable
    if operation == "upsert":
        allowed = description.createable | description.updateable
    fields: dict[str, Any] = {}
    for name, item in value.items():
        if item is None or name in HIDDEN_FIELDS or name == "Id" or name in settings.ignore_fields:
            continue
        if name not in allowed or (settings.ignore_reference_fields and name in description.references):
            continue
        fields[name] = to_json(item)
    for name in nulled:
        if name in allowed and name not in settings.ignore_fields:
            fields[name] = None
    if operation == "upsert":
        if use_custom:
            if not record_id:
                raise DataError(f"an upsert by {custom} needs the record's Id")
            fields[custom] = record_id
        target = str(fields.get(custom) or "")
        if not target:
            raise DataError(f"an upsert needs a value in the external id field {custom}")
        return Change(record, "upsert", target, fields)
    if operation == "update" and not record_id:
        raise DataError("an update needs the record's Id")
    return Change(record, operation, record_id, fields)
