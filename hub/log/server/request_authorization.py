"""RequestAuthorization: Kafka's per-API access rules, applied around the request handlers when an authorizer is
configured, so the handlers themselves know nothing of ACLs.

For each API (the rules of Kafka's KafkaApis) the request's resources the principal may not use are taken out
before the handler runs and answered with Kafka's error for them — TOPIC_AUTHORIZATION_FAILED per topic or
partition, GROUP_AUTHORIZATION_FAILED, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED for
the whole request of a cluster API — and merged back into the handler's response in request order. A request with
nothing left to do is answered without calling its handler. Listings (Metadata for all topics, ListGroups,
OffsetFetch of all topics) leave out what the principal may not DESCRIBE. APIs with no rule (ApiVersions, the SASL
APIs) pass unchanged. The group APIs' rules are ``group_authorization``'s, the transaction APIs'
``txn_authorization``'s.

Metadata's auto-creation of an absent topic (``existing_topics``: name → an object with ``topic_id``) needs
CREATE on the cluster or the topic; entries naming a topic by id are checked against the topic of that id.
Who asks is ``principal_of(ctx)`` (by default the connection's authenticated principal) from ``ctx.client_host``.
Safe for one event loop; the Authorizer is thread-safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from hub.log.error_codes import ErrorCode
from hub.log.security.acl import CLUSTER_NAME, AclOperation, ResourceType
from hub.log.security.authorizer import Authorizer
from hub.log.server.authorization_support import (
    CLUSTER_DENIED,
    DENIED_MESSAGE,
    GROUP_DENIED,
    TOPIC_BY_ID,
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
    topic_of,
)
from hub.log.server.context import Body, RequestContext
from hub.log.server.group_authorization import GROUP_RULES
from hub.log.server.txn_authorization import TXN_RULES

#: DescribeConfigs / AlterConfigs resource types (Kafka's ConfigResource.Type) and the ACL resource behind each.
_CONFIG_RESOURCES = {
    2: (ResourceType.TOPIC, TOPIC_DENIED),
    4: (ResourceType.CLUSTER, CLUSTER_DENIED),
    8: (ResourceType.CLUSTER, CLUSTER_DENIED),
    16: (ResourceType.CLUSTER, CLUSTER_DENIED),
    32: (ResourceType.GROUP, GROUP_DENIED),
}


def _denied_topic(item: Body, code: ErrorCode) -> Body:
    return {"name": item["name"], "error_code": code, "partitions": []}


class RequestAuthorization:
    """Applies the per-API rules (see the module docstring)."""

    def __init__(
        self,
        authorizer: Authorizer,
        existing_topics: Callable[[], Mapping[str, Any]],
        principal_of: Callable[[RequestContext], str] | None = None,
    ) -> None:
        self.authorizer = authorizer
        self._existing_topics = existing_topics
        self._principal_of = principal_of or (lambda ctx: ctx.connection.principal)
        self._rules: dict[int, Rule] = {
            0: self._produce,
            1: self._fetch,
            2: self._list_offsets,
            3: self._metadata,
            19: self._create_topics,
            20: self._delete_topics,
            21: self._delete_records,
            22: self._init_producer_id,
            23: self._offset_for_leader_epoch,
            29: self._cluster_whole(AclOperation.DESCRIBE, {"error_message": DENIED_MESSAGE, "resources": []}),
            30: self._create_acls,
            31: self._delete_acls,
            32: self._configs(AclOperation.DESCRIBE_CONFIGS, "results"),
            33: self._configs(AclOperation.ALTER_CONFIGS, "responses"),
            35: self._cluster_whole(AclOperation.DESCRIBE, {"results": []}),
            37: self._create_partitions,
            43: self._elect_leaders,
            44: self._configs(AclOperation.ALTER_CONFIGS, "responses"),
            45: self._cluster_whole(AclOperation.ALTER, {"error_message": DENIED_MESSAGE, "responses": []}),
            46: self._cluster_whole(AclOperation.DESCRIBE, {"error_message": DENIED_MESSAGE, "topics": []}),
            50: self._cluster_whole(AclOperation.DESCRIBE, {"error_message": DENIED_MESSAGE, "results": []}),
            51: self._alter_scram,
            55: self._cluster_whole(AclOperation.DESCRIBE, {"error_message": DENIED_MESSAGE, "topics": []}),
            60: self._cluster_whole(AclOperation.DESCRIBE, {"error_message": DENIED_MESSAGE, "brokers": []}),
            61: self._describe_producers,
            75: self._describe_topic_partitions,
            **GROUP_RULES,
            **TXN_RULES,
        }

    async def handle(self, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        rule = self._rules.get(ctx.header.api_key)
        if rule is None:
            return await route(ctx, body)
        token = TOPIC_BY_ID.set(self._topic_by_id)
        try:
            return await rule(Check(self.authorizer, self._principal_of(ctx), ctx.client_host), ctx, body, route)
        finally:
            TOPIC_BY_ID.reset(token)

    def _topic_by_id(self, topic_id: str) -> str | None:
        try:
            wanted = uuid.UUID(topic_id)
        except ValueError:
            return None
        for name, info in self._existing_topics().items():
            if uuid.UUID(str(info.topic_id)) == wanted:
                return str(name)
        return None

    # --- produce, fetch and offsets -------------------------------------------------------------------------------

    async def _produce(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        txn = body.get("transactional_id")
        if txn is not None and not check.may(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, txn):
            decide: Callable[[str], Verdict] = lambda _: TXN_DENIED  # noqa: E731
        else:
            decide = check.topic(AclOperation.WRITE)
        deny = deny_partitions("partition_data", "index", "name", "partition_responses", "index", base_offset=-1)
        return await split_topics(ctx, body, route, items="topic_data", results="responses", decide=decide, deny=deny)

    async def _fetch(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        replica = body["replica_state"]["replica_id"] if ctx.header.api_version >= 15 else body["replica_id"]
        if replica >= 0:
            allowed = check.cluster(AclOperation.CLUSTER_ACTION)
            decide: Callable[[str], Verdict] = lambda _: None if allowed else TOPIC_DENIED  # noqa: E731
        else:
            decide = check.topic(AclOperation.READ)
        deny = deny_partitions(
            "partitions", "partition", "topic", "partitions", "partition_index",
            high_watermark=-1, last_stable_offset=-1, log_start_offset=-1, records=None,
        )  # fmt: skip
        return await split_topics(ctx, body, route, results="responses", decide=decide, deny=deny)

    async def _list_offsets(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        deny = deny_partitions(
            "partitions", "partition_index", "name", "partitions", "partition_index",
            timestamp=-1, offset=-1, leader_epoch=-1,
        )  # fmt: skip
        return await split_topics(ctx, body, route, decide=check.topic(AclOperation.DESCRIBE), deny=deny)

    async def _offset_for_leader_epoch(
        self, check: Check, ctx: RequestContext, body: Body, route: Route
    ) -> Body | None:
        if body.get("replica_id", -1) >= 0:
            allowed = check.cluster(AclOperation.CLUSTER_ACTION)
            decide: Callable[[str], Verdict] = lambda _: None if allowed else CLUSTER_DENIED  # noqa: E731
        else:
            decide = check.topic(AclOperation.DESCRIBE)
        deny = deny_partitions(
            "partitions", "partition", "topic", "partitions", "partition", leader_epoch=-1, end_offset=-1
        )
        return await split_topics(ctx, body, route, decide=decide, deny=deny)

    async def _delete_records(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        deny = deny_partitions(
            "partitions", "partition_index", "name", "partitions", "partition_index", low_watermark=-1
        )
        return await split_topics(ctx, body, route, decide=check.topic(AclOperation.DELETE), deny=deny)

    async def _describe_producers(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        deny = deny_partitions("partition_indexes", None, "name", "partitions", "partition_index", active_producers=[])
        return await split_topics(ctx, body, route, decide=check.topic(AclOperation.READ), deny=deny)

    # --- metadata -------------------------------------------------------------------------------------------------

    async def _metadata(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        version = ctx.header.api_version
        requested = body.get("topics")
        describe = check.topic(AclOperation.DESCRIBE)
        if requested is None or (version == 0 and not requested):
            response = await route(ctx, body)
            if response is not None:
                response["topics"] = [t for t in response["topics"] if describe(t["name"]) is None]
            return response
        auto_create = body.get("allow_auto_topic_creation", True) if version >= 4 else True
        may_create_any = check.cluster(AclOperation.CREATE)
        existing = self._existing_topics()

        def decide(name: str) -> Verdict:
            if describe(name) is not None:
                return TOPIC_DENIED
            if auto_create and not may_create_any and name not in existing:
                return check.topic(AclOperation.CREATE)(name)
            return None

        if version == 0 and all(decide(entry["name"]) for entry in requested):
            # An empty v0 topic list means every topic: answer the denied ones only.
            response = await route(ctx, {**body, "topics": [{"name": ""}]})
            if response is not None:
                response["topics"] = [
                    {"name": e["name"], "error_code": TOPIC_DENIED, "partitions": []} for e in requested
                ]
            return response
        return await split_topics(ctx, body, route, decide=decide, deny=_denied_topic, call_anyway=True)

    # --- topics ---------------------------------------------------------------------------------------------------

    async def _create_topics(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        on_cluster = check.cluster(AclOperation.CREATE)
        create = check.topic(AclOperation.CREATE)
        return await split_topics(
            ctx, body, route, decide=lambda name: None if on_cluster else create(name),
            deny=lambda item, code: {
                "name": item["name"], "error_code": code, "error_message": DENIED_MESSAGE, "num_partitions": -1,
                "replication_factor": -1,
            },
        )  # fmt: skip

    async def _delete_topics(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        by_name = ctx.header.api_version < 6
        return await split(
            ctx, body, route, items="topic_names" if by_name else "topics", results="responses",
            key=same if by_name else topic_of, result_key=topic_of, decide=check.topic(AclOperation.DELETE),
            deny=lambda item, code: {
                "name": item if by_name else item["name"], "error_code": code, "error_message": DENIED_MESSAGE
            },
        )  # fmt: skip

    async def _create_partitions(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        return await split_topics(
            ctx, body, route, results="results", decide=check.topic(AclOperation.ALTER),
            deny=lambda item, code: {"name": item["name"], "error_code": code, "error_message": DENIED_MESSAGE},
        )  # fmt: skip

    async def _describe_topic_partitions(
        self, check: Check, ctx: RequestContext, body: Body, route: Route
    ) -> Body | None:
        return await split_topics(
            ctx, body, route, decide=check.topic(AclOperation.DESCRIBE),
            deny=lambda item, code: {"name": item["name"], "error_code": code, "partitions": []},
        )  # fmt: skip

    def _configs(self, operation: AclOperation, results: str) -> Rule:
        async def rule(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
            def decide(resource: tuple[int, str]) -> Verdict:
                kind, code = _CONFIG_RESOURCES.get(resource[0], (None, None))
                if kind is None or code is None:
                    return None  # the handler answers an unknown resource type
                name = CLUSTER_NAME if kind == ResourceType.CLUSTER else resource[1]
                return None if check.may(operation, kind, name) else code

            return await split(
                ctx, body, route, items="resources", results=results,
                key=lambda item: (item["resource_type"], item["resource_name"]),
                result_key=lambda entry: (entry["resource_type"], entry["resource_name"]), decide=decide,
                deny=lambda item, code: {
                    "resource_type": item["resource_type"], "resource_name": item["resource_name"],
                    "error_code": code, "error_message": DENIED_MESSAGE, "configs": [],
                },
            )  # fmt: skip

        return rule

    # --- producers and the cluster ----------------------------------------------------------------------------------

    async def _init_producer_id(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        txn = body.get("transactional_id")
        if txn is not None:
            allowed = check.may(AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, txn)
            code = TXN_DENIED
        else:
            allowed = check.cluster(AclOperation.IDEMPOTENT_WRITE) or check.any_topic(AclOperation.WRITE)
            code = CLUSTER_DENIED
        if allowed:
            return await route(ctx, body)
        return {"throttle_time_ms": 0, "error_code": code, "producer_id": -1, "producer_epoch": -1}

    def _cluster_whole(self, operation: AclOperation, extra: Body) -> Rule:
        async def rule(check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
            if check.cluster(operation):
                return await route(ctx, body)
            return {"throttle_time_ms": 0, "error_code": CLUSTER_DENIED, **extra}

        return rule

    async def _create_acls(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        if check.cluster(AclOperation.ALTER):
            return await route(ctx, body)
        denied = {"error_code": CLUSTER_DENIED, "error_message": DENIED_MESSAGE}
        return {"throttle_time_ms": 0, "results": [dict(denied) for _ in body["creations"]]}

    async def _delete_acls(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        if check.cluster(AclOperation.ALTER):
            return await route(ctx, body)
        denied = {"error_code": CLUSTER_DENIED, "error_message": DENIED_MESSAGE, "matching_acls": []}
        return {"throttle_time_ms": 0, "filter_results": [dict(denied) for _ in body["filters"]]}

    async def _alter_scram(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        if check.cluster(AclOperation.ALTER):
            return await route(ctx, body)
        users = dict.fromkeys(entry["name"] for entry in (*body["deletions"], *body["upsertions"]))
        results = [{"user": user, "error_code": CLUSTER_DENIED, "error_message": DENIED_MESSAGE} for user in users]
        return {"throttle_time_ms": 0, "results": results}

    async def _elect_leaders(self, check: Check, ctx: RequestContext, body: Body, route: Route) -> Body | None:
        if check.cluster(AclOperation.ALTER):
            return await route(ctx, body)
        results = [
            {
                "topic": entry["topic"],
                "partition_result": [
                    {"partition_id": p, "error_code": CLUSTER_DENIED, "error_message": DENIED_MESSAGE}
                    for p in entry["partitions"]
                ],
            }
            for entry in body.get("topic_partitions") or ()
        ]
        return {"throttle_time_ms": 0, "error_code": CLUSTER_DENIED, "replica_election_results": results}
