"""Applies the sObject sink's changes to the org: the sObject Collections API for small runs, Bulk API 2.0 ingest
jobs for large ones, and per-row outcomes for every change.

``Writer.apply(changes)`` takes changes in record order, cuts them into runs of one operation (so a create and a
later update of the same record stay in order) and applies each run:

- fewer than ``hub.salesforce.bulk.threshold`` changes: ``composite/sobjects`` requests of up to 200 records with
  ``allOrNone=false`` (POST inserts, PATCH updates, PATCH ``…/{externalIdField}`` upserts, DELETE ``?ids=``);
- more: one Bulk API 2.0 ingest job (CSV); failed rows come back with the server's ``sf__Error`` and are matched
  to their changes by their values.

Deletes by external id first look the Ids up with a query; a record already gone counts as deleted. Each change
that Salesforce refused is passed to ``on_error(change, message)`` with the server's error code and message;
``on_done(run)`` is called after each run, so the caller knows how far the batch got. Rows Salesforce left
unprocessed raise SalesforceUnavailableError (the caller redelivers; the runs done are not repeated).

Used by one task thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from connectors.salesforce.bulk2 import Bulk2
from connectors.salesforce.schema import to_text
from connectors.salesforce.session import SalesforceSession, SalesforceUnavailableError
from connectors.salesforce.sink_changes import Change

log = logging.getLogger(__name__)

COLLECTION_SIZE = 200
GONE = frozenset({"ENTITY_IS_DELETED"})


def runs(changes: Sequence[Change]) -> list[list[Change]]:
    """Consecutive changes with one operation."""
    out: list[list[Change]] = []
    for change in changes:
        if out and out[-1][0].operation == change.operation:
            out[-1].append(change)
        else:
            out.append([change])
    return out


def soql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Writer:
    """Writes changes to one sObject."""

    def __init__(
        self,
        session: SalesforceSession,
        sobject: str,
        external_id: str,
        bulk_threshold: int,
        on_error: Callable[[Change, str], None],
    ) -> None:
        self.session = session
        self.bulk = Bulk2(session)
        self.sobject = sobject
        self.external_id = external_id
        self.bulk_threshold = bulk_threshold
        self.on_error = on_error
        self.bulk_jobs = 0

    def apply(self, changes: Sequence[Change], on_done: Callable[[list[Change]], None]) -> None:
        for run in runs(changes):
            todo = self._resolve_deletes(run) if run[0].operation == "delete" else run
            if len(todo) >= self.bulk_threshold:
                self._bulk(todo)
            else:
                for start in range(0, len(todo), COLLECTION_SIZE):
                    self._collection(todo[start : start + COLLECTION_SIZE])
            on_done(run)

    # --- sObject Collections --------------------------------------------------------------------------------------

    def _collection(self, chunk: list[Change]) -> None:
        operation = chunk[0].operation
        attributes = {"type": self.sobject}
        if operation == "delete":
            response = self.session.request(
                "DELETE",
                "composite/sobjects",
                params={"ids": ",".join(c.target for c in chunk), "allOrNone": "false"},
            )
        else:
            records: list[dict[str, Any]] = []
            for change in chunk:
                body: dict[str, Any] = {"attributes": attributes, **change.fields}
                if operation == "update":
                    body["Id"] = change.target
                records.append(body)
            payload = {"allOrNone": False, "records": records}
            if operation == "insert":
                response = self.session.request("POST", "composite/sobjects", json=payload)
            elif operation == "update":
                response = self.session.request("PATCH", "composite/sobjects", json=payload)
            else:
                path = f"composite/sobjects/{self.sobject}/{self.external_id}"
                response = self.session.request("PATCH", path, json=payload)
        results = response.json()
        if not isinstance(results, list) or len(results) != len(chunk):
            raise SalesforceUnavailableError(
                f"composite/sobjects answered {len(results) if isinstance(results, list) else 'no'} results "
                f"for {len(chunk)} records"
            )
        for change, result in zip(chunk, results, strict=True):
            if result.get("success"):
                continue
            errors = result.get("errors") or [{}]
            codes = {str(error.get("statusCode", "")) for error in errors}
            if operation == "delete" and codes <= GONE:
                continue
            self.on_error(change, "; ".join(_describe(error) for error in errors))

    # --- Bulk API 2.0 ---------------------------------------------------------------------------------------------

    def _bulk(self, run: list[Change]) -> None:
        operation = run[0].operation
        key = {"update": "Id", "delete": "Id", "upsert": self.external_id}.get(operation)
        columns: dict[str, None] = {key: None} if key else {}
        if operation != "delete":
            for change in run:
                columns.update(dict.fromkeys(change.fields))
        header = list(columns)
        rows: list[list[str]] = []
        by_row: dict[tuple[str, ...], list[Change]] = {}
        for change in run:
            values = dict(change.fields)
            if key == "Id":
                values["Id"] = change.target
            row = ["#N/A" if name in values and values[name] is None else to_text(values.get(name)) for name in header]
            rows.append(row)
            by_row.setdefault(tuple(row), []).append(change)
        self.bulk_jobs += 1
        result = self.bulk.ingest(self.sobject, operation, header, rows, self.external_id)
        log.info(
            "Bulk API 2.0 ingest job %s: %d %s rows, %d failed", result.job_id, len(rows), operation, len(result.failed)
        )
        for values, message in result.failed:
            matched = by_row.get(tuple(values.get(name, "") for name in header))
            if not matched:
                log.warning("ingest job %s reports a failed row matching no record: %s", result.job_id, message)
                continue
            change = matched.pop(0)
            code = message.split(":", 1)[0].strip()
            if operation == "delete" and code in GONE:
                continue
            self.on_error(change, message)
        if result.unprocessed:
            raise SalesforceUnavailableError(
                f"Bulk API 2.0 ingest job {result.job_id} left {len(result.unprocessed)} rows unprocessed"
            )

    # --- deletes by external id -----------------------------------------------------------------------------------

    def _resolve_deletes(self, run: list[Change]) -> list[Change]:
        by_value = [c for c in run if c.by_external_id]
        if not by_value:
            return run
        found: dict[str, str] = {}
        values = sorted({c.target for c in by_value})
        for start in range(0, len(values), 100):
            chunk = values[start : start + 100]
            soql = (
                f"SELECT Id, {self.external_id} FROM {self.sobject} "
                f"WHERE {self.external_id} IN ({', '.join(soql_string(v) for v in chunk)})"
            )
            body = self.session.request("GET", "query", params={"q": soql}).json()
            for row in body.get("records", []):
                found[str(row.get(self.external_id))] = str(row["Id"])
        resolved = []
        for change in run:
            if not change.by_external_id:
                resolved.append(change)
            elif change.target in found:
                resolved.append(Change(change.record, "delete", found[change.target]))
        return resolved


def _describe(error: dict[str, Any]) -> str:
    text = f"{error.get('statusCode', 'ERROR')}: {error.get('message', '')}"
    fields = error.get("fields") or []
    return text + (f" (fields: {', '.join(map(str, fields))})" if fields else "")
