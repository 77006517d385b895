"""The REST data API under ``/services/data/vXX.X/``: resources, limits, query/queryAll with locators, describe,
record CRUD, upsert by external id, and the sObject Collections resource (``composite/sobjects``).

Responsibility: turn each request into org calls and shape the answers as Salesforce documents them (201 with
``{"id", "success", "errors"}`` for a create, 204 for an update or delete, ``{"totalSize", "done", "records",
"nextRecordsUrl"}`` for a query). Paths are matched by segments, so a trailing slash (simple-salesforce sends one)
makes no difference. Thread-safety: query cursors are kept under their own lock; everything else is the org's.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tests.harness.salesforce import errors, ids, schema, soql
from tests.harness.salesforce.bulk2 import BulkApi
from tests.harness.salesforce.collections import COLLECTION_LIMIT, collections_request
from tests.harness.salesforce.org import Org
from tests.harness.salesforce.responses import enqueued, json_response, read_object, shaped_record

DEFAULT_BATCH_SIZE = 2000
SEASONS = ("Summer", "Winter", "Spring")  # 31.0 was Summer '14; three releases a year since


def versions() -> list[dict[str, str]]:
    """API versions 31.0 to 62.0, each with its release's name."""
    found = []
    for major in range(31, 63):
        offset = major - 31
        label = f"{SEASONS[offset % 3]} '{14 + (offset + 2) // 3}"
        found.append({"label": label, "url": f"/services/data/v{major}.0", "version": f"{major}.0"})
    return found


SUPPORTED_VERSIONS = {entry["version"] for entry in versions()}


class Cursors:
    """Query results waiting to be fetched page by page through their locator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._open: dict[str, list[dict[str, Any]]] = {}

    def open(self, rows: list[dict[str, Any]]) -> str:
        with self._lock:
            locator = ids.to_18("01g" + ids.POD + ids.base62(next(self._counter), 10))
            self._open[locator] = rows
            return locator

    def rows(self, locator: str) -> list[dict[str, Any]]:
        with self._lock:
            found = self._open.get(locator)
        if found is None:
            raise errors.ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return found

    def close(self, locator: str) -> None:
        with self._lock:
            self._open.pop(locator, None)


class RestApi:
    """Handlers for one org; :meth:`dispatch` is the route for ``/services/data/v{version}/{path}``."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.cursors = Cursors()
        self.bulk = BulkApi(org)
        self.extensions: list[Callable[[Request, str, list[str]], Awaitable[Response | None]]] = []

    async def dispatch(self, request: Request) -> Response:
        version = request.path_params["version"]
        if version not in SUPPORTED_VERSIONS:
            raise errors.not_found()
        parts = [part for part in request.path_params.get("path", "").split("/") if part]
        method = request.method
        for extension in self.extensions:
            answer = await extension(request, version, parts)
            if answer is not None:
                return answer
        if not parts and method == "GET":
            return json_response(self.resources(version))
        head = parts[0] if parts else ""
        if head == "limits" and len(parts) == 1 and method == "GET":
            return json_response(self.limits())
        if head in {"query", "queryAll"} and method == "GET":
            if len(parts) == 1:
                return self.query(request, version, head)
            if len(parts) == 2:
                return self.query_page(request, version, head, parts[1])
        if head == "sobjects":
            return await self.sobjects(request, version, parts[1:])
        if head == "jobs":
            answer = await self.bulk.dispatch(request, version, parts)
            if answer is not None:
                return answer
        if head == "composite" and len(parts) >= 2 and parts[1] == "sobjects":
            return await collections_request(self.org, request, version, parts[2:])
        raise errors.not_found()

    def resources(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
        return {name: f"{base}/{name}" for name in names}

    def limits(self) -> dict[str, Any]:
        used, maximum = self.org.faults.usage()
        fixed = {
            "DailyBulkApiBatches": 15000,
            "DailyBulkV2QueryFileStorageMB": 976562,
            "DailyBulkV2QueryJobs": 10000,
            "DailyStreamingApiEvents": 1000000,
            "DataStorageMB": 1024,
            "HourlyPublishedPlatformEvents": 250000,
            "MonthlyPlatformEventsUsageEntitlement": 0,
        }
        body: dict[str, Any] = {"DailyApiRequests": {"Max": maximum, "Remaining": maximum - used}}
        body.update({name: {"Max": value, "Remaining": value} for name, value in fixed.items()})
        return body

    # -- query -----------------------------------------------------------------------------------------------------

    @staticmethod
    def batch_size(request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        for option in options.split(","):
            name, _, value = option.strip().partition("=")
            if name.strip().lower() == "batchsize":
                if not value.strip().isdigit():
                    raise errors.ApiError(400, "INVALID_QUERY_OPTIONS", f"invalid batchSize: {value}")
                return max(200, min(DEFAULT_BATCH_SIZE, int(value)))
        return DEFAULT_BATCH_SIZE

    def query(self, request: Request, version: str, resource: str) -> Response:
        text = request.query_params.get("q")
        if not text:
            raise errors.malformed_query("A query string must be provided with the q parameter")
        parsed = soql.parse(text, self.org.find_type)
        with self.org.lock:
            matched = parsed.run(self.org.records(parsed.sobject, include_deleted=resource == "queryAll"))
        if parsed.count:
            return json_response({"totalSize": len(matched), "done": True, "records": []})
        rows = [soql.project(parsed, record, version) for record in matched]
        size = self.batch_size(request)
        if len(rows) <= size:
            return json_response({"totalSize": len(rows), "done": True, "records": rows})
        locator = self.cursors.open(rows)
        return json_response(self.page(version, resource, locator, rows, 0, size))

    def query_page(self, request: Request, version: str, resource: str, token: str) -> Response:
        locator, _, start = token.partition("-")
        if not start.isdigit():
            raise errors.ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        rows = self.cursors.rows(locator)
        return json_response(self.page(version, resource, locator, rows, int(start), self.batch_size(request)))

    def page(
        self, version: str, resource: str, locator: str, rows: list[dict[str, Any]], start: int, size: int
    ) -> dict[str, Any]:
        end = start + size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[start:end]}
        if end < len(rows):
            # Salesforce's queryAll pages through /query/ too; the locator remembers the deleted rows.
            body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{end}"
        else:
            self.cursors.close(locator)
        return body

    # -- sobjects --------------------------------------------------------------------------------------------------

    async def sobjects(self, request: Request, version: str, parts: list[str]) -> Response:
        method = request.method
        if not parts:
            if method != "GET":
                raise errors.not_found()
            return json_response(
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": COLLECTION_LIMIT,
                    "sobjects": [sobject.global_entry(version) for sobject in self.org.types()],
                }
            )
        sobject = self.org.sobject(parts[0])
        if len(parts) == 1:
            if method == "GET":
                return json_response({"objectDescribe": sobject.global_entry(version), "recentItems": []})
            if method == "POST":
                body = await read_object(request)
                with self.org.transaction() as tx:
                    record_id = self.org.insert(tx, sobject.name, body)
                    notes = enqueued(tx) if sobject.is_event else []
                return json_response({"id": record_id, "success": True, "errors": notes}, 201)
            raise errors.not_found()
        if len(parts) == 2 and parts[1] == "describe" and method == "GET":
            return json_response(sobject.describe(version))
        if len(parts) == 2 and parts[1] in {"deleted", "updated"} and method == "GET":
            return json_response(self.changed_between(request, sobject, parts[1]))
        if len(parts) == 2:
            return await self.record(request, version, sobject, parts[1])
        if len(parts) == 3:
            return await self.by_external_id(request, version, sobject, parts[1], parts[2])
        raise errors.not_found()

    def changed_between(self, request: Request, sobject: schema.SObjectType, which: str) -> dict[str, Any]:
        bounds = []
        for name in ("start", "end"):
            raw = request.query_params.get(name, "")
            parsed = schema.parse_datetime(raw)
            if parsed is None:
                raise errors.ApiError(400, "INVALID_REPLICATION_DATE", f"{name}: not a valid date and time: {raw!r}")
            bounds.append(schema.format_datetime(parsed))
        start, end = bounds
        if which == "deleted":
            rows = [
                r
                for r in self.org.records(sobject.name, include_deleted=True)
                if r["IsDeleted"] and start <= r["SystemModstamp"] <= end
            ]
            return {
                "deletedRecords": [{"id": r["Id"], "deletedDate": r["SystemModstamp"]} for r in rows],
                "earliestDateAvailable": start,
                "latestDateCovered": end,
            }
        rows = [r for r in self.org.records(sobject.name) if start <= r["SystemModstamp"] <= end]
        return {"ids": [r["Id"] for r in rows], "latestDateCovered": end}

    async def record(self, request: Request, version: str, sobject: schema.SObjectType, record_id: str) -> Response:
        method = request.method
        if method == "GET":
            record = self.org.get(sobject.name, record_id)
            return json_response(shaped_record(version, sobject, record, request.query_params.get("fields")))
        if method == "PATCH":
            body = await read_object(request)
            with self.org.transaction() as tx:
                self.org.update(tx, sobject.name, record_id, body)
            return Response(status_code=204)
        if method == "DELETE":
            with self.org.transaction() as tx:
                self.org.delete(tx, sobject.name, record_id)
            return Response(status_code=204)
        raise errors.ApiError(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are HEAD,GET,PATCH,DELETE"
        )

    async def by_external_id(
        self, request: Request, version: str, sobject: schema.SObjectType, field_name: str, value: str
    ) -> Response:
        method = request.method
        definition = sobject.field(field_name)
        if definition is None or not definition.id_lookup:
            raise errors.ApiError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        if method in {"PATCH", "POST"}:
            body = await read_object(request)
            clash = [k for k in body if k.lower() == definition.name.lower() and str(body[k]) != value]
            if clash:
                raise errors.ApiError(
                    400,
                    "INVALID_FIELD",
                    f"The value of the field {definition.name} in the body does not match the value in the URL",
                )
            matches = self.org.find_by_external_id(sobject.name, definition.name, value)
            if len(matches) > 1:
                return json_response([f"/services/data/v{version}/sobjects/{sobject.name}/{m}" for m in matches], 300)
            with self.org.transaction() as tx:
                record_id, created = self.org.upsert(tx, sobject.name, definition.name, value, body)
            return json_response(
                {"id": record_id, "success": True, "errors": [], "created": created}, 201 if created else 200
            )
        matches = self.org.find_by_external_id(sobject.name, definition.name, value)
        if not matches:
            raise errors.not_found()
        if method == "GET":
            record = self.org.get(sobject.name, matches[0])
            return json_response(shaped_record(version, sobject, record, request.query_params.get("fields")))
        if method == "DELETE":
            with self.org.transaction() as tx:
                self.org.delete(tx, sobject.name, matches[0])
            return Response(status_code=204)
        raise errors.ApiError(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are HEAD,GET,PATCH,DELETE"
        )
