"""The change stream of a document tree: PostgresCdcSource's slot reading (peeks, transactions, the slot advanced
only past what is stored), but a change becomes a ``RowChange`` (table, before and after rows as Python values)
instead of a Debezium event, since the document builder needs rows, not records.

Acknowledgement: each change counts against its transaction as a record would; ``release`` counts it done once
the documents built from it are stored, so the slot (the position to resume from) never passes a change whose
documents are not in the topic. Not thread-safe: used under the task's lock, like ``ChangeStream``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.pq import Format

from connectors.jdbc.cdc.pgoutput import UNCHANGED_TOAST, Delete, Insert, Relation, Update, decode
from connectors.jdbc.cdc.stream import ChangeStream
from hub.sdk import SourceRecord


@dataclass(frozen=True)
class RowChange:
    schema: str
    table: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    commit_lsn: int


class DocumentChangeStream(ChangeStream):
    """Collects ``RowChange``s of the tracked tables; ``take`` hands over those read by the last polls."""

    tracked: set[tuple[str, str]]

    def configure(self, tracked: Iterable[tuple[str, str]]) -> None:
        self.tracked = set(tracked)
        self._row_relations: dict[int, Relation] = {}
        self._changes: list[RowChange] = []

    def take(self) -> list[RowChange]:
        changes, self._changes = self._changes, []
        return changes

    def release(self, commit_lsns: Iterable[int]) -> None:
        """The documents of one change per entry are stored."""
        for commit_lsn in commit_lsns:
            pending = self._pending.get(commit_lsn)
            if pending is not None:
                pending.outstanding -= 1

    def _on_message(self, lsn: int, xid: int, data: bytes) -> list[SourceRecord]:
        message = decode(data)
        if isinstance(message, Relation):
            if (message.schema, message.table) in self.tracked:
                self._row_relations[message.relation_id] = message
            else:
                self._row_relations.pop(message.relation_id, None)
            return []
        if isinstance(message, Insert | Update | Delete):
            relation = self._row_relations.get(message.relation_id)
            transaction = self._transaction
            if relation is None or transaction is None:
                return []
            before = after = None
            if isinstance(message, Insert | Update):
                after = self._row(relation, message.new)
            if isinstance(message, Update) and message.old is not None:
                before = self._row(relation, message.old)
            if isinstance(message, Delete):
                before = self._row(relation, message.old)
            self._changes.append(RowChange(relation.schema, relation.table, before, after, transaction.final_lsn))
            self._pending[transaction.final_lsn].outstanding += 1
            return []
        return super()._on_message(lsn, xid, data)

    def _row(self, relation: Relation, values: Sequence[Any]) -> dict[str, Any]:
        """Column -> Python value; a large value the change did not carry is left out (it joins nothing)."""
        row: dict[str, Any] = {}
        for column, raw in zip(relation.columns, values, strict=True):
            if raw is UNCHANGED_TOAST:
                continue
            if raw is None:
                row[column.name] = None
            else:
                assert isinstance(raw, bytes)
                row[column.name] = self._transformer.get_loader(column.type_oid, Format.TEXT).load(raw)
        return row
