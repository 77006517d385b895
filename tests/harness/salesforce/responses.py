"""JSON in and out as Salesforce's REST API does it: ``application/json;charset=UTF-8`` answers, and request bodies
whose parse errors are JSON_PARSER_ERROR."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.harness.salesforce import errors, schema
from tests.harness.salesforce.org import Transaction


def json_response(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, media_type="application/json;charset=UTF-8")


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise errors.json_parser_error(f"Unexpected character: {exc}") from None


async def read_object(request: Request) -> dict[str, Any]:
    """A JSON object body (field values), else JSON_PARSER_ERROR."""
    body = await read_json(request)
    if not isinstance(body, dict):
        raise errors.json_parser_error("Expected a JSON object of field values")
    return body


def shaped_record(
    version: str, sobject: schema.SObjectType, record: dict[str, Any], fields: str | None
) -> dict[str, Any]:
    """A record as the REST API returns it: ``attributes``, then every field or the comma-separated ``fields``."""
    names = list(sobject.fields)
    if fields:
        names = []
        for name in fields.split(","):
            definition = sobject.field(name.strip())
            if definition is None:
                raise errors.invalid_field(f"No such column '{name.strip()}' on sobject of type {sobject.name}")
            names.append(definition.name)
    url = f"/services/data/v{version}/sobjects/{sobject.name}/{record['Id']}"
    row: dict[str, Any] = {"attributes": {"type": sobject.name, "url": url}}
    row.update((name, record.get(name)) for name in names)
    return row


def enqueued(tx: Transaction) -> list[dict[str, Any]]:
    """What a platform event publish answers in ``errors`` although it succeeded: OPERATION_ENQUEUED with the event's
    UUID (publishing is asynchronous in Salesforce)."""
    return [{"statusCode": "OPERATION_ENQUEUED", "message": tx.changes[-1][4]["EventUuid"], "fields": []}]
