"""Bulk API 2.0 jobs through a SalesforceSession: query jobs read page by page, ingest jobs written and their
per-row results read back.

Query: ``start_query`` creates a ``query`` (or ``queryAll``) job, ``wait`` polls it until ``JobComplete``, and
``results_page(job, locator, max_records)`` returns one page of CSV rows with the ``Sforce-Locator`` of the next
page (None after the last); ``open_results_page`` returns it as soon as its headers arrive (``PendingPage``, whose
``read`` takes the body), so the next page can be asked for while one is read. A completed job's pages can be
read again from any locator, which is what lets a restarted source resume inside a snapshot.

Ingest: ``ingest(object, operation, header, rows, external_id)`` creates the job, uploads the CSV, closes it
(``UploadComplete``), waits for the end and returns the rows that failed with the server's ``sf__Error`` and the
rows Salesforce did not process.

A running job is looked at again after ``next_look(age)``: a tenth of its age, between 50 ms and 2 s — so a job is
seen done at most 10 % (and 2 s) after it ends, with a number of looks that grows with the log of its length up to
20 s, then one every 2 s (simple-salesforce's own waits grow to about 3 s). The waits are on the session's stop event.
Not thread-safe: one task's session (a ``PendingPage`` may be read on another thread: it holds its own connection).
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Sequence
from dataclasses import dataclass
from operator import methodcaller
from typing import Any

import requests

from connectors.salesforce.session import SalesforceSession
from hub.sdk.errors import ConnectorError, RetriableError

DONE_STATES = ("JobComplete", "Failed", "Aborted")
#: The shortest and the longest wait between two looks at a running job, in seconds.
FIRST_LOOK_S = 0.05
LAST_LOOK_S = 2.0


def next_look(age_s: float) -> float:
    """Seconds to wait before looking again at a job running for ``age_s`` seconds (see the module docstring)."""
    return min(max(age_s / 10, FIRST_LOOK_S), LAST_LOOK_S)


class BulkJobError(ConnectorError):
    """A Bulk API 2.0 job ended Failed or Aborted."""


@dataclass(frozen=True)
class Page:
    """One page of a query job's results."""

    header: list[str]
    rows: list[list[str]]
    next_locator: str | None


@dataclass(frozen=True)
class PendingPage:
    """A results page whose headers have arrived; ``read`` takes its body (once) and parses it."""

    response: requests.Response
    next_locator: str | None

    def read(self) -> Page:
        # One read of the whole body: requests' own reading goes 10 KiB at a time, each piece waiting for the
        # interpreter lock while the task thread converts rows.
        with self.response:
            body = self.response.raw.read(decode_content=True)
        header, rows = parse_csv(body.decode("utf-8"))
        return Page(header, rows, self.next_locator)

    def close(self) -> None:
        self.response.close()


@dataclass(frozen=True)
class IngestResult:
    """What an ingest job did not do: failed rows with the server's message, and unprocessed rows."""

    job_id: str
    failed: list[tuple[dict[str, str], str]]  # (row by column, sf__Error)
    unprocessed: list[dict[str, str]]
    processed: int


def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a CSV document (empty text: no header, no rows)."""
    if not text:
        return [], []
    rows = _split_quoted(text)
    if rows is None:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    return (rows[0], rows[1:]) if rows else ([], [])


def _split_quoted(text: str) -> list[list[str]] | None:
    """The rows of a CSV document whose every cell is quoted and holds no quote, LF line endings (how Bulk API 2.0
    writes query results), split with ``str.split`` — two to three times faster than ``csv.reader``; None for any
    other document. Exact: cutting at ``","`` and ``"\n"`` removes two quotes per cut, so when the text holds
    exactly two quotes per cell no cell holds one, and then each cut is a cell's closing quote, its separator and
    the next cell's opening quote — the cells and rows ``csv.reader`` reads."""
    if not (text.startswith('"') and text.endswith('"\n')):
        return None
    rows = list(map(methodcaller("split", '","'), text[1:-2].split('"\n"')))
    return rows if text.count('"') == 2 * sum(map(len, rows)) else None


def write_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


class Bulk2:
    """Bulk API 2.0 calls of one session."""

    def __init__(self, session: SalesforceSession) -> None:
        self.session = session

    # --- query ----------------------------------------------------------------------------------------------------

    def start_query(self, soql: str, *, include_deleted: bool = False) -> dict[str, Any]:
        body = {"operation": "queryAll" if include_deleted else "query", "query": soql}
        response = self.session.request("POST", "jobs/query", json=body, what="create a Bulk API 2.0 query job")
        job: dict[str, Any] = response.json()
        return job

    def wait(self, kind: str, job_id: str) -> dict[str, Any]:
        """Poll ``jobs/{kind}/{job_id}`` until it ends; its info when ``JobComplete``, else BulkJobError."""
        began = time.monotonic()
        while True:
            info: dict[str, Any] = self.session.request("GET", f"jobs/{kind}/{job_id}").json()
            state = info.get("state")
            if state == "JobComplete":
                return info
            if state in ("Failed", "Aborted"):
                raise BulkJobError(f"Bulk API 2.0 {kind} job {job_id} ended {state}: {info.get('errorMessage', '')}")
            if self.session.stopped.wait(next_look(time.monotonic() - began)):
                raise RetriableError(f"stopped while waiting for Bulk API 2.0 {kind} job {job_id}")

    def results_page(self, job_id: str, locator: str | None, max_records: int) -> Page:
        return self.open_results_page(job_id, locator, max_records).read()

    def open_results_page(self, job_id: str, locator: str | None, max_records: int) -> PendingPage:
        """The answer to a results page request, its body not read yet: the next page's locator is known as soon as
        the headers are, so the next request can go out while this body is read and parsed (on any thread)."""
        params: dict[str, Any] = {"maxRecords": max_records}
        if locator:
            params["locator"] = locator
        response = self.session.request(
            "GET", f"jobs/query/{job_id}/results", params=params, headers={"Accept": "text/csv"}, stream=True
        )
        following = response.headers.get("Sforce-Locator")
        return PendingPage(response, None if not following or following == "null" else following)

    # --- ingest ---------------------------------------------------------------------------------------------------

    def ingest(
        self,
        sobject: str,
        operation: str,
        header: Sequence[str],
        rows: Sequence[Sequence[str]],
        external_id: str = "",
    ) -> IngestResult:
        body: dict[str, Any] = {"object": sobject, "operation": operation, "contentType": "CSV", "lineEnding": "LF"}
        if operation == "upsert":
            body["externalIdFieldName"] = external_id
        job = self.session.request("POST", "jobs/ingest", json=body, what="create a Bulk API 2.0 ingest job").json()
        job_id = str(job["id"])
        self.session.request(
            "PUT",
            f"jobs/ingest/{job_id}/batches",
            data=write_csv(header, rows).encode(),
            headers={"Content-Type": "text/csv"},
            what=f"upload the rows of Bulk API 2.0 ingest job {job_id}",
        )
        self.session.request("PATCH", f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})
        try:
            info = self.wait("ingest", job_id)
        except BulkJobError:
            info = {}
        failed_header, failed_rows = self._results(job_id, "failedResults")
        error_at = failed_header.index("sf__Error") if "sf__Error" in failed_header else -1
        failed = []
        for row in failed_rows:
            values = {c: v for c, v in zip(failed_header, row, strict=False) if not c.startswith("sf__")}
            failed.append((values, row[error_at] if error_at >= 0 else "failed"))
        unprocessed_header, unprocessed_rows = self._results(job_id, "unprocessedrecords")
        unprocessed = [dict(zip(unprocessed_header, row, strict=False)) for row in unprocessed_rows]
        return IngestResult(job_id, failed, unprocessed, int(info.get("numberRecordsProcessed", 0) or 0))

    def _results(self, job_id: str, which: str) -> tuple[list[str], list[list[str]]]:
        response = self.session.request("GET", f"jobs/ingest/{job_id}/{which}", headers={"Accept": "text/csv"})
        response.encoding = "utf-8"
        return parse_csv(response.text)
