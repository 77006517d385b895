"""The sObject Collections resource, ``composite/sobjects``: create, update, upsert, retrieve and delete up to 200
records in one request, each row answered on its own.

Responsibility: one org transaction per request. With ``allOrNone`` a failing row undoes every row and the others
answer ALL_OR_NONE_OPERATION_ROLLED_BACK; without it each row is a savepoint, so failed rows leave no trace and the
rest commit together. Row errors use ``statusCode`` (not ``errorCode``), as Salesforce's collection results do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tests.harness.salesforce import errors
from tests.harness.salesforce.org import Org, Transaction
from tests.harness.salesforce.responses import enqueued, json_response, read_json, shaped_record

COLLECTION_LIMIT = 200

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
    "fields": [],
}


class AllOrNoneRollbackError(Exception):
    """A row failed in an all-or-none request: the transaction must roll back."""


def row_error(error: errors.ApiError) -> dict[str, Any]:
    return {"statusCode": error.code, "message": error.message, "fields": error.fields or []}


def run_rows(
    org: Org, items: list[Any], all_or_none: bool, operation: Callable[[Transaction, Any], dict[str, Any]]
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    failed = False
    try:
        with org.transaction() as tx:
            for item in items:
                try:
                    with org.savepoint(tx):
                        out = operation(tx, item)
                        results.append({"id": out.pop("id"), "success": True, "errors": out.pop("errors", []), **out})
                except errors.ApiError as exc:
                    failed = True
                    results.append({"success": False, "errors": [row_error(exc)]})
            if failed and all_or_none:
                raise AllOrNoneRollbackError
    except AllOrNoneRollbackError:
        for result in results:
            if result["success"]:
                result.clear()
                result.update({"success": False, "errors": [dict(ROLLED_BACK)]})
    return results


def _records(body: Any) -> tuple[list[Any], bool]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise errors.json_parser_error("Expected a JSON object with a records array")
    records = body["records"]
    if len(records) > COLLECTION_LIMIT:
        raise errors.ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {COLLECTION_LIMIT} records into this call",
        )
    return records, bool(body.get("allOrNone", False))


def _type_of(record: Any) -> str:
    if not isinstance(record, dict):
        raise errors.json_parser_error("Each record must be a JSON object")
    attributes = record.get("attributes")
    if not isinstance(attributes, dict) or not attributes.get("type"):
        raise errors.ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.", [])
    return str(attributes["type"])


async def collections_request(org: Org, request: Request, version: str, parts: list[str]) -> Response:
    method = request.method
    if not parts and method == "POST":
        records, all_or_none = _records(await read_json(request))

        def create(tx: Transaction, record: Any) -> dict[str, Any]:
            if "id" in {k.lower() for k in record}:
                raise errors.ApiError(400, "INVALID_FIELD", "cannot specify Id in an insert call", [])
            name = _type_of(record)
            record_id = org.insert(tx, name, record)
            if name.endswith("__e"):
                return {"id": record_id, "errors": enqueued(tx)}
            return {"id": record_id}

        return json_response(run_rows(org, records, all_or_none, create))
    if not parts and method == "PATCH":
        records, all_or_none = _records(await read_json(request))

        def update(tx: Transaction, record: Any) -> dict[str, Any]:
            name = _type_of(record)
            record_id = next((v for k, v in record.items() if k.lower() == "id"), None)
            if not record_id:
                raise errors.ApiError(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
            values = {k: v for k, v in record.items() if k.lower() != "id"}
            return {"id": org.update(tx, name, str(record_id), values)}

        return json_response(run_rows(org, records, all_or_none, update))
    if not parts and method == "DELETE":
        ids_param = request.query_params.get("ids", "")
        record_ids = [i for i in ids_param.split(",") if i]
        if not record_ids:
            raise errors.ApiError(400, "MISSING_ARGUMENT", "ids parameter is required", [])
        if len(record_ids) > COLLECTION_LIMIT:
            raise errors.ApiError(400, "EXCEEDED_ID_LIMIT", f"more than {COLLECTION_LIMIT} ids", [])
        all_or_none = request.query_params.get("allOrNone", "false").lower() == "true"

        def delete(tx: Transaction, record_id: Any) -> dict[str, Any]:
            name = org.type_of_id(record_id)
            if name is None:
                raise errors.ApiError(400, "MALFORMED_ID", f"malformed id {record_id}", [])
            try:
                return {"id": org.delete(tx, name, record_id)}
            except errors.ApiError as exc:
                if exc.code in {"NOT_FOUND", "ENTITY_IS_DELETED"}:
                    raise errors.ApiError(400, "ENTITY_IS_DELETED", "entity is deleted", []) from None
                raise

        results = run_rows(org, record_ids, all_or_none, delete)
        for record_id, result in zip(record_ids, results, strict=True):
            result.setdefault("id", record_id)
        return json_response(results)
    if len(parts) == 1 and method in {"GET", "POST"}:
        sobject = org.sobject(parts[0])
        if method == "GET":
            record_ids = [i for i in request.query_params.get("ids", "").split(",") if i]
            fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        else:
            body = await read_json(request)
            record_ids = list(body.get("ids", [])) if isinstance(body, dict) else []
            fields = list(body.get("fields", [])) if isinstance(body, dict) else []
        if not fields:
            raise errors.ApiError(400, "MISSING_ARGUMENT", "fields parameter is required", [])
        found: list[Any] = []
        for record_id in record_ids:
            try:
                record = org.get(sobject.name, record_id)
            except errors.ApiError:
                found.append(None)
                continue
            found.append(shaped_record(version, sobject, record, ",".join(fields)))
        return json_response(found)
    if len(parts) == 2 and method == "PATCH":
        sobject = org.sobject(parts[0])
        definition = sobject.field(parts[1])
        if definition is None or not definition.id_lookup:
            raise errors.ApiError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {parts[1]}"
            )
        records, all_or_none = _records(await read_json(request))

        def upsert(tx: Transaction, record: Any) -> dict[str, Any]:
            name = _type_of(record)
            if name.lower() != sobject.name.lower():
                raise errors.ApiError(400, "INVALID_TYPE", f"record type {name} does not match {sobject.name}", [])
            value = next((v for k, v in record.items() if k.lower() == definition.name.lower()), None)
            if value in (None, "") and definition.type != "id":
                raise errors.ApiError(400, "MISSING_ARGUMENT", f"{definition.name} not specified", [definition.name])
            matches = org.find_by_external_id(sobject.name, definition.name, value) if value else []
            if len(matches) > 1:
                raise errors.ApiError(300, "DUPLICATE_EXTERNAL_ID", f"{definition.name}: more than one record", [])
            values = {k: v for k, v in record.items() if k.lower() != definition.name.lower()}
            record_id, created = org.upsert(tx, sobject.name, definition.name, value, values)
            return {"id": record_id, "created": created}

        return json_response(run_rows(org, records, all_or_none, upsert))
    raise errors.not_found()
