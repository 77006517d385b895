"""Kafka's access rules for the group APIs (those of KafkaApis): OffsetCommit, OffsetFetch, FindCoordinator,
JoinGroup, Heartbeat, LeaveGroup, SyncGroup, DescribeGroups, ListGroups, DeleteGroups, OffsetDelete,
ConsumerGroupHeartbeat, ConsumerGroupDescribe and TxnOffsetCommit, as ``GROUP_RULES`` for ``request_authorization``.

A group request needs its operation on the GROUP resource (GROUP_AUTHORIZATION_FAILED otherwise), the offset APIs
theirs on each topic named too (TOPIC_AUTHORIZATION_FAILED per topic); listings leave out the groups and topics the
principal may not DESCRIBE. FindCoordinator for a transaction asks about the TRANSACTIONAL_ID.

Stateless functions over the codec's dicts; safe for one event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from hub.log.security.acl import AclOperation, ResourceType
from hub.log.server.authorization_support import (
    DENIED_MESSAGE,
    GROUP_DENIED,
    TOPIC_DENIED,
    TXN_DENIED,
    Check,
    Route,
    Rule,
    Verdict,
    deny_partitions,
    same,
    split,
    split_topics,
)
from hub.log.server.context import Body, RequestContext


async def _offset_commit(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    group_ok = check.group(AclOperation.READ)(body["group_id"]) is None
    decide = check.topic(AclOperation.READ) if group_ok else (lambda _: GROUP_DENIED)
    deny = deny_partitions("partitions", "partition_index", "name", "partitions", "partition_index")
    return await split_topics(ctx, body, route, decide=decide, deny=deny)


async def _txn_offset_commit(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    """TRANSACTIONAL_ID WRITE, then GROUP READ (each refusing every partition), then TOPIC READ per topic."""
    decide: Callable[[str], Verdict]
    if not check.may(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, body["transactional_id"]):
        decide = lambda _: TXN_DENIED  # noqa: E731
    elif check.group(AclOperation.READ)(body["group_id"]) is not None:
        decide = lambda _: GROUP_DENIED  # noqa: E731
    else:
        decide = check.topic(AclOperation.READ)
    deny = deny_partitions("partitions", "partition_index", "name", "partitions", "partition_index")
    return await split_topics(ctx, body, route, decide=decide, deny=deny)


async def _offset_fetch(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    describe = check.topic(AclOperation.DESCRIBE)
    group_denied = check.group(AclOperation.DESCRIBE)
    deny = deny_partitions("partition_indexes", None, "name", "partitions", "partition_index", committed_offset=-1)
    if ctx.header.api_version >= 8:
        denied = {g["group_id"] for g in body["groups"] if group_denied(g["group_id"])}
        # Topics named and denied are answered TOPIC_AUTHORIZATION_FAILED per partition, after the others (as
        # KafkaApis adds them); a group asking for all its topics just does not see the denied ones.
        refused: dict[str, list[Body]] = {}
        kept = []
        for group in body["groups"]:
            if group["group_id"] in denied:
                continue
            topics = group.get("topics")
            if topics is not None:
                refused[group["group_id"]] = [deny(t, TOPIC_DENIED) for t in topics if describe(t["name"]) is not None]
                group = {**group, "topics": [t for t in topics if describe(t["name"]) is None]}
            kept.append(group)
        response: Body | None = {"throttle_time_ms": 0, "groups": []}
        if kept:
            response = await route(ctx, {**body, "groups": kept})
        if response is None:
            return None
        by_id = {g["group_id"]: g for g in response["groups"]}
        for group_id, group in by_id.items():
            visible = [t for t in group.get("topics") or () if describe(t.get("name", "")) is None]
            group["topics"] = visible + refused.get(group_id, [])
        response["groups"] = [
            {"group_id": g["group_id"], "error_code": GROUP_DENIED, "topics": []}
            if g["group_id"] in denied
            else by_id.get(g["group_id"], {"group_id": g["group_id"]})
            for g in body["groups"]
        ]
        return response
    if group_denied(body["group_id"]):
        if ctx.header.api_version >= 2:
            return {"throttle_time_ms": 0, "error_code": GROUP_DENIED, "topics": []}
        return {"topics": [deny(t, GROUP_DENIED) for t in body["topics"] or ()]}
    if body["topics"] is None:
        everything = await route(ctx, body)
        if everything is not None:
            everything["topics"] = [t for t in everything["topics"] if describe(t["name"]) is None]
        return everything
    return await split_topics(ctx, body, route, decide=describe, deny=deny)


async def _find_coordinator(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if body.get("key_type", 0) == 1:
        decide: Callable[[str], Verdict] = lambda key: (  # noqa: E731
            None if check.may(AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, key) else TXN_DENIED
        )
    else:
        decide = check.group(AclOperation.DESCRIBE)
    if ctx.header.api_version < 4:
        code = decide(body["key"])
        if code is None:
            return await route(ctx, body)
        return {"error_code": code, "error_message": DENIED_MESSAGE, "node_id": -1, "host": "", "port": -1}
    return await split(
        ctx, body, route, items="coordinator_keys", results="coordinators", key=same,
        result_key=lambda entry: entry["key"], decide=decide,
        deny=lambda key, code: {
            "key": key, "node_id": -1, "host": "", "port": -1, "error_code": code, "error_message": DENIED_MESSAGE
        },
    )  # fmt: skip


async def _group_whole(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if check.group(AclOperation.READ)(body["group_id"]) is None:
        return await route(ctx, body)
    return {"throttle_time_ms": 0, "error_code": GROUP_DENIED, "members": []}


async def _describe_groups(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    return await split(
        ctx, body, route, items="groups", results="groups", key=same, result_key=lambda e: e["group_id"],
        decide=check.group(AclOperation.DESCRIBE),
        deny=lambda group, code: {
            "group_id": group, "error_code": code, "group_state": "", "protocol_type": "", "protocol_data": "",
            "members": [],
        },
    )  # fmt: skip


async def _list_groups(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    response = await route(ctx, body)
    if response is not None and not check.cluster(AclOperation.DESCRIBE):
        describe = check.group(AclOperation.DESCRIBE)
        response["groups"] = [g for g in response["groups"] if describe(g["group_id"]) is None]
    return response


async def _delete_groups(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    return await split(
        ctx, body, route, items="groups_names", results="results", key=same,
        result_key=lambda e: e["group_id"], decide=check.group(AclOperation.DELETE),
        deny=lambda group, code: {"group_id": group, "error_code": code},
    )  # fmt: skip


async def _offset_delete(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if check.group(AclOperation.DELETE)(body["group_id"]) is not None:
        return {"throttle_time_ms": 0, "error_code": GROUP_DENIED, "topics": []}
    deny = deny_partitions("partitions", "partition_index", "name", "partitions", "partition_index")
    return await split_topics(ctx, body, route, decide=check.topic(AclOperation.READ), deny=deny)


async def _consumer_group_heartbeat(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    if check.group(AclOperation.READ)(body["group_id"]) is not None:
        return {"throttle_time_ms": 0, "error_code": GROUP_DENIED, "error_message": DENIED_MESSAGE}
    describe = check.topic(AclOperation.DESCRIBE)
    hidden = [name for name in body.get("subscribed_topic_names") or () if describe(name) is not None]
    if hidden:
        message = f"The group has subscribed to topics that are not authorized: {', '.join(sorted(hidden))}"
        return {"throttle_time_ms": 0, "error_code": TOPIC_DENIED, "error_message": message}
    return await route(ctx, body)


async def _consumer_group_describe(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
    return await split(
        ctx, body, route, items="group_ids", results="groups", key=same, result_key=lambda e: e["group_id"],
        decide=check.group(AclOperation.DESCRIBE),
        deny=lambda group, code: {"group_id": group, "error_code": code, "error_message": DENIED_MESSAGE},
    )  # fmt: skip


#: The rule of each group API key.
GROUP_RULES: dict[int, Rule] = {
    8: _offset_commit,
    9: _offset_fetch,
    10: _find_coordinator,
    11: _group_whole,
    12: _group_whole,
    13: _group_whole,
    14: _group_whole,
    15: _describe_groups,
    16: _list_groups,
    28: _txn_offset_commit,
    42: _delete_groups,
    47: _offset_delete,
    68: _consumer_group_heartbeat,
    69: _consumer_group_describe,
}
