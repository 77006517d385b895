"""The test-only control API under ``/_harness/``: the one surface that is not Salesforce's.

Tests use it to set the org up and to break it on purpose: define custom objects, platform events and fields; expire
every session; make the next N API requests answer REQUEST_LIMIT_EXCEEDED (403) or SERVER_UNAVAILABLE (503); delay
the answers under a path (``PUT /_harness/latency``, ``{"pathPrefix": ..., "ms": ...}``, 0 ms to remove); set the
daily API request allowance; set the streaming retention window; undelete records (Salesforce undeletes through the
SOAP API and Apex, which this server does not implement). Bodies are JSON; errors are ``{"error": message}`` with 400.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.harness.salesforce import errors, schema
from tests.harness.salesforce.org import Org

FIELD_KEYS = {
    "name",
    "type",
    "label",
    "length",
    "required",
    "nillable",
    "externalId",
    "unique",
    "caseSensitive",
    "precision",
    "scale",
    "referenceTo",
    "picklistValues",
    "defaultValue",
    "createable",
    "updateable",
}


class ControlError(ValueError):
    """A control request that cannot be carried out; the message says why."""


def field_from_spec(spec: Any) -> schema.FieldDef:
    """A field from ``{"name", "type", "length"?, "required"?, "externalId"?, "unique"?, ...}``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("type"), str):
        raise ControlError(f"a field needs a name and a type: {spec!r}")
    unknown = set(spec) - FIELD_KEYS
    if unknown:
        raise ControlError(f"field {spec['name']}: unknown keys {sorted(unknown)}; known: {sorted(FIELD_KEYS)}")
    required = bool(spec.get("required", False))
    return schema.FieldDef(
        name=spec["name"],
        type=spec["type"],
        label=str(spec.get("label", "")),
        length=int(spec.get("length", 0)),
        nillable=bool(spec.get("nillable", not required)),
        createable=bool(spec.get("createable", True)),
        updateable=bool(spec.get("updateable", True)),
        external_id=bool(spec.get("externalId", False)),
        unique=bool(spec.get("unique", False)),
        case_sensitive=bool(spec.get("caseSensitive", False)),
        precision=int(spec.get("precision", 0)),
        scale=int(spec.get("scale", 0)),
        reference_to=tuple(spec.get("referenceTo", ())),
        relationship_name=None,
        picklist_values=tuple(spec.get("picklistValues", ())),
        default_value=spec.get("defaultValue"),
        defaulted_on_create="defaultValue" in spec,
    )


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise ControlError(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def control_routes(org: Org) -> list[Route]:
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "orgId": org.org_id})

    async def define_object(request: Request) -> Response:
        body = await _body(request)
        fields = [field_from_spec(spec) for spec in body.get("fields", [])]
        sobject = org.define_object(str(body.get("name", "")), fields, label=str(body.get("label", "")))
        return JSONResponse(sobject.describe("59.0"), status_code=201)

    async def add_fields(request: Request) -> Response:
        body = await _body(request)
        fields = [field_from_spec(spec) for spec in body.get("fields", [])]
        sobject = org.add_fields(request.path_params["name"], fields)
        return JSONResponse(sobject.describe("59.0"))

    async def expire_sessions(request: Request) -> Response:
        return JSONResponse({"expired": org.sessions.expire_all()})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            org.faults.clear()
            return JSONResponse({"cleared": True})
        body = await _body(request)
        org.faults.arm(
            str(body.get("kind", "")), int(body.get("count", 1)), str(body.get("pathPrefix", "/services/data/"))
        )
        return JSONResponse({"armed": True})

    async def latency(request: Request) -> Response:
        body = await _body(request)
        milliseconds = body.get("ms")
        if not isinstance(milliseconds, int):
            raise ControlError(f"ms must be an integer, got {milliseconds!r}")
        org.faults.slow_down(str(body.get("pathPrefix", "/services/data/")), milliseconds / 1000)
        return JSONResponse({"ms": milliseconds})

    async def limits(request: Request) -> Response:
        body = await _body(request)
        with org.lock:
            if "dailyApiRequests" in body:
                org.faults.api_requests_max = int(body["dailyApiRequests"])
            if "used" in body:
                org.faults.api_requests = int(body["used"])
        used, maximum = org.faults.usage()
        return JSONResponse({"dailyApiRequests": maximum, "used": used})

    async def streaming(request: Request) -> Response:
        body = await _body(request)
        retention = body.get("retentionMs")
        if not isinstance(retention, int) or retention < 0:
            raise ControlError(f"retentionMs must be a non-negative integer, got {retention!r}")
        org.streaming_retention_ms = retention
        return JSONResponse({"retentionMs": retention})

    async def undelete(request: Request) -> Response:
        body = await _body(request)
        results = []
        for record_id in body.get("ids", []):
            try:
                with org.transaction() as tx:
                    results.append({"id": org.undelete(tx, str(record_id)), "success": True, "errors": []})
            except errors.ApiError as exc:
                results.append({"id": record_id, "success": False, "errors": [exc.item()]})
        return JSONResponse(results)

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except (ControlError, ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        return run

    return [
        Route("/health", health),
        Route("/objects", guarded(define_object), methods=["POST"]),
        Route("/objects/{name}/fields", guarded(add_fields), methods=["POST"]),
        Route("/sessions/expire", guarded(expire_sessions), methods=["POST"]),
        Route("/faults", guarded(faults), methods=["POST", "DELETE"]),
        Route("/limits", guarded(limits), methods=["PUT"]),
        Route("/latency", guarded(latency), methods=["PUT"]),
        Route("/streaming", guarded(streaming), methods=["PUT"]),
        Route("/undelete", guarded(undelete), methods=["POST"]),
    ]
