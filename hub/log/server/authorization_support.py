"""The machinery of the per-API access rules (``request_authorization``): one request's authorizer questions
(``Check``), and ``split``, which answers a request's denied entries itself, hands the others to the handler and
merges both answers in request order.

Pure functions over the codec's dicts; safe for one event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from hub.log.error_codes import ErrorCode
from hub.log.security.acl import CLUSTER_NAME, AclOperation, ResourceType
from hub.log.security.authorizer import Authorizer
from hub.log.server.context import Body, RequestContext

Route = Callable[[RequestContext, Body], Awaitable[Body | None]]
Verdict = ErrorCode | None  # None: allowed

#: The error message of a denied entry that carries one.
DENIED_MESSAGE = "Not authorized: no ACL allows this principal the operation"

TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED
GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED
CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
TXN_DENIED = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED


class Check:
    """The authorizer's answers for one request's principal and host."""

    def __init__(self, authorizer: Authorizer, principal: str, host: str) -> None:
        self._authorizer = authorizer
        self._principal = principal
        self._host = host

    def may(self, operation: AclOperation, resource_type: ResourceType, name: str) -> bool:
        return self._authorizer.authorize(self._principal, self._host, operation, resource_type, name)

    def cluster(self, operation: AclOperation) -> bool:
        return self.may(operation, ResourceType.CLUSTER, CLUSTER_NAME)

    def topic(self, operation: AclOperation) -> Callable[[str], Verdict]:
        return lambda name: None if self.may(operation, ResourceType.TOPIC, name) else TOPIC_DENIED

    def group(self, operation: AclOperation) -> Callable[[str], Verdict]:
        return lambda name: None if self.may(operation, ResourceType.GROUP, name) else GROUP_DENIED

    def any_topic(self, operation: AclOperation) -> bool:
        return self._authorizer.authorize_any(self._principal, self._host, operation, ResourceType.TOPIC)


#: One API's access rule: applied to a request with its ``Check``, it answers it, calling the handler (``Route``)
#: for what is allowed.
Rule = Callable[[Check, RequestContext, Body, Route], Awaitable[Body | None]]


def deny_partitions(
    request_key: str,
    request_index: str | None,
    response_name: str,
    response_key: str,
    response_index: str,
    **extra: Any,
) -> Callable[[Body, ErrorCode], Body]:
    """A denied topic's response entry: the error on each partition the request named."""

    def deny(item: Body, code: ErrorCode) -> Body:
        parts = item.get(request_key) or ()
        entry: Body = {
            response_name: item.get(request_name_of(item)),
            response_key: [
                {response_index: p if request_index is None else p[request_index], "error_code": code, **extra}
                for p in parts
            ],
        }
        if "topic_id" in item:
            entry["topic_id"] = item["topic_id"]
        return entry

    return deny


def request_name_of(item: Body) -> str:
    return "name" if "name" in item else "topic"


async def split(
    ctx: RequestContext,
    body: Body,
    route: Route,
    *,
    items: str,
    results: str,
    key: Callable[[Any], Any],
    result_key: Callable[[Body], Any],
    decide: Callable[[Any], Verdict],
    deny: Callable[[Any, ErrorCode], Body],
    call_anyway: bool = False,
) -> Body | None:
    """Answer the request's denied ``items`` with ``deny`` and hand the others to the handler; merge the handler's
    ``results`` back in request order (matched by ``key`` / ``result_key``, as a handler may reorder them). With
    every item denied the handler is not called, unless ``call_anyway`` (its answer has more than the items)."""
    request_items = list(body.get(items) or ())
    keys = [key(item) for item in request_items]
    verdicts = [None if k is None else decide(k) for k in keys]
    if all(verdict is None for verdict in verdicts):
        return await route(ctx, body)
    kept = [item for item, verdict in zip(request_items, verdicts, strict=True) if verdict is None]
    if kept or call_anyway:
        response = await route(ctx, {**body, items: kept})
        if response is None:
            return None
    else:
        if body.get("acks") == 0:  # a Produce with acks=0 gets no answer, allowed or not
            return None
        response = {"throttle_time_ms": 0}
    answered = list(response.get(results) or ())
    merged = []
    for item, item_key, verdict in zip(request_items, keys, verdicts, strict=True):
        if verdict is not None:
            merged.append(deny(item, verdict))
            continue
        for index, entry in enumerate(answered):
            if result_key(entry) == item_key:
                merged.append(answered.pop(index))
                break
    merged.extend(answered)
    response[results] = merged
    return response


async def split_topics(
    ctx: RequestContext,
    body: Body,
    route: Route,
    *,
    decide: Callable[[Any], Verdict],
    deny: Callable[[Any, ErrorCode], Body],
    items: str = "topics",
    results: str = "topics",
    call_anyway: bool = False,
) -> Body | None:
    """``split`` over a request's topic entries, matched to the answer's by their topic (``topic_of``)."""
    return await split(
        ctx, body, route, items=items, results=results, key=topic_of, result_key=topic_of, decide=decide,
        deny=deny, call_anyway=call_anyway,
    )  # fmt: skip


#: How the running request resolves a topic id to its name (set by ``request_authorization``).
TOPIC_BY_ID: ContextVar[Callable[[str], str | None]] = ContextVar("topic_by_id")
_NO_TOPIC_ID = "00000000-0000-0000-0000-000000000000"


def _no_topic(_topic_id: str) -> str | None:
    return None


def topic_of(item: Body) -> Any:
    """A request or response entry's topic: its name, or the name of its topic id (None for an unknown id, which
    the handler answers)."""
    name = item.get("name") or item.get("topic")
    if name:
        return name
    topic_id = item.get("topic_id")
    if topic_id and str(topic_id) != _NO_TOPIC_ID:
        return TOPIC_BY_ID.get(_no_topic)(str(topic_id))
    return name


def same(item: Any) -> Any:
    return item
