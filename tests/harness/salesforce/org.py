"""The org: sObject types, their records (with the recycle bin), sessions and the change feed.

Responsibility: every record write — insert, update, upsert by external id, delete, undelete, platform event
publish — checked as Salesforce checks it (unknown, read-only and required fields, types, unique and external id
values), stamped with CreatedDate/LastModifiedDate/SystemModstamp, and published to :attr:`Org.feed` as one
:class:`RecordChange` when its transaction commits. Deleted records stay in the recycle bin (``IsDeleted = true``),
visible to queryAll and undeletable.

Invariants: every stored record has all of its type's fields as keys (unset ones None); ids are 18 characters and
start with their type's key prefix; a unique or external id value belongs to at most one live record; changes of a
rolled-back transaction are never published. Thread-safety: one re-entrant lock (:attr:`Org.lock`) guards all
state; a transaction holds it from begin to commit, so transactions are serialised and publish in commit order.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tests.harness.salesforce import errors, ids, schema, soql, standard
from tests.harness.salesforce.changes import ChangeFeed, RecordChange
from tests.harness.salesforce.faults import FaultPlan
from tests.harness.salesforce.sessions import Credentials, SessionStore

ORG_ID = ids.to_18("00D5g0000000001")
USER_ID = ids.to_18("0055g0000000001")
CUSTOM_PREFIXES = "abcdefghijklmnopqrstuvwxyz"


@dataclass
class Transaction:
    """One unit of commit: its changes are published together, or undone together."""

    key: str
    timestamp_ms: int
    changes: list[tuple[str, str, str, tuple[str, ...], dict[str, Any]]] = field(default_factory=list)
    undo: list[Callable[[], object]] = field(default_factory=list)

    stamp: str = ""  # timestamp_ms as the APIs write datetimes

    def __post_init__(self) -> None:
        self.stamp = schema.format_epoch_ms(self.timestamp_ms)


def _restore(record: dict[str, Any], before: dict[str, Any]) -> None:
    record.clear()
    record.update(before)


class Org:
    """One Salesforce org in memory."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self.org_id = ORG_ID
        self.user_id = USER_ID
        self.credentials = credentials or Credentials()
        self.lock = threading.RLock()
        self.feed = ChangeFeed()
        self.sessions = SessionStore(self.org_id)
        self.faults = FaultPlan()
        self.streaming_retention_ms = 72 * 3600 * 1000
        self._ids = ids.IdAllocator()
        self._types: dict[str, schema.SObjectType] = {}
        self._records: dict[str, dict[str, dict[str, Any]]] = {}
        self._prefixes: dict[str, str] = {}
        self._unique: dict[tuple[str, str], dict[Any, str]] = {}
        self._commit_number = 0
        self._last_ms = 0
        self._custom_count = 0
        for sobject in standard.standard_objects():
            self._add_type(sobject)

    # -- metadata --------------------------------------------------------------------------------------------------

    def _add_type(self, sobject: schema.SObjectType) -> None:
        self._types[sobject.name.lower()] = sobject
        self._prefixes[sobject.key_prefix] = sobject.name
        if not sobject.is_event:
            self._records[sobject.name] = {}
        for definition in sobject.fields.values():
            if definition.unique or definition.external_id:
                self._unique[(sobject.name, definition.name)] = {}

    def types(self) -> list[schema.SObjectType]:
        with self.lock:
            return sorted(self._types.values(), key=lambda sobject: sobject.name)

    def find_type(self, name: str) -> schema.SObjectType | None:
        with self.lock:
            return self._types.get(name.lower())

    def sobject(self, name: str) -> schema.SObjectType:
        """The type named ``name`` (case-insensitive); NOT_FOUND as the REST API answers for an unknown one."""
        found = self.find_type(name)
        if found is None:
            raise errors.not_found_type(name)
        return found

    def define_object(self, name: str, fields: list[schema.FieldDef], *, label: str = "") -> schema.SObjectType:
        """A new custom object (``X__c``) or platform event (``X__e``) with a Name field (custom objects) and
        ``fields``."""
        with self.lock:
            if name.lower() in self._types:
                raise ValueError(f"an sObject type {name} exists already")
            if not name.endswith(("__c", "__e")) or not name[:-3].replace("_", "").isalnum():
                raise ValueError(f"a custom object's name ends in __c (or __e for a platform event), got {name!r}")
            self._custom_count += 1
            letter = "e" if name.endswith("__e") else CUSTOM_PREFIXES[(self._custom_count - 1) // 100 % 26]
            prefix = letter + f"{self._custom_count % 100:02d}"
            for definition in fields:
                definition.custom = definition.custom or definition.name.endswith("__c")
            if name.endswith("__e"):
                sobject = standard.event_object(name, prefix, fields)
            else:
                name_field = schema.FieldDef(
                    "Name", "string", length=80, nillable=False, defaulted_on_create=True, label=f"{name} Name"
                )
                sobject = standard.data_object(name, prefix, [name_field, *fields], custom=True)
            if label:
                sobject.label = label
            self._add_type(sobject)
            return sobject

    def add_fields(self, name: str, fields: list[schema.FieldDef]) -> schema.SObjectType:
        with self.lock:
            sobject = self.sobject(name)
            for definition in fields:
                definition.custom = definition.custom or definition.name.endswith("__c")
                sobject.add_field(definition)
                if definition.unique or definition.external_id:
                    self._unique[(sobject.name, definition.name)] = {}
                for record in self._records.get(sobject.name, {}).values():
                    record[definition.name] = definition.default_value
            return sobject

    # -- transactions ----------------------------------------------------------------------------------------------

    def _tick(self) -> int:
        now = int(time.time() * 1000)
        self._last_ms = max(now, self._last_ms)
        return self._last_ms

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Hold the org for one transaction; an exception undoes it, a normal exit publishes its changes."""
        with self.lock:
            tx = Transaction(key=str(uuid.uuid4()), timestamp_ms=self._tick())
            try:
                yield tx
            except BaseException:
                self._rollback(tx, 0, 0)
                raise
            for entity, change_type, record_id, changed, values in tx.changes:
                self._commit_number += 1
                self.feed.publish(
                    RecordChange(
                        entity=entity,
                        change_type=change_type,
                        record_ids=(record_id,),
                        changed_fields=changed,
                        fields=values,
                        commit_timestamp_ms=tx.timestamp_ms,
                        transaction_key=tx.key,
                        commit_number=self._commit_number,
                    )
                )

    @contextlib.contextmanager
    def savepoint(self, tx: Transaction) -> Iterator[None]:
        """Undo only what happened inside the block when it raises (one row of a batch that is not all-or-none)."""
        undo_mark, change_mark = len(tx.undo), len(tx.changes)
        try:
            yield
        except BaseException:
            self._rollback(tx, undo_mark, change_mark)
            raise

    @staticmethod
    def _rollback(tx: Transaction, undo_mark: int, change_mark: int) -> None:
        while len(tx.undo) > undo_mark:
            tx.undo.pop()()
        del tx.changes[change_mark:]

    # -- reads -----------------------------------------------------------------------------------------------------

    def records(self, name: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The records of a data type in creation order (live ones, or live and deleted)."""
        with self.lock:
            sobject = self.sobject(name)
            stored = self._records.get(sobject.name, {})
            return [dict(r) for r in stored.values() if include_deleted or not r["IsDeleted"]]

    def get(self, name: str, record_id: str) -> dict[str, Any]:
        with self.lock:
            sobject = self.sobject(name)
            return dict(self._live(sobject, record_id))

    def type_of_id(self, record_id: str) -> str | None:
        with self.lock:
            return self._prefixes.get(record_id[:3])

    def find_by_external_id(self, name: str, field_name: str, value: Any) -> list[str]:
        """Ids of live records whose external id (or unique) field ``field_name`` equals ``value``."""
        with self.lock:
            sobject = self.sobject(name)
            definition = self._lookup_field(sobject, field_name)
            if definition.type == "id":
                normal = ids.normalize(str(value))
                record = self._records[sobject.name].get(normal or "")
                return [record["Id"]] if record and not record["IsDeleted"] else []
            if not definition.id_lookup:
                raise errors.ApiError(
                    400, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}"
                )
            key = self._unique_key(definition, schema.coerce(definition, value))
            found = self._unique.get((sobject.name, definition.name), {}).get(key)
            return [found] if found else []

    def _live(self, sobject: schema.SObjectType, record_id: str) -> dict[str, Any]:
        normal = ids.normalize(record_id)
        if normal is None:
            raise errors.not_found()
        record = self._records.get(sobject.name, {}).get(normal)
        if record is None:
            raise errors.not_found()
        if record["IsDeleted"]:
            raise errors.entity_is_deleted()
        return record

    @staticmethod
    def _lookup_field(sobject: schema.SObjectType, name: str) -> schema.FieldDef:
        definition = sobject.field(name)
        if definition is None:
            raise errors.invalid_field(f"No such column '{name}' on sobject of type {sobject.name}")
        return definition

    # -- writes ----------------------------------------------------------------------------------------------------

    def _checked_values(
        self, sobject: schema.SObjectType, values: Mapping[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        checked: dict[str, Any] = {}
        read_only: list[str] = []
        for name, value in values.items():
            if name == "attributes":
                continue
            definition = self._lookup_field(sobject, name)
            if not (definition.createable if creating else definition.updateable):
                read_only.append(definition.name)
                continue
            checked[definition.name] = schema.coerce(definition, value)
        if read_only:
            raise errors.invalid_field_for_insert_update(read_only)
        missing = [
            d.name
            for d in sobject.fields.values()
            if not d.nillable
            and d.createable
            and not d.defaulted_on_create
            and (d.name in checked or creating)
            and checked.get(d.name) is None
        ]
        if missing:
            raise errors.required_field_missing(missing)
        if sobject.name == "PushTopic" and checked.get("Query"):
            # Salesforce refuses a PushTopic whose query it cannot run; the Streaming API evaluates valid ones.
            soql.parse(str(checked["Query"]), self.find_type)
        return checked

    @staticmethod
    def _unique_key(definition: schema.FieldDef, value: Any) -> Any:
        return value.lower() if isinstance(value, str) and not definition.case_sensitive else value

    def _claim_unique(
        self, tx: Transaction, sobject: schema.SObjectType, record_id: str, values: Mapping[str, Any]
    ) -> None:
        for name, value in values.items():
            index = self._unique.get((sobject.name, name))
            if index is None or value is None:
                continue
            key = self._unique_key(sobject.fields[name], value)
            holder = index.get(key)
            if holder is not None and holder != record_id:
                raise errors.duplicate_value(name, value, holder)
        for name, value in values.items():
            index = self._unique.get((sobject.name, name))
            if index is None or value is None:
                continue
            key = self._unique_key(sobject.fields[name], value)
            if key not in index:
                index[key] = record_id
                tx.undo.append(lambda index=index, key=key: index.pop(key, None))  # type: ignore[misc]

    def _release_unique(
        self, tx: Transaction, sobject: schema.SObjectType, record_id: str, values: Mapping[str, Any]
    ) -> None:
        for name, value in values.items():
            index = self._unique.get((sobject.name, name))
            if index is None or value is None:
                continue
            key = self._unique_key(sobject.fields[name], value)
            if index.get(key) == record_id:
                del index[key]
                tx.undo.append(lambda index=index, key=key: index.__setitem__(key, record_id))  # type: ignore[misc]

    @staticmethod
    def _derive(sobject: schema.SObjectType, record: dict[str, Any]) -> None:
        if sobject.name in {"Contact", "Lead"}:
            record["Name"] = " ".join(part for part in (record.get("FirstName"), record.get("LastName")) if part)

    def insert(self, tx: Transaction, name: str, values: Mapping[str, Any]) -> str:
        """A new record; returns its id."""
        sobject = self.sobject(name)
        if sobject.is_event:
            return self.publish_event(tx, sobject, values)
        checked = self._checked_values(sobject, values, creating=True)
        record_id = self._ids.next(sobject.key_prefix)
        record: dict[str, Any] = {d.name: d.default_value for d in sobject.fields.values()}
        record.update(checked)
        record.update(
            Id=record_id,
            IsDeleted=False,
            CreatedDate=tx.stamp,
            CreatedById=self.user_id,
            LastModifiedDate=tx.stamp,
            LastModifiedById=self.user_id,
            SystemModstamp=tx.stamp,
        )
        if sobject.custom and record.get("Name") is None:
            record["Name"] = record_id
        self._derive(sobject, record)
        self._claim_unique(tx, sobject, record_id, record)
        stored = self._records[sobject.name]
        stored[record_id] = record
        tx.undo.append(lambda: stored.pop(record_id, None))
        changed = tuple(k for k, v in record.items() if v is not None and k not in {"Id", "IsDeleted"})
        tx.changes.append((sobject.name, "CREATE", record_id, changed, dict(record)))
        return record_id

    def update(self, tx: Transaction, name: str, record_id: str, values: Mapping[str, Any]) -> str:
        """Change fields of a live record; returns its 18-character id."""
        sobject = self.sobject(name)
        record = self._live(sobject, record_id)
        checked = self._checked_values(sobject, values, creating=False)
        changed_values = {k: v for k, v in checked.items() if record.get(k) != v}
        self._release_unique(tx, sobject, record["Id"], {k: record[k] for k in changed_values})
        self._claim_unique(tx, sobject, record["Id"], changed_values)
        before = dict(record)
        tx.undo.append(partial(_restore, record, before))
        record.update(checked)
        record.update(LastModifiedDate=tx.stamp, LastModifiedById=self.user_id, SystemModstamp=tx.stamp)
        self._derive(sobject, record)
        # Change Data Capture lists LastModifiedDate among the changed fields of every update.
        audit = {"SystemModstamp", "LastModifiedDate", "LastModifiedById"}
        changed = (*(k for k in record if record[k] != before[k] and k not in audit), "LastModifiedDate")
        tx.changes.append((sobject.name, "UPDATE", record["Id"], changed, dict(record)))
        return str(record["Id"])

    def upsert(
        self, tx: Transaction, name: str, field_name: str, value: Any, values: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """Update the record whose external id ``field_name`` is ``value``, else insert one; (id, created)."""
        sobject = self.sobject(name)
        definition = self._lookup_field(sobject, field_name)
        body = {k: v for k, v in values.items() if k.lower() != definition.name.lower()}
        matches = self.find_by_external_id(sobject.name, definition.name, value)
        if matches:
            return self.update(tx, sobject.name, matches[0], body), False
        if definition.type == "id":
            if value not in (None, ""):
                raise errors.not_found()
            return self.insert(tx, sobject.name, body), True
        return self.insert(tx, sobject.name, {**body, definition.name: value}), True

    def delete(self, tx: Transaction, name: str, record_id: str, *, hard: bool = False) -> str:
        """Move a live record to the recycle bin, or (``hard``, Bulk API's hardDelete) erase it at once."""
        sobject = self.sobject(name)
        if sobject.is_event:
            raise errors.ApiError(405, "METHOD_NOT_ALLOWED", "HTTP Method 'DELETE' not allowed. Allowed are POST")
        record = self._live(sobject, record_id)
        self._release_unique(tx, sobject, record["Id"], record)
        before = dict(record)
        tx.undo.append(partial(_restore, record, before))
        record.update(IsDeleted=True, SystemModstamp=tx.stamp)
        if hard:
            stored = self._records[sobject.name]
            del stored[record["Id"]]
            tx.undo.append(partial(stored.__setitem__, record["Id"], record))
        tx.changes.append((sobject.name, "DELETE", record["Id"], (), dict(before)))
        return str(record["Id"])

    def undelete(self, tx: Transaction, record_id: str) -> str:
        """Restore a record from the recycle bin."""
        normal = ids.normalize(record_id)
        name = self._prefixes.get(record_id[:3]) if normal else None
        record = self._records.get(name or "", {}).get(normal or "")
        if record is None:
            raise errors.ApiError(400, "INVALID_ID_FIELD", f"invalid record id: {record_id}")
        if not record["IsDeleted"]:
            raise errors.ApiError(400, "UNDELETE_FAILED", "Entity is not in the recycle bin")
        sobject = self.sobject(str(name))
        self._claim_unique(tx, sobject, record["Id"], record)
        before = dict(record)
        tx.undo.append(partial(_restore, record, before))
        record.update(IsDeleted=False, LastModifiedDate=tx.stamp, SystemModstamp=tx.stamp)
        changed = tuple(k for k, v in record.items() if v is not None and k not in {"Id", "IsDeleted"})
        tx.changes.append((sobject.name, "UNDELETE", record["Id"], changed, dict(record)))
        return str(record["Id"])

    def publish_event(self, tx: Transaction, sobject: schema.SObjectType, values: Mapping[str, Any]) -> str:
        """A platform event: checked like a record, never stored, published as a CREATE change."""
        checked = self._checked_values(sobject, values, creating=True)
        event_id = self._ids.next(sobject.key_prefix)
        event: dict[str, Any] = {d.name: d.default_value for d in sobject.fields.values()}
        event.update(checked)
        event.update(CreatedDate=tx.stamp, CreatedById=self.user_id, EventUuid=str(uuid.uuid4()))
        changed = tuple(k for k, v in event.items() if v is not None)
        tx.changes.append((sobject.name, "CREATE", event_id, changed, event))
        return event_id
