"""Bulk API 2.0 under ``/services/data/vXX.X/jobs/``: ingest jobs (insert, update, upsert, delete, hardDelete from
CSV) and query jobs (query, queryAll to CSV), with their states, results and locators.

Ingest: a job is created ``Open``; CSV is uploaded with ``PUT .../batches`` (201); ``PATCH {"state":
"UploadComplete"}`` closes it and a worker thread processes it (``InProgress``, then ``JobComplete``, or ``Failed``
with ``errorMessage`` when the header names no such field). Rows are committed in chunks of 200 records, one org
transaction each, as Salesforce does; a failing row fails alone. Results: ``successfulResults`` (``sf__Id``,
``sf__Created``), ``failedResults`` (``sf__Id``, ``sf__Error``) and ``unprocessedrecords``, each followed by the
uploaded columns. An empty CSV value leaves a field unset; ``#N/A`` sets it to null.

Query: a job is created ``UploadComplete`` and a worker runs the SOQL and keeps the rows; ``results`` pages them with
``maxRecords`` and the ``Sforce-Locator`` header (``null`` on the last page), with ``Sforce-NumberOfRecords``.

Thread-safety: job state is guarded by one lock; processing runs on daemon threads and takes the org's lock per
chunk, so other requests interleave with a long job.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import itertools
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tests.harness.salesforce import errors, ids, schema, soql
from tests.harness.salesforce.org import Org
from tests.harness.salesforce.responses import json_response

DELIMITERS = {"BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t"}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
CHUNK_RECORDS = 200
DEFAULT_MAX_RECORDS = 100_000
TERMINAL = ("JobComplete", "Failed", "Aborted")
LOG = logging.getLogger(__name__)
RESULT_KINDS = {"successfulresults": "successful", "failedresults": "failed", "unprocessedrecords": "unprocessed"}


@dataclass
class Job:
    """One Bulk API 2.0 job and what it produced."""

    id: str
    kind: str  # "ingest" | "query"
    operation: str
    object: str
    version: str
    created: str
    delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id: str | None = None
    query: soql.Query | None = None
    state: str = "Open"
    modstamp: str = ""
    error_message: str | None = None
    uploads: list[str] = field(default_factory=list)
    processed: int = 0
    failed: int = 0
    started_ms: int = 0
    finished_ms: int = 0
    header: list[str] = field(default_factory=list)
    successful_rows: list[list[str]] = field(default_factory=list)
    failed_rows: list[list[str]] = field(default_factory=list)
    unprocessed_rows: list[list[str]] = field(default_factory=list)
    result_rows: list[list[str]] = field(default_factory=list)
    result_header: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": ids.to_18("0055g0000000001"),
            "createdDate": self.created,
            "systemModstamp": self.modstamp or self.created,
            "state": self.state,
        }
        if self.external_id:
            body["externalIdFieldName"] = self.external_id
        body.update(
            concurrencyMode="Parallel",
            contentType="CSV",
            apiVersion=float(self.version),
        )
        if self.kind == "ingest" and self.state == "Open":
            body["contentUrl"] = f"services/data/v{self.version}/jobs/ingest/{self.id}/batches"
        body.update(lineEnding=self.line_ending, columnDelimiter=self.delimiter)
        return body

    def detail(self) -> dict[str, Any]:
        body = self.info()
        elapsed = max(0, self.finished_ms - self.started_ms) if self.finished_ms else 0
        if self.kind == "ingest":
            body.update(
                jobType="V2Ingest",
                numberRecordsProcessed=self.processed,
                numberRecordsFailed=self.failed,
                retries=0,
                totalProcessingTime=elapsed,
                apiActiveProcessingTime=elapsed,
                apexProcessingTime=0,
            )
        else:
            body.update(
                jobType="V2Query", numberRecordsProcessed=self.processed, retries=0, totalProcessingTime=elapsed
            )
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


def _csv_text(header: list[str], rows: list[list[str]], delimiter: str, line_ending: str) -> str:
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=DELIMITERS[delimiter], lineterminator=LINE_ENDINGS[line_ending], quoting=csv.QUOTE_ALL
    )
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.endswith("+0000") and "T" in value:
        return value[:-5] + "Z"
    return str(value)


def _bulk_error(error: errors.ApiError) -> str:
    return f"{error.code}:{error.message}:{','.join(error.fields or [])} --"


def csv_response(text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text, media_type="text/csv", headers=headers)


class BulkApi:
    """The ``jobs`` resources of one org."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._counter = itertools.count(1)

    def _new_id(self) -> str:
        return ids.to_18("750" + ids.POD + ids.base62(next(self._counter), 10))

    def _job(self, kind: str, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.kind != kind:
            raise errors.not_found()
        return job

    async def dispatch(self, request: Request, version: str, parts: list[str]) -> Response | None:
        if not parts or parts[0] != "jobs":
            return None
        if len(parts) < 2 or parts[1] not in {"ingest", "query"}:
            raise errors.not_found()
        kind, rest, method = parts[1], parts[2:], request.method
        if not rest:
            if method == "POST":
                body = await self._json(request)
                job = self.create_ingest(body, version) if kind == "ingest" else self.create_query(body, version)
                return json_response(job.info())
            if method == "GET":
                with self._lock:
                    jobs = [j.info() for j in self._jobs.values() if j.kind == kind]
                return json_response({"done": True, "records": jobs, "nextRecordsUrl": None})
            raise errors.not_found()
        job = self._job(kind, rest[0])
        if len(rest) == 1:
            if method == "GET":
                return json_response(job.detail())
            if method == "PATCH":
                return json_response(self.change_state(job, await self._json(request)))
            if method == "DELETE":
                return self.delete(job)
            raise errors.not_found()
        if len(rest) == 2 and kind == "ingest" and rest[1] == "batches" and method == "PUT":
            return self.upload(job, (await request.body()).decode("utf-8"))
        if len(rest) == 2 and kind == "ingest" and rest[1].lower() in RESULT_KINDS and method == "GET":
            return self.ingest_results(job, RESULT_KINDS[rest[1].lower()])
        if len(rest) == 2 and kind == "query" and rest[1] == "results" and method == "GET":
            return await self.query_results(job, request)
        raise errors.not_found()

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except ValueError as exc:
            raise errors.json_parser_error(f"Unexpected character: {exc}") from None
        if not isinstance(body, dict):
            raise errors.json_parser_error("Expected a JSON object")
        return body

    @staticmethod
    def _options(body: dict[str, Any]) -> tuple[str, str]:
        delimiter = str(body.get("columnDelimiter", "COMMA"))
        line_ending = str(body.get("lineEnding", "LF"))
        if delimiter not in DELIMITERS:
            raise errors.ApiError(400, "INVALIDJOB", f"Invalid column delimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise errors.ApiError(400, "INVALIDJOB", f"Invalid line ending: {line_ending}")
        if str(body.get("contentType", "CSV")) != "CSV":
            raise errors.ApiError(400, "INVALIDJOB", "contentType must be CSV")
        return delimiter, line_ending

    def _register(self, job: Job) -> Job:
        with self._lock:
            self._jobs[job.id] = job
        return job

    def _now(self) -> str:
        return schema.format_epoch_ms(int(time.time() * 1000))

    # -- ingest ----------------------------------------------------------------------------------------------------

    def create_ingest(self, body: dict[str, Any], version: str) -> Job:
        operation = str(body.get("operation", ""))
        if operation not in INGEST_OPERATIONS:
            raise errors.ApiError(400, "INVALIDJOB", f"Invalid operation: {operation!r}; one of {INGEST_OPERATIONS}")
        sobject = self.org.find_type(str(body.get("object", "")))
        if sobject is None or sobject.is_event:
            raise errors.ApiError(400, "INVALIDJOB", f"Unable to find object: {body.get('object')}")
        external_id = body.get("externalIdFieldName")
        if operation == "upsert":
            definition = sobject.field(str(external_id or ""))
            if definition is None or not definition.id_lookup:
                raise errors.ApiError(
                    400,
                    "INVALIDJOB",
                    f"External ID field is required for upsert and must be an external id or Id: {external_id!r}",
                )
            external_id = definition.name
        delimiter, line_ending = self._options(body)
        return self._register(
            Job(
                self._new_id(),
                "ingest",
                operation,
                sobject.name,
                version,
                self._now(),
                delimiter,
                line_ending,
                external_id if operation == "upsert" else None,
            )
        )

    def upload(self, job: Job, text: str) -> Response:
        with self._lock:
            if job.state != "Open":
                raise errors.ApiError(409, "INVALIDJOBSTATE", f"Job is not in Open state: {job.state}")
            job.uploads.append(text)
        return Response(status_code=201)

    def change_state(self, job: Job, body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("state")
        with self._lock:
            if wanted == "UploadComplete" and job.kind == "ingest" and job.state == "Open":
                job.state = "UploadComplete"
                job.modstamp = self._now()
                threading.Thread(target=self._process_ingest, args=(job,), daemon=True).start()
            elif wanted == "Aborted" and job.state not in TERMINAL:
                job.state = "Aborted"
                job.modstamp = self._now()
            else:
                raise errors.ApiError(
                    400, "INVALIDJOBSTATE", f"Cannot change the state of a job from {job.state} to {wanted}"
                )
            return job.info()

    def delete(self, job: Job) -> Response:
        with self._lock:
            if job.state not in (*TERMINAL, "UploadComplete") or (job.kind == "ingest" and job.state == "Open"):
                raise errors.ApiError(400, "INVALIDJOBSTATE", f"Cannot delete a job in state {job.state}")
            del self._jobs[job.id]
        return Response(status_code=204)

    def _parse_rows(self, job: Job) -> tuple[list[str], list[list[str]]]:
        header: list[str] = []
        rows: list[list[str]] = []
        for text in job.uploads:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[job.delimiter])
            upload_header = next(reader, [])
            if header and upload_header != header:
                raise ValueError("every upload of a job must have the same header row")
            header = upload_header
            rows.extend(row for row in reader if row)
        return header, rows

    def _process_ingest(self, job: Job) -> None:
        try:
            self._ingest(job)
        except Exception as exc:  # a server bug must end the job, not leave its client polling forever
            LOG.exception("ingest job %s failed", job.id)
            self._fail(job, f"UNKNOWN_EXCEPTION : {type(exc).__name__}: {exc}", [])

    def _ingest(self, job: Job) -> None:
        with self._lock:
            if job.state != "UploadComplete":
                return
            job.state = "InProgress"
            job.started_ms = int(time.time() * 1000)
        try:
            header, rows = self._parse_rows(job)
        except (ValueError, csv.Error) as exc:
            self._fail(job, f"InvalidBatch : {exc}", [])
            return
        job.header = header
        sobject = self.org.sobject(job.object)
        unknown = [name for name in header if sobject.field(name) is None]
        needed = {"update": "Id", "delete": "Id", "hardDelete": "Id", "upsert": job.external_id}.get(job.operation)
        if unknown:
            self._fail(job, f"InvalidBatch : Field name not found : {unknown[0]}", rows)
            return
        if needed and needed.lower() not in {name.lower() for name in header}:
            self._fail(job, f"InvalidBatch : Field name not found : {needed}", rows)
            return
        if job.operation in {"delete", "hardDelete"} and [h.lower() for h in header] != ["id"]:
            self._fail(job, "InvalidBatch : The 'delete' batch must contain only 'Id' field", rows)
            return
        names = [sobject.fields[sobject.field(name).name].name for name in header]  # type: ignore[union-attr]
        for start in range(0, len(rows), CHUNK_RECORDS):
            with self._lock:
                if job.state == "Aborted":
                    job.unprocessed_rows.extend(rows[start:])
                    return
            self._process_chunk(job, names, rows[start : start + CHUNK_RECORDS])
        with self._lock:
            if job.state == "InProgress":
                job.state = "JobComplete"
            job.finished_ms = int(time.time() * 1000)
            job.modstamp = self._now()

    def _fail(self, job: Job, message: str, rows: list[list[str]]) -> None:
        with self._lock:
            job.state = "Failed"
            job.error_message = message
            job.unprocessed_rows = rows
            job.finished_ms = int(time.time() * 1000)
            job.modstamp = self._now()

    def _process_chunk(self, job: Job, names: list[str], rows: list[list[str]]) -> None:
        with self.org.transaction() as tx:
            for row in rows:
                values: dict[str, Any] = {}
                for name, raw in zip(names, row, strict=False):
                    if raw == "":
                        continue
                    values[name] = None if raw == "#N/A" else raw
                record_id = values.get("Id") or ""
                try:
                    with self.org.savepoint(tx):
                        created = False
                        if job.operation == "insert":
                            record_id, created = self.org.insert(tx, job.object, values), True
                        elif job.operation == "update":
                            body = {k: v for k, v in values.items() if k != "Id"}
                            record_id = self.org.update(tx, job.object, str(record_id), body)
                        elif job.operation == "upsert":
                            assert job.external_id is not None
                            key = values.get(job.external_id)
                            body = {k: v for k, v in values.items() if k != job.external_id}
                            record_id, created = self.org.upsert(tx, job.object, job.external_id, key, body)
                        else:
                            hard = job.operation == "hardDelete"
                            record_id = self.org.delete(tx, job.object, str(record_id), hard=hard)
                    job.successful_rows.append([record_id, "true" if created else "false", *row])
                except errors.ApiError as exc:
                    job.failed_rows.append([str(record_id), _bulk_error(exc), *row])
                    job.failed += 1
                job.processed += 1

    def ingest_results(self, job: Job, which: str) -> Response:
        with self._lock:
            if which != "unprocessed" and job.state not in TERMINAL:
                raise errors.ApiError(400, "INVALIDJOBSTATE", f"Job is not complete: {job.state}")
            if which == "successful":
                header, rows = ["sf__Id", "sf__Created", *job.header], list(job.successful_rows)
            elif which == "failed":
                header, rows = ["sf__Id", "sf__Error", *job.header], list(job.failed_rows)
            else:
                upload_header = job.header
                if not upload_header and job.uploads:
                    upload_header = next(csv.reader(io.StringIO(job.uploads[0])), [])
                header, rows = upload_header, list(job.unprocessed_rows)
                if job.state in ("Open", "Aborted") and not rows and job.uploads:
                    try:
                        header, rows = self._parse_rows(job)
                    except (ValueError, csv.Error):
                        rows = []
        return csv_response(_csv_text(header, rows, job.delimiter, job.line_ending))

    # -- query -----------------------------------------------------------------------------------------------------

    def create_query(self, body: dict[str, Any], version: str) -> Job:
        operation = str(body.get("operation", ""))
        if operation not in QUERY_OPERATIONS:
            raise errors.ApiError(400, "INVALIDJOB", f"Invalid operation: {operation!r}; one of {QUERY_OPERATIONS}")
        parsed = soql.parse(str(body.get("query", "")), self.org.find_type)
        if parsed.count:
            raise errors.ApiError(400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0")
        delimiter, line_ending = self._options(body)
        job = self._register(
            Job(
                self._new_id(),
                "query",
                operation,
                parsed.sobject,
                version,
                self._now(),
                delimiter,
                line_ending,
                query=parsed,
                state="UploadComplete",
            )
        )
        threading.Thread(target=self._process_query, args=(job,), daemon=True).start()
        return job

    def _process_query(self, job: Job) -> None:
        try:
            self._query(job)
        except Exception as exc:  # a server bug must end the job, not leave its client polling forever
            LOG.exception("query job %s failed", job.id)
            self._fail(job, f"UNKNOWN_EXCEPTION : {type(exc).__name__}: {exc}", [])

    def _query(self, job: Job) -> None:
        assert job.query is not None
        with self._lock:
            if job.state != "UploadComplete":
                return
            job.state = "InProgress"
            job.started_ms = int(time.time() * 1000)
        with self.org.lock:
            records = self.org.records(job.object, include_deleted=job.operation == "queryAll")
            matched = job.query.run(records)
        rows = [[_csv_value(record.get(name)) for name in job.query.fields] for record in matched]
        with self._lock:
            if job.state != "InProgress":
                return
            job.result_header = list(job.query.fields)
            job.result_rows = rows
            job.processed = len(rows)
            job.state = "JobComplete"
            job.finished_ms = int(time.time() * 1000)
            job.modstamp = self._now()

    async def query_results(self, job: Job, request: Request) -> Response:
        """One page of a completed query job's results. The page's CSV is written on a worker thread, so the
        server goes on sending other answers (the previous page's body) meanwhile, as Salesforce's servers do."""
        with self._lock:
            if job.state != "JobComplete":
                raise errors.ApiError(400, "INVALIDJOBSTATE", f"Job is not complete: {job.state}")
            rows = job.result_rows
        if job.version != request.path_params["version"]:
            raise errors.ApiError(409, "INVALIDJOBSTATE", "Use the API version the query job was created with")
        start = 0
        locator = request.query_params.get("locator", "")
        if locator and locator != "null":
            try:
                start = int(base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode())
            except ValueError:
                raise errors.ApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}") from None
        raw_max = request.query_params.get("maxRecords", "")
        if raw_max and (not raw_max.isdigit() or int(raw_max) < 1):
            raise errors.ApiError(400, "INVALID_MAX_RECORDS", f"maxRecords must be a positive integer: {raw_max}")
        size = int(raw_max) if raw_max else DEFAULT_MAX_RECORDS
        page = rows[start : start + size]
        end = start + len(page)
        next_locator = base64.urlsafe_b64encode(str(end).encode()).decode().rstrip("=") if end < len(rows) else "null"
        text = await asyncio.to_thread(_csv_text, job.result_header, page, job.delimiter, job.line_ending)
        return csv_response(text, {"Sforce-Locator": next_locator, "Sforce-NumberOfRecords": str(len(page))})
