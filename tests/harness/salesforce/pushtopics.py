"""PushTopics of the test server: which record changes a PushTopic notifies, and the ``sobject`` it sends.

Responsibility: keep the org's PushTopic records (learnt from the change feed, where they arrive as ``PushTopic``
changes like any sObject) and decide, for a change of another object, which topics send an event, as Salesforce's
Streaming API guide describes: the query's object must match, the operation's ``NotifyForOperation…`` flag must be
set, the record must satisfy the WHERE clause (after the change; for a delete, its last values), and an update
notifies only when a field that ``NotifyForFields`` watches changed — ``All`` (any field), ``Referenced`` (default:
a field of the SELECT or WHERE clause), ``Select``, ``Where``. The event's ``sobject`` holds the SELECT fields
(a deleted event only the Id).

The WHERE clause is evaluated by the server's SOQL module through ``matches(query, record)``; without one, a topic
with a WHERE clause matches every record of its object. Thread-safety: called under the bus's lock only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.harness.salesforce.changes import RecordChange

_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<where>.+))?\s*$", re.I | re.S
)
_WHERE_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*(?:=|!=|<>|<=|>=|<|>|\bNOT\s+IN\b|\bIN\b|\bLIKE\b|\bINCLUDES\b)", re.I)
_OPERATIONS = {"CREATE": "Create", "UPDATE": "Update", "DELETE": "Delete", "UNDELETE": "Undelete"}
EVENT_TYPES = {"CREATE": "created", "UPDATE": "updated", "DELETE": "deleted", "UNDELETE": "undeleted"}


class PushTopicQueryError(ValueError):
    """A PushTopic's Query is not a query a PushTopic may have."""


@dataclass(frozen=True)
class PushTopic:
    """One active PushTopic: its name, object, SELECT and WHERE fields, and notification settings."""

    name: str
    query: str
    sobject: str
    select: tuple[str, ...]
    where_fields: frozenset[str]
    has_where: bool
    notify_for_fields: str
    operations: frozenset[str]

    @classmethod
    def from_record(cls, fields: dict[str, Any]) -> PushTopic:
        query = str(fields.get("Query") or "")
        parsed = _QUERY.match(query)
        if parsed is None:
            raise PushTopicQueryError(f"not a PushTopic query: {query!r}")
        select = tuple(name.strip() for name in parsed["fields"].split(","))
        if "id" not in {name.lower() for name in select}:
            raise PushTopicQueryError("a PushTopic query must select Id")
        where = parsed["where"] or ""
        operations = frozenset(
            change for change, suffix in _OPERATIONS.items() if _flag(fields.get(f"NotifyForOperation{suffix}"))
        )
        return cls(
            name=str(fields["Name"]),
            query=query,
            sobject=parsed["object"],
            select=select,
            where_fields=frozenset(match.lower() for match in _WHERE_FIELD.findall(where)),
            has_where=bool(where),
            notify_for_fields=str(fields.get("NotifyForFields") or "Referenced"),
            operations=operations,
        )

    def notifies(self, change: RecordChange, matches: Callable[[str, dict[str, Any]], bool] | None) -> bool:
        if change.entity.lower() != self.sobject.lower() or change.change_type not in self.operations:
            return False
        if change.change_type == "UPDATE" and not self._watches(change.changed_fields):
            return False
        return not self.has_where or matches is None or matches(self.query, change.fields)

    def sobject_values(self, change: RecordChange, record_id: str) -> dict[str, Any]:
        if change.change_type == "DELETE":
            return {"Id": record_id}
        values = {name.lower(): value for name, value in change.fields.items()}
        return {name: (record_id if name.lower() == "id" else values.get(name.lower())) for name in self.select}

    def _watches(self, changed: tuple[str, ...]) -> bool:
        names = {name.lower() for name in changed}
        select = {name.lower() for name in self.select}
        watched = {
            "All": None,
            "Referenced": select | self.where_fields,
            "Select": select,
            "Where": self.where_fields,
        }.get(self.notify_for_fields, select | self.where_fields)
        return True if watched is None else bool(names & watched)


def _flag(value: Any) -> bool:
    """A NotifyForOperation… field: true unless set false (Salesforce's defaults are true)."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.lower() != "false"
    return bool(value)


class PushTopicRegistry:
    """The active PushTopics by name, kept current from the ``PushTopic`` changes of the feed."""

    def __init__(self) -> None:
        self._by_id: dict[str, PushTopic] = {}

    def apply(self, change: RecordChange) -> None:
        for record_id in change.record_ids:
            active = _flag(change.fields.get("IsActive"))
            if change.change_type == "DELETE" or not active:
                self._by_id.pop(record_id, None)
                continue
            try:
                self._by_id[record_id] = PushTopic.from_record(change.fields)
            except (PushTopicQueryError, KeyError):
                self._by_id.pop(record_id, None)

    def names(self) -> set[str]:
        return {topic.name for topic in self._by_id.values()}

    def topics(self) -> list[PushTopic]:
        return list(self._by_id.values())
