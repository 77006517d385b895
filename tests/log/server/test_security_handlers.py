"""The ACL and SCRAM admin APIs answer with Kafka's errors: SECURITY_DISABLED without an authorizer,
INVALID_REQUEST for bindings and filters Kafka refuses, and per user RESOURCE_NOT_FOUND, DUPLICATE_RESOURCE,
UNSUPPORTED_SASL_MECHANISM and UNACCEPTABLE_CREDENTIAL; a refused alteration changes nothing for its user."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from hub.log.error_codes import ErrorCode
from hub.log.errors import NotControllerError, QuorumTimeoutError
from hub.log.protocol import RequestHeader, encode_response, request_codec
from hub.log.security.acl_store import AclStore
from hub.log.security.authorizer import Authorizer, AuthorizerSettings
from hub.log.security.scram_credentials import ScramCredentialStore
from hub.log.server.context import Body, RequestContext
from hub.log.server.security_handlers import SecurityHandlers

ANY_FILTER = {"resource_type_filter": 1, "resource_name_filter": None, "pattern_type_filter": 1,
              "principal_filter": None, "host_filter": None, "operation": 1, "permission_type": 1}  # fmt: skip


def call(handlers: SecurityHandlers, api_key: int, version: int, body: Body) -> Body:
    full = {**request_codec(api_key, version).default(), **body}
    ctx = RequestContext(RequestHeader(api_key, version, 1, "test", 1), "127.0.0.1")
    coroutine: Awaitable[Body] = handlers.routes[api_key](ctx, full)
    response = asyncio.run(coroutine)  # type: ignore[arg-type]
    encode_response(api_key, version, 1, response)
    return response


def secured() -> SecurityHandlers:
    return SecurityHandlers(Authorizer(AuthorizerSettings(), AclStore(None)), ScramCredentialStore(None))


def creation(**changes: Any) -> Body:
    return {"resource_type": 2, "resource_name": "t", "resource_pattern_type": 3, "principal": "User:a",
            "host": "*", "operation": 3, "permission_type": 3, **changes}  # fmt: skip


def test_without_an_authorizer_the_acl_apis_answer_security_disabled() -> None:
    handlers = SecurityHandlers(None, ScramCredentialStore(None))
    assert call(handlers, 29, 1, ANY_FILTER)["error_code"] == ErrorCode.SECURITY_DISABLED
    assert call(handlers, 30, 1, {"creations": [creation()]})["results"][0]["error_code"] == (
        ErrorCode.SECURITY_DISABLED
    )
    assert call(handlers, 31, 1, {"filters": [ANY_FILTER]})["filter_results"][0]["error_code"] == (
        ErrorCode.SECURITY_DISABLED
    )


def test_acl_crud_with_kafkas_validation() -> None:
    handlers = secured()
    created = call(handlers, 30, 2, {"creations": [
        creation(), creation(resource_type=1), creation(resource_pattern_type=2), creation(operation=1),
        creation(permission_type=1), creation(resource_type=4, resource_name="other"), creation(principal="nobody"),
        creation(resource_name="pre-", resource_pattern_type=4, permission_type=2),
    ]})  # fmt: skip
    assert [r["error_code"] for r in created["results"]] == [0] + [ErrorCode.INVALID_REQUEST] * 6 + [0]
    described = call(handlers, 29, 2, {**ANY_FILTER, "resource_type_filter": 2, "resource_name_filter": "pre-x",
                                       "pattern_type_filter": 2})  # fmt: skip
    assert [(r["resource_name"], r["pattern_type"], len(r["acls"])) for r in described["resources"]] == [("pre-", 4, 1)]
    assert call(handlers, 29, 1, {**ANY_FILTER, "pattern_type_filter": 0})["error_code"] == ErrorCode.INVALID_REQUEST
    deleted = call(handlers, 31, 3, {"filters": [{**ANY_FILTER, "permission_type": 2}, {**ANY_FILTER, "operation": 0}]})
    [by_permission, invalid] = deleted["filter_results"]
    assert [(a["resource_name"], a["permission_type"]) for a in by_permission["matching_acls"]] == [("pre-", 2)]
    assert invalid["error_code"] == ErrorCode.INVALID_REQUEST
    assert [r["resource_name"] for r in call(handlers, 29, 3, ANY_FILTER)["resources"]] == ["t"]


def upsert(name: str, mechanism: int = 2, iterations: int = 4096) -> Body:
    return {"name": name, "mechanism": mechanism, "iterations": iterations, "salt": b"salt", "salted_password": b"p"}


def test_scram_alterations_with_kafkas_errors() -> None:
    handlers = secured()
    answer = call(handlers, 51, 0, {
        "deletions": [{"name": "gone", "mechanism": 1}],
        "upsertions": [upsert("ok"), upsert("twice"), upsert("twice", mechanism=1),
                       upsert("bad-mech", mechanism=3), upsert("few", iterations=4095),
                       upsert("many", iterations=16385), upsert("")],
    })  # fmt: skip
    assert {r["user"]: r["error_code"] for r in answer["results"]} == {
        "gone": ErrorCode.RESOURCE_NOT_FOUND,
        "twice": ErrorCode.DUPLICATE_RESOURCE,
        "ok": 0,
        "bad-mech": ErrorCode.UNSUPPORTED_SASL_MECHANISM,
        "few": ErrorCode.UNACCEPTABLE_CREDENTIAL,
        "many": ErrorCode.UNACCEPTABLE_CREDENTIAL,
        "": ErrorCode.UNACCEPTABLE_CREDENTIAL,
    }
    assert sorted(handlers.scram.users()) == ["ok"]
    described = call(handlers, 50, 0, {"users": [{"name": "ok"}, {"name": "nobody"}, {"name": "x"}, {"name": "x"}]})
    assert [(r["user"], r["error_code"], r["credential_infos"]) for r in described["results"]] == [
        ("ok", 0, [{"mechanism": 2, "iterations": 4096}]),
        ("nobody", ErrorCode.RESOURCE_NOT_FOUND, []),
        ("x", ErrorCode.DUPLICATE_RESOURCE, []),
    ]
    assert [r["user"] for r in call(handlers, 50, 0, {"users": None})["results"]] == ["ok"]
    assert call(handlers, 51, 0, {"deletions": [{"name": "ok", "mechanism": 2}]})["results"][0]["error_code"] == 0
    assert handlers.scram.users() == {}


class _FailingAcls(AclStore):
    def add(self, bindings: Any) -> None:
        raise QuorumTimeoutError("the metadata quorum did not apply the change in time")

    def remove(self, filters: Any) -> list[Any]:
        raise NotControllerError("a leader change dropped the change")


class _FailingScram(ScramCredentialStore):
    def alter(self, deletions: Any, upsertions: Any) -> None:
        raise OSError(28, "No space left on device")


def test_a_change_the_store_cannot_make_is_answered_with_its_error() -> None:
    handlers = SecurityHandlers(Authorizer(AuthorizerSettings(), _FailingAcls(None)), _FailingScram(None))
    created = call(handlers, 30, 1, {"creations": [creation(), creation(resource_type=1)]})
    assert [r["error_code"] for r in created["results"]] == [ErrorCode.REQUEST_TIMED_OUT, ErrorCode.INVALID_REQUEST]
    deleted = call(handlers, 31, 1, {"filters": [ANY_FILTER]})
    assert deleted["filter_results"][0]["error_code"] == ErrorCode.NOT_CONTROLLER
    altered = call(handlers, 51, 0, {"upsertions": [upsert("a")]})
    assert altered["results"][0]["error_code"] == ErrorCode.KAFKA_STORAGE_ERROR
