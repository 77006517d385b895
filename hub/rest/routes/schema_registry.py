"""Confluent Schema Registry's REST API — ``/subjects``, ``/schemas``, ``/config``, ``/compatibility``, ``/mode`` —
over ``hub.registry``'s SchemaRegistry, at Confluent's paths and with its bodies, so ``schema.registry.url`` can be
Hub's REST URL. Answers are ``application/vnd.schemaregistry.v1+json``; refusals carry Confluent's error codes
(``hub.registry.errors``). Registry calls may block (a write reads and writes the ``_schemas`` topic), so they run
on Starlette's thread pool. Handlers keep no state.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from hub.registry.errors import RegistryError, compatibility_not_configured, mode_not_configured
from hub.registry.records import SchemaRecord
from hub.registry.requests import SchemaRequest, check_subject, parse_version
from hub.registry.service import SchemaRegistry
from hub.rest.routes.params import BodyReader, call, flag

MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"
#: Request bodies Confluent's registry takes (its clients send the first).
CONTENT_TYPES = (
    "application/vnd.schemaregistry.v1+json",
    "application/vnd.schemaregistry+json",
    "application/json",
    "application/octet-stream",
)


class RegistryResponse(JSONResponse):
    media_type = MEDIA_TYPE


def error_response(error: RegistryError) -> Response:
    return RegistryResponse({"error_code": error.error_code, "message": error.message}, status_code=error.status)


def _schema_body(record: SchemaRecord, *, with_version: bool, text: str | None = None) -> dict[str, Any]:
    body = record.to_json()
    del body["deleted"]
    if text is not None:
        body["schema"] = text
    if not with_version:
        for key in ("subject", "version", "id"):
            del body[key]
    return body


def _only(document: Any, *fields: str) -> dict[str, Any]:
    """A body that is an object of ``fields`` (others, unless null, are refused by name: nothing is ignored)."""
    if not isinstance(document, dict):
        raise RegistryError(422, f"The request body must be a JSON object with {' and '.join(fields)}")
    unknown = sorted(k for k, v in document.items() if k not in fields and v is not None)
    if unknown:
        raise RegistryError(422, f"Unsupported field(s) {', '.join(unknown)}: this request takes {', '.join(fields)}")
    return document


def routes(registry: SchemaRegistry, body: BodyReader) -> list[Route]:
    """The registry's routes over ``registry``; request bodies are read with ``body``."""

    def subject_of(request: Request) -> str:
        return check_subject(request.path_params["subject"])

    def version_of(request: Request) -> int | None:
        return parse_version(request.path_params["version"])

    async def schema_request(request: Request) -> SchemaRequest:
        return SchemaRequest.from_json(await body(request))

    async def formatted(request: Request, record: SchemaRecord) -> str:
        return str(await call(registry.formatted, record, request.query_params.get("format")))

    def ok(value: Any) -> Response:
        return RegistryResponse(value)

    # --- /schemas ----------------------------------------------------------------------------------------------

    async def schema_types(request: Request) -> Response:
        return ok(registry.schema_types())

    async def schemas(request: Request) -> Response:
        found = registry.schemas(
            prefix=request.query_params.get("subjectPrefix", ""),
            deleted=flag(request, "deleted"),
            latest_only=flag(request, "latestOnly"),
        )
        return ok([_schema_body(r, with_version=True) for r in found])

    async def schema_by_id(request: Request) -> Response:
        record = registry.schema_by_id(request.path_params["id"], subject=request.query_params.get("subject"))
        return ok(_schema_body(record, with_version=False, text=await formatted(request, record)))

    async def schema_text_by_id(request: Request) -> Response:
        record = registry.schema_by_id(request.path_params["id"], subject=request.query_params.get("subject"))
        return PlainTextResponse(record.schema, media_type=MEDIA_TYPE)

    async def id_subjects(request: Request) -> Response:
        found = registry.id_versions(request.path_params["id"], deleted=flag(request, "deleted"))
        return ok(sorted({r.subject for r in found}))

    async def id_versions(request: Request) -> Response:
        found = registry.id_versions(request.path_params["id"], deleted=flag(request, "deleted"))
        return ok([{"subject": r.subject, "version": r.version} for r in found])

    # --- /subjects ---------------------------------------------------------------------------------------------

    async def subjects(request: Request) -> Response:
        prefix = request.query_params.get("subjectPrefix", "")
        return ok(registry.subjects(prefix=prefix, deleted=flag(request, "deleted")))

    async def versions(request: Request) -> Response:
        return ok(registry.versions(subject_of(request), deleted=flag(request, "deleted")))

    async def register(request: Request) -> Response:
        subject, wanted = subject_of(request), await schema_request(request)
        record = await call(registry.register, subject, wanted, normalize=flag(request, "normalize"))
        return ok({"id": record.id, "version": record.version, **_schema_body(record, with_version=False)})

    async def lookup(request: Request) -> Response:
        subject, wanted = subject_of(request), await schema_request(request)
        record = await call(
            registry.lookup, subject, wanted, normalize=flag(request, "normalize"), deleted=flag(request, "deleted")
        )
        return ok(_schema_body(record, with_version=True))

    async def version(request: Request) -> Response:
        record = registry.version(subject_of(request), version_of(request), deleted=flag(request, "deleted"))
        return ok(_schema_body(record, with_version=True, text=await formatted(request, record)))

    async def version_schema(request: Request) -> Response:
        record = registry.version(subject_of(request), version_of(request), deleted=flag(request, "deleted"))
        return PlainTextResponse(record.schema, media_type=MEDIA_TYPE)

    async def referenced_by(request: Request) -> Response:
        return ok(registry.referenced_by(subject_of(request), version_of(request)))

    async def delete_subject(request: Request) -> Response:
        subject = subject_of(request)
        return ok(await call(registry.delete_subject, subject, permanent=flag(request, "permanent")))

    async def delete_version(request: Request) -> Response:
        subject, number = subject_of(request), version_of(request)
        return ok(await call(registry.delete_version, subject, number, permanent=flag(request, "permanent")))

    # --- /config -----------------------------------------------------------------------------------------------

    def path_subject(request: Request) -> str | None:
        return subject_of(request) if "subject" in request.path_params else None

    async def get_config(request: Request) -> Response:
        subject = path_subject(request)
        level = registry.compatibility(subject, fallback=subject is None or flag(request, "defaultToGlobal"))
        if level is None:
            raise compatibility_not_configured(str(subject))
        return ok({"compatibilityLevel": level})

    async def put_config(request: Request) -> Response:
        subject, document = path_subject(request), _only(await body(request), "compatibility")
        level = document.get("compatibility")
        return ok({"compatibility": await call(registry.set_compatibility, subject, level)})

    async def delete_config(request: Request) -> Response:
        return ok({"compatibilityLevel": await call(registry.delete_compatibility, path_subject(request))})

    # --- /compatibility ----------------------------------------------------------------------------------------

    async def check(request: Request, *, all_versions: bool) -> Response:
        subject, wanted = subject_of(request), await schema_request(request)
        number = None if all_versions else version_of(request)
        if all_versions and not registry.state.versions(subject):
            problems: list[str] = []
        else:
            problems = await call(registry.test_compatibility, subject, number, wanted, all_versions=all_versions)
        answer: dict[str, Any] = {"is_compatible": not problems}
        if flag(request, "verbose"):
            answer["messages"] = problems
        return ok(answer)

    async def check_version(request: Request) -> Response:
        return await check(request, all_versions=False)

    async def check_versions(request: Request) -> Response:
        return await check(request, all_versions=True)

    # --- /mode -------------------------------------------------------------------------------------------------

    async def get_mode(request: Request) -> Response:
        subject = path_subject(request)
        mode = registry.mode(subject, fallback=subject is None or flag(request, "defaultToGlobal"))
        if mode is None:
            raise mode_not_configured(str(subject))
        return ok({"mode": mode})

    async def put_mode(request: Request) -> Response:
        subject, document = path_subject(request), _only(await body(request), "mode")
        mode = document.get("mode")
        return ok({"mode": await call(registry.set_mode, subject, mode, force=flag(request, "force"))})

    async def delete_mode(request: Request) -> Response:
        return ok({"mode": await call(registry.delete_mode, subject_of(request))})

    return [
        Route("/schemas", schemas, methods=["GET"]),
        Route("/schemas/types", schema_types, methods=["GET"]),
        Route("/schemas/ids/{id:int}", schema_by_id, methods=["GET"]),
        Route("/schemas/ids/{id:int}/schema", schema_text_by_id, methods=["GET"]),
        Route("/schemas/ids/{id:int}/subjects", id_subjects, methods=["GET"]),
        Route("/schemas/ids/{id:int}/versions", id_versions, methods=["GET"]),
        Route("/subjects", subjects, methods=["GET"]),
        Route("/subjects/{subject:str}", lookup, methods=["POST"]),
        Route("/subjects/{subject:str}", delete_subject, methods=["DELETE"]),
        Route("/subjects/{subject:str}/versions", versions, methods=["GET"]),
        Route("/subjects/{subject:str}/versions", register, methods=["POST"]),
        Route("/subjects/{subject:str}/versions/{version:str}", version, methods=["GET"]),
        Route("/subjects/{subject:str}/versions/{version:str}", delete_version, methods=["DELETE"]),
        Route("/subjects/{subject:str}/versions/{version:str}/schema", version_schema, methods=["GET"]),
        Route("/subjects/{subject:str}/versions/{version:str}/referencedby", referenced_by, methods=["GET"]),
        Route("/config", get_config, methods=["GET"]),
        Route("/config", put_config, methods=["PUT"]),
        Route("/config", delete_config, methods=["DELETE"]),
        Route("/config/{subject:str}", get_config, methods=["GET"]),
        Route("/config/{subject:str}", put_config, methods=["PUT"]),
        Route("/config/{subject:str}", delete_config, methods=["DELETE"]),
        Route("/compatibility/subjects/{subject:str}/versions", check_versions, methods=["POST"]),
        Route("/compatibility/subjects/{subject:str}/versions/{version:str}", check_version, methods=["POST"]),
        Route("/mode", get_mode, methods=["GET"]),
        Route("/mode", put_mode, methods=["PUT"]),
        Route("/mode/{subject:str}", get_mode, methods=["GET"]),
        Route("/mode/{subject:str}", put_mode, methods=["PUT"]),
        Route("/mode/{subject:str}", delete_mode, methods=["DELETE"]),
    ]
