"""SecurityHandlers: Kafka's ACL APIs (DescribeAcls, CreateAcls, DeleteAcls) over the authorizer's AclStore and
the SCRAM admin APIs (DescribeUserScramCredentials, AlterUserScramCredentials) over the node's SCRAM credentials.

Kafka's rules: without an authorizer the ACL APIs answer SECURITY_DISABLED; a binding or filter Kafka refuses gets
INVALID_REQUEST with the reason. The SCRAM APIs answer per user: RESOURCE_NOT_FOUND for a user without
credentials (describe) or a credential that is not there (delete), DUPLICATE_RESOURCE for a user named twice in one
request, UNSUPPORTED_SASL_MECHANISM for an unknown mechanism, UNACCEPTABLE_CREDENTIAL for an empty name or an
iteration count outside 4096-16384. An alteration is all-or-nothing per user and written in one atomic change.
Who may call these APIs (DESCRIBE/ALTER on the cluster) is checked before them (``request_authorization``).

Safe for one event loop; the stores are thread-safe and written from worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import LogError
from hub.log.security.acl import AclBinding, AclFilter, AclValidationError, acl_filter, binding
from hub.log.security.authorizer import Authorizer
from hub.log.security.contracts import ScramCredential, ScramCredentialAdmin
from hub.log.security.scram_credentials import (
    MECHANISM_BY_NAME,
    MECHANISM_CODES,
    MIN_ITERATIONS,
    check_credential,
    credential_from_salted_password,
)
from hub.log.server.context import Body, RequestContext

log = logging.getLogger("hub.log.server")

NO_AUTHORIZER = "No Authorizer is configured on the broker"


def _filter_of(entry: Body) -> AclFilter:
    return acl_filter(
        entry["resource_type_filter"],
        entry["resource_name_filter"],
        entry["pattern_type_filter"],
        entry["principal_filter"],
        entry["host_filter"],
        entry["operation"],
        entry["permission_type"],
    )


def _acl_entry(acl: AclBinding) -> Body:
    return {
        "principal": acl.principal,
        "host": acl.host,
        "operation": int(acl.operation),
        "permission_type": int(acl.permission),
    }


class SecurityHandlers:
    """The ACL and SCRAM admin APIs (see the module docstring)."""

    def __init__(self, authorizer: Authorizer | None, scram: ScramCredentialAdmin) -> None:
        self.authorizer = authorizer
        self.scram = scram
        self._scram_lock = asyncio.Lock()

    @property
    def routes(self) -> dict[int, Callable[[RequestContext, Body], Awaitable[Body]]]:
        return {
            29: self.describe_acls,
            30: self.create_acls,
            31: self.delete_acls,
            50: self.describe_user_scram_credentials,
            51: self.alter_user_scram_credentials,
        }

    # --- ACLs ---------------------------------------------------------------------------------------------------

    async def describe_acls(self, ctx: RequestContext, body: Body) -> Body:
        answer: Body = {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "resources": []}
        if self.authorizer is None:
            answer.update(error_code=ErrorCode.SECURITY_DISABLED, error_message=NO_AUTHORIZER)
            return answer
        try:
            wanted = _filter_of(body)
        except AclValidationError as exc:
            answer.update(error_code=ErrorCode.INVALID_REQUEST, error_message=str(exc))
            return answer
        resources: dict[tuple[int, str, int], list[Body]] = {}
        for acl in self.authorizer.store.matching(wanted):
            key = (int(acl.resource_type), acl.resource_name, int(acl.pattern_type))
            resources.setdefault(key, []).append(_acl_entry(acl))
        answer["resources"] = [
            {"resource_type": rtype, "resource_name": name, "pattern_type": pattern, "acls": acls}
            for (rtype, name, pattern), acls in resources.items()
        ]
        return answer

    async def create_acls(self, ctx: RequestContext, body: Body) -> Body:
        results: list[Body] = []
        valid: list[AclBinding] = []
        accepted: list[Body] = []
        for creation in body["creations"]:
            result: Body = {"error_code": ErrorCode.NONE, "error_message": None}
            if self.authorizer is None:
                result.update(error_code=ErrorCode.SECURITY_DISABLED, error_message="No Authorizer is configured.")
            else:
                try:
                    valid.append(
                        binding(
                            creation["resource_type"],
                            creation["resource_name"],
                            creation["resource_pattern_type"],
                            creation["principal"],
                            creation["host"],
                            creation["operation"],
                            creation["permission_type"],
                        )
                    )
                    accepted.append(result)
                except AclValidationError as exc:
                    result.update(error_code=ErrorCode.INVALID_REQUEST, error_message=str(exc))
            results.append(result)
        if valid and self.authorizer is not None:
            failure = await _stored(self.authorizer.store.add, valid)
            if failure is not None:
                for result in accepted:
                    result.update(error_code=failure[0], error_message=failure[1])
        return {"throttle_time_ms": 0, "results": results}

    async def delete_acls(self, ctx: RequestContext, body: Body) -> Body:
        results: list[Body | None] = []
        filters = []
        for entry in body["filters"]:
            if self.authorizer is None:
                results.append(_delete_result(ErrorCode.SECURITY_DISABLED, "No Authorizer is configured."))
                continue
            try:
                filters.append(_filter_of(entry))
                results.append(None)
            except AclValidationError as exc:
                results.append(_delete_result(ErrorCode.INVALID_REQUEST, str(exc)))
        matched: list[list[AclBinding]] = []
        failure = None
        if self.authorizer is not None and filters:
            store = self.authorizer.store
            failure = await _stored(lambda: matched.extend(store.remove(filters)))
        deleted = iter(matched)
        filled = []
        for result in results:
            if result is None and failure is not None:
                result = _delete_result(*failure)
            elif result is None:
                result = _delete_result(ErrorCode.NONE, None)
                result["matching_acls"] = [_deleted_entry(acl) for acl in next(deleted)]
            filled.append(result)
        return {"throttle_time_ms": 0, "filter_results": filled}

    # --- SCRAM credentials --------------------------------------------------------------------------------------

    async def describe_user_scram_credentials(self, ctx: RequestContext, body: Body) -> Body:
        users = self.scram.users()
        requested = [entry["name"] for entry in body["users"] or ()]
        names = list(dict.fromkeys(requested)) if requested else sorted(users)
        results = []
        for name in names:
            result: Body = {"user": name, "error_code": ErrorCode.NONE, "error_message": None, "credential_infos": []}
            creds = users.get(name)
            if requested.count(name) > 1:
                result.update(
                    error_code=ErrorCode.DUPLICATE_RESOURCE,
                    error_message=f"Cannot describe SCRAM credentials for the same user twice in a single request: "
                    f"{name}",
                )
            elif not creds:
                result.update(
                    error_code=ErrorCode.RESOURCE_NOT_FOUND,
                    error_message=f"Attempt to describe a user credential that does not exist: {name}",
                )
            else:
                result["credential_infos"] = [
                    {"mechanism": MECHANISM_BY_NAME[mech], "iterations": cred.iterations}
                    for mech, cred in sorted(creds.items())
                ]
            results.append(result)
        return {"throttle_time_ms": 0, "error_code": ErrorCode.NONE, "error_message": None, "results": results}

    async def alter_user_scram_credentials(self, ctx: RequestContext, body: Body) -> Body:
        async with self._scram_lock:  # the RESOURCE_NOT_FOUND checks and the change see the same credentials
            return await self._alter_scram(body)

    async def _alter_scram(self, body: Body) -> Body:
        errors: dict[str, tuple[ErrorCode, str]] = {}
        seen: list[str] = []
        deletions: dict[str, tuple[str, str]] = {}
        upsertions: dict[str, tuple[str, ScramCredential]] = {}
        entries = [(False, entry) for entry in body["deletions"]] + [(True, entry) for entry in body["upsertions"]]
        for upsert, entry in entries:
            name = entry["name"]
            if name not in seen:
                seen.append(name)
            if name in errors:
                continue
            if name in deletions or name in upsertions:
                deletions.pop(name, None)
                upsertions.pop(name, None)
                errors[name] = (
                    ErrorCode.DUPLICATE_RESOURCE,
                    "A user credential cannot be altered twice in the same request",
                )
                continue
            mechanism = MECHANISM_CODES.get(entry["mechanism"], "")
            problem = check_credential(name, mechanism, entry["iterations"] if upsert else MIN_ITERATIONS)
            if problem is not None:
                errors[name] = problem
            elif upsert:
                credential = credential_from_salted_password(
                    mechanism, entry["salt"], entry["salted_password"], entry["iterations"]
                )
                upsertions[name] = (name, credential)
            elif self.scram.lookup(name, mechanism) is None:
                errors[name] = (ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist")
            else:
                deletions[name] = (name, mechanism)
        if deletions or upsertions:
            failure = await _stored(self.scram.alter, deletions.values(), upsertions.values())
            if failure is not None:
                errors.update(dict.fromkeys([*deletions, *upsertions], failure))
        results = []
        for name in seen:
            code, message = errors.get(name, (ErrorCode.NONE, None))
            results.append({"user": name, "error_code": code, "error_message": message})
        return {"throttle_time_ms": 0, "results": results}


async def _stored(change: Callable[..., object], *args: object) -> tuple[ErrorCode, str] | None:
    """Run a store change in a worker thread; Kafka's error for it when it failed (a cluster's quorum may time out
    or lose its leader; the file may not be writable), else None."""
    try:
        await asyncio.to_thread(change, *args)
    except LogError as exc:
        return error_code_for(exc), str(exc)
    except OSError as exc:
        log.error("cannot save a security change: %s", exc.strerror)
        return ErrorCode.KAFKA_STORAGE_ERROR, f"cannot save the change: {exc.strerror}"
    return None


def _delete_result(code: ErrorCode, message: str | None) -> Body:
    return {"error_code": code, "error_message": message, "matching_acls": []}


def _deleted_entry(acl: AclBinding) -> Body:
    return {
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "resource_type": int(acl.resource_type),
        "resource_name": acl.resource_name,
        "pattern_type": int(acl.pattern_type),
        **_acl_entry(acl),
    }
