"""The per-API access rules around the handlers: denied resources are taken out of the request before the handler
sees it and answered with Kafka's error, merged back in request order; listings leave out what the principal may
not describe; cluster APIs are refused whole. Every merged answer must encode at its API version."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.protocol import RequestHeader, encode_response, request_codec
from hub.log.security.acl import AclBinding, AclOperation, AclPermissionType, PatternType, ResourceType
from hub.log.security.acl_store import AclStore
from hub.log.security.authorizer import Authorizer, AuthorizerSettings
from hub.log.server.context import Body, ConnectionState, RequestContext
from hub.log.server.request_authorization import RequestAuthorization

ALICE = "User:alice"
TOPIC_IDS = {"ok": uuid.UUID(int=1).hex, "no": uuid.UUID(int=2).hex}
Op = AclOperation
TOPIC_DENIED = ErrorCode.TOPIC_AUTHORIZATION_FAILED
GROUP_DENIED = ErrorCode.GROUP_AUTHORIZATION_FAILED
CLUSTER_DENIED = ErrorCode.CLUSTER_AUTHORIZATION_FAILED


def allow(kind: ResourceType, name: str, op: AclOperation, pattern: PatternType = PatternType.LITERAL) -> AclBinding:
    return AclBinding(kind, name, pattern, ALICE, "*", op, AclPermissionType.ALLOW)


class Harness:
    def __init__(self, *acls: AclBinding) -> None:
        store = AclStore(None)
        store.add(acls)
        existing = {name: SimpleNamespace(topic_id=topic_id) for name, topic_id in TOPIC_IDS.items()}
        self.rules = RequestAuthorization(Authorizer(AuthorizerSettings(), store), lambda: existing)
        self.seen: list[Body] = []

    def run(self, api_key: int, version: int, body: Body, answer: Callable[[Body], Body | None]) -> Body | None:
        full = {**request_codec(api_key, version).default(), **body}

        async def route(ctx: RequestContext, request: Body) -> Body | None:
            self.seen.append(request)
            return answer(request)

        header = RequestHeader(api_key, version, 1, "test", 1)
        ctx = RequestContext(header, "10.0.0.1", ConnectionState(principal=ALICE))
        response = asyncio.run(self.rules.handle(ctx, full, route))
        if response is not None:
            encode_response(api_key, version, 1, response)  # the merged answer is a valid response
        return response


def _topics(request: Body, key: str = "topics") -> list[str]:
    return [t.get("name", t.get("topic")) for t in request[key]]


def _errors(entries: list[Body], partitions: str = "partitions") -> list[tuple[str, list[int]]]:
    return [(e.get("name", e.get("topic")), [p["error_code"] for p in e[partitions]]) for e in entries]


def test_produce_keeps_the_allowed_topics_and_answers_the_others_in_request_order() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.WRITE))
    body = {"acks": -1, "timeout_ms": 1000, "topic_data": [
        {"name": "no", "partition_data": [{"index": 0, "records": b"x"}, {"index": 1, "records": b"x"}]},
        {"name": "ok", "partition_data": [{"index": 0, "records": b"x"}]},
    ]}  # fmt: skip

    def answer(request: Body) -> Body:
        return {"responses": [
            {"name": t["name"], "partition_responses": [{"index": 0, "error_code": 0}]} for t in request["topic_data"]
        ]}  # fmt: skip

    response = h.run(0, 8, body, answer)
    assert _topics(h.seen[0], "topic_data") == ["ok"]
    assert response is not None
    assert _errors(response["responses"], "partition_responses") == [("no", [TOPIC_DENIED] * 2), ("ok", [0])]
    h.seen.clear()
    assert h.run(0, 8, {**body, "acks": 0, "topic_data": body["topic_data"][:1]}, answer) is None
    assert h.seen == []


def test_a_transactional_produce_needs_write_on_the_transactional_id() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.WRITE))
    body = {"transactional_id": "tx", "acks": -1, "topic_data": [
        {"name": "ok", "partition_data": [{"index": 0, "records": b"x"}]}]}  # fmt: skip
    response = h.run(0, 8, body, lambda r: {"responses": []})
    assert response is not None
    assert _errors(response["responses"], "partition_responses") == [
        ("ok", [ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED])
    ]


def test_fetch_needs_read_and_a_follower_needs_cluster_action() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.READ))
    body = {"replica_id": -1, "topics": [
        {"topic": "ok", "partitions": [{"partition": 0}]},
        {"topic": "no", "partitions": [{"partition": 0}]},
    ]}  # fmt: skip

    def answer(request: Body) -> Body:
        return {"responses": [
            {"topic": t["topic"], "partitions": [{"partition_index": 0, "error_code": 0}]} for t in request["topics"]
        ]}  # fmt: skip

    response = h.run(1, 11, body, answer)
    assert response is not None
    assert _errors(response["responses"]) == [("ok", [0]), ("no", [TOPIC_DENIED])]
    follower = h.run(1, 11, {**body, "replica_id": 1}, answer)
    assert follower is not None
    assert _errors(follower["responses"]) == [("ok", [TOPIC_DENIED]), ("no", [TOPIC_DENIED])]


def _metadata_answer(request: Body) -> Body:
    names = ["ok", "no", "hidden"] if request["topics"] is None else [t["name"] for t in request["topics"]]
    return {"brokers": [{"node_id": 0, "host": "h", "port": 1}], "topics": [
        {"name": n, "error_code": 0, "partitions": []} for n in names]}  # fmt: skip


def test_metadata_lists_only_describable_topics_and_auto_creation_needs_create() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.READ), allow(ResourceType.TOPIC, "new", Op.DESCRIBE))
    everything = h.run(3, 8, {"topics": None}, _metadata_answer)
    assert everything is not None
    assert [t["name"] for t in everything["topics"]] == ["ok"]
    named = h.run(3, 8, {"topics": [{"name": "no"}, {"name": "ok"}, {"name": "new"}]}, _metadata_answer)
    assert named is not None
    assert [(t["name"], t["error_code"]) for t in named["topics"]] == [
        ("no", TOPIC_DENIED), ("ok", 0), ("new", TOPIC_DENIED)
    ]  # fmt: skip
    assert named["brokers"]
    h.seen.clear()
    no_create = h.run(3, 8, {"topics": [{"name": "new"}], "allow_auto_topic_creation": False}, _metadata_answer)
    assert no_create is not None
    assert [(t["name"], t["error_code"]) for t in no_create["topics"]] == [("new", 0)]
    denied_v0 = h.run(3, 0, {"topics": [{"name": "no"}]}, _metadata_answer)
    assert denied_v0 is not None
    assert [(t["name"], t["error_code"]) for t in denied_v0["topics"]] == [("no", TOPIC_DENIED)]


def test_offset_commit_needs_read_on_the_group_and_the_topics() -> None:
    h = Harness(allow(ResourceType.GROUP, "g", Op.READ), allow(ResourceType.TOPIC, "ok", Op.READ))
    topics = [
        {"name": "ok", "partitions": [{"partition_index": 0}]},
        {"name": "no", "partitions": [{"partition_index": 0}]},
    ]

    def answer(request: Body) -> Body:
        return {"topics": [{"name": t["name"], "partitions": [{"partition_index": 0, "error_code": 0}]}
                           for t in request["topics"]]}  # fmt: skip

    response = h.run(8, 7, {"group_id": "g", "topics": topics}, answer)
    assert response is not None
    assert _errors(response["topics"]) == [("ok", [0]), ("no", [TOPIC_DENIED])]
    other = h.run(8, 7, {"group_id": "other", "topics": topics}, answer)
    assert other is not None
    assert _errors(other["topics"]) == [("ok", [GROUP_DENIED]), ("no", [GROUP_DENIED])]


def test_offset_fetch_needs_describe_on_the_group_and_hides_topics() -> None:
    h = Harness(allow(ResourceType.GROUP, "g", Op.READ), allow(ResourceType.TOPIC, "ok", Op.READ))

    def answer(request: Body) -> Body:
        return {"topics": [{"name": n, "partitions": [{"partition_index": 0}]} for n in ("ok", "no")]}

    assert h.run(9, 5, {"group_id": "other", "topics": None}, answer) == {
        "throttle_time_ms": 0, "error_code": GROUP_DENIED, "topics": []}  # fmt: skip
    everything = h.run(9, 5, {"group_id": "g", "topics": None}, answer)
    assert everything is not None
    assert [t["name"] for t in everything["topics"]] == ["ok"]
    v1 = h.run(9, 1, {"group_id": "other", "topics": [{"name": "ok", "partition_indexes": [0, 1]}]}, answer)
    assert v1 is not None
    assert _errors(v1["topics"]) == [("ok", [GROUP_DENIED, GROUP_DENIED])]


def test_offset_fetch_8_answers_named_denied_topics_with_the_error_and_hides_them_from_all() -> None:
    h = Harness(allow(ResourceType.GROUP, "g", Op.READ), allow(ResourceType.TOPIC, "ok", Op.READ))
    asked: list[Body] = []

    def answer(request: Body) -> Body:
        asked.append(request)
        return {"groups": [
            {"group_id": g["group_id"], "error_code": 0, "topics": [
                {"name": t["name"], "partitions": [{"partition_index": 0, "error_code": 0}]}
                for t in (g["topics"] if g["topics"] is not None else [{"name": "ok"}, {"name": "no"}])]}
            for g in request["groups"]]}  # fmt: skip

    named = [{"name": "ok", "partition_indexes": [0]}, {"name": "no", "partition_indexes": [0, 1]}]
    request = {"groups": [{"group_id": "g", "topics": named}, {"group_id": "g2", "topics": None}]}
    response = h.run(9, 8, request, answer)
    assert response is not None
    first, second = response["groups"]
    assert _errors(first["topics"]) == [("ok", [0]), ("no", [TOPIC_DENIED, TOPIC_DENIED])]
    assert asked[0]["groups"][0]["topics"] == [named[0]]  # the denied topic never reaches the coordinator
    assert (second["error_code"], second["topics"]) == (GROUP_DENIED, [])
    everything = h.run(9, 8, {"groups": [{"group_id": "g", "topics": None}]}, answer)
    assert everything is not None
    assert [t["name"] for t in everything["groups"][0]["topics"]] == ["ok"]


def test_group_apis_need_read_or_describe_on_the_group() -> None:
    h = Harness(allow(ResourceType.GROUP, "g", Op.READ))
    assert h.run(11, 5, {"group_id": "x"}, lambda r: {"error_code": 0})["error_code"] == GROUP_DENIED  # type: ignore[index]
    assert h.run(12, 3, {"group_id": "g"}, lambda r: {"error_code": 0}) == {"error_code": 0}
    described = h.run(15, 4, {"groups": ["x", "g"]}, lambda r: {"groups": [
        {"group_id": g, "error_code": 0} for g in r["groups"]]})  # fmt: skip
    assert described is not None
    assert [(g["group_id"], g["error_code"]) for g in described["groups"]] == [("x", GROUP_DENIED), ("g", 0)]
    listed = h.run(16, 4, {}, lambda r: {"groups": [{"group_id": "g"}, {"group_id": "x"}]})
    assert listed is not None
    assert [g["group_id"] for g in listed["groups"]] == ["g"]
    deleted = h.run(42, 2, {"groups_names": ["g", "x"]}, lambda r: {"results": [
        {"group_id": g, "error_code": 0} for g in r["groups_names"]]})  # fmt: skip
    assert deleted is not None
    assert [(g["group_id"], g["error_code"]) for g in deleted["results"]] == [("g", GROUP_DENIED), ("x", GROUP_DENIED)]


def test_find_coordinator_needs_describe_on_the_group_or_transactional_id() -> None:
    h = Harness(allow(ResourceType.GROUP, "g", Op.DESCRIBE))
    assert h.run(10, 3, {"key": "x", "key_type": 0}, lambda r: {})["error_code"] == GROUP_DENIED  # type: ignore[index]
    txn = h.run(10, 3, {"key": "g", "key_type": 1}, lambda r: {})
    assert txn is not None
    assert txn["error_code"] == ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    batch = h.run(10, 4, {"key_type": 0, "coordinator_keys": ["x", "g"]}, lambda r: {"coordinators": [
        {"key": k, "error_code": 0} for k in r["coordinator_keys"]]})  # fmt: skip
    assert batch is not None
    assert [(c["key"], c["error_code"]) for c in batch["coordinators"]] == [("x", GROUP_DENIED), ("g", 0)]


def test_create_topics_needs_create_on_the_cluster_or_the_topic() -> None:
    def answer(request: Body) -> Body:
        return {"topics": [{"name": t["name"], "error_code": 0} for t in request["topics"]]}

    body = {"topics": [{"name": "a"}, {"name": "pre-b"}]}
    per_topic = Harness(allow(ResourceType.TOPIC, "pre-", Op.CREATE, PatternType.PREFIXED)).run(19, 4, body, answer)
    assert per_topic is not None
    assert [(t["name"], t["error_code"]) for t in per_topic["topics"]] == [("a", TOPIC_DENIED), ("pre-b", 0)]
    on_cluster = Harness(allow(ResourceType.CLUSTER, "kafka-cluster", Op.CREATE)).run(19, 4, body, answer)
    assert on_cluster is not None
    assert [t["error_code"] for t in on_cluster["topics"]] == [0, 0]


def test_topic_admin_apis_need_their_operation_on_each_topic() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.ALL))
    deleted = h.run(20, 3, {"topic_names": ["no", "ok"]}, lambda r: {"responses": [
        {"name": n, "error_code": 0} for n in r["topic_names"]]})  # fmt: skip
    assert deleted is not None
    assert [(t["name"], t["error_code"]) for t in deleted["responses"]] == [("no", TOPIC_DENIED), ("ok", 0)]
    grown = h.run(37, 1, {"topics": [{"name": "no", "count": 2}]}, lambda r: {"results": []})
    assert grown is not None
    assert grown["results"][0]["error_code"] == TOPIC_DENIED
    assert h.seen[-1]["topic_names"] == ["ok"]
    records = h.run(21, 1, {"topics": [{"name": "no", "partitions": [{"partition_index": 3, "offset": 1}]}]},
                    lambda r: {"topics": []})  # fmt: skip
    assert records is not None
    assert records["topics"] == [{"name": "no", "partitions": [
        {"partition_index": 3, "error_code": TOPIC_DENIED, "low_watermark": -1}]}]  # fmt: skip


def test_init_producer_id_needs_idempotent_write_or_write_on_some_topic() -> None:
    ok = {"error_code": 0, "producer_id": 7}
    assert Harness().run(22, 1, {"transactional_id": None}, lambda r: ok)["error_code"] == CLUSTER_DENIED  # type: ignore[index]
    some_topic = Harness(allow(ResourceType.TOPIC, "p-", Op.WRITE, PatternType.PREFIXED))
    assert some_topic.run(22, 1, {"transactional_id": None}, lambda r: ok) == ok
    idempotent = Harness(allow(ResourceType.CLUSTER, "kafka-cluster", Op.IDEMPOTENT_WRITE))
    assert idempotent.run(22, 1, {"transactional_id": None}, lambda r: ok) == ok
    txn = some_topic.run(22, 1, {"transactional_id": "tx"}, lambda r: ok)
    assert txn is not None
    assert txn["error_code"] == ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED


def test_configs_need_describe_or_alter_configs_on_their_resource() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.ALTER_CONFIGS))
    resources = [{"resource_type": 4, "resource_name": "0"}, {"resource_type": 2, "resource_name": "ok"},
                 {"resource_type": 2, "resource_name": "no"}]  # fmt: skip

    def answer(key: str) -> Callable[[Body], Body]:
        return lambda r: {key: [{"resource_type": x["resource_type"], "resource_name": x["resource_name"],
                                 "error_code": 0} for x in r["resources"]]}  # fmt: skip

    described = h.run(32, 1, {"resources": resources}, answer("results"))
    assert described is not None
    assert [r["error_code"] for r in described["results"]] == [CLUSTER_DENIED, 0, TOPIC_DENIED]
    altered = h.run(44, 0, {"resources": resources}, answer("responses"))
    assert altered is not None
    assert [r["error_code"] for r in altered["responses"]] == [CLUSTER_DENIED, 0, TOPIC_DENIED]


@pytest.mark.parametrize(
    ("api_key", "version", "body", "operation"),
    [
        (29, 1, {}, Op.DESCRIBE),
        (35, 1, {}, Op.DESCRIBE),
        (45, 0, {}, Op.ALTER),
        (46, 0, {}, Op.DESCRIBE),
        (50, 0, {}, Op.DESCRIBE),
        (55, 0, {}, Op.DESCRIBE),
        (60, 0, {}, Op.DESCRIBE),
        (43, 1, {"topic_partitions": [{"topic": "t", "partitions": [0]}]}, Op.ALTER),
    ],
)
def test_cluster_apis_are_refused_whole(api_key: int, version: int, body: Body, operation: AclOperation) -> None:
    denied = Harness(allow(ResourceType.CLUSTER, "kafka-cluster", Op.CLUSTER_ACTION)).run(
        api_key, version, body, lambda r: {"error_code": 0}
    )
    assert denied is not None
    assert denied["error_code"] == CLUSTER_DENIED
    allowed = Harness(allow(ResourceType.CLUSTER, "kafka-cluster", operation))
    assert allowed.run(api_key, version, body, lambda r: {"error_code": 0}) == {"error_code": 0}


def test_acl_and_scram_changes_need_alter_on_the_cluster() -> None:
    h = Harness(allow(ResourceType.CLUSTER, "kafka-cluster", Op.DESCRIBE))
    created = h.run(30, 1, {"creations": [{"resource_name": "a"}, {"resource_name": "b"}]}, lambda r: {})
    assert created is not None
    assert [r["error_code"] for r in created["results"]] == [CLUSTER_DENIED, CLUSTER_DENIED]
    deleted = h.run(31, 1, {"filters": [{}]}, lambda r: {})
    assert deleted is not None
    assert [r["error_code"] for r in deleted["filter_results"]] == [CLUSTER_DENIED]
    scram = h.run(51, 0, {"deletions": [{"name": "a", "mechanism": 1}], "upsertions": [
        {"name": "a", "mechanism": 2, "iterations": 4096, "salt": b"s", "salted_password": b"p"},
        {"name": "b", "mechanism": 2, "iterations": 4096, "salt": b"s", "salted_password": b"p"},
    ]}, lambda r: {})  # fmt: skip
    assert scram is not None
    assert [(r["user"], r["error_code"]) for r in scram["results"]] == [("a", CLUSTER_DENIED), ("b", CLUSTER_DENIED)]
    assert h.seen == []


def test_newer_group_and_topic_apis() -> None:
    h = Harness(allow(ResourceType.GROUP, "g", Op.ALL), allow(ResourceType.TOPIC, "ok", Op.READ))
    deleted = h.run(47, 0, {"group_id": "x", "topics": []}, lambda r: {"error_code": 0})
    assert deleted is not None
    assert deleted["error_code"] == GROUP_DENIED
    offsets = h.run(47, 0, {"group_id": "g", "topics": [{"name": "no", "partitions": [{"partition_index": 0}]}]},
                    lambda r: {"topics": []})  # fmt: skip
    assert offsets is not None
    assert _errors(offsets["topics"]) == [("no", [TOPIC_DENIED])]
    producers = h.run(61, 0, {"topics": [{"name": "no", "partition_indexes": [0, 1]}]}, lambda r: {"topics": []})
    assert producers is not None
    assert _errors(producers["topics"]) == [("no", [TOPIC_DENIED, TOPIC_DENIED])]
    heartbeat = h.run(68, 0, {"group_id": "g", "subscribed_topic_names": ["ok", "no"]}, lambda r: {"error_code": 0})
    assert heartbeat is not None
    assert heartbeat["error_code"] == TOPIC_DENIED
    assert "no" in heartbeat["error_message"]
    described = h.run(69, 0, {"group_ids": ["g", "x"]}, lambda r: {"groups": [
        {"group_id": g, "error_code": 0} for g in r["group_ids"]]})  # fmt: skip
    assert described is not None
    assert [(g["group_id"], g["error_code"]) for g in described["groups"]] == [("g", 0), ("x", GROUP_DENIED)]
    partitions = h.run(75, 0, {"topics": [{"name": "no"}, {"name": "ok"}]}, lambda r: {"topics": [
        {"name": t["name"], "error_code": 0} for t in r["topics"]]})  # fmt: skip
    assert partitions is not None
    assert [(t["name"], t["error_code"]) for t in partitions["topics"]] == [("no", TOPIC_DENIED), ("ok", 0)]


def test_offsets_apis_need_describe_on_the_topic() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.WRITE))
    listed = h.run(2, 5, {"replica_id": -1, "topics": [{"name": "no", "partitions": [{"partition_index": 2}]}]},
                   lambda r: {"topics": []})  # fmt: skip
    assert listed is not None
    assert _errors(listed["topics"]) == [("no", [TOPIC_DENIED])]
    epochs = h.run(23, 3, {"replica_id": -1, "topics": [
        {"topic": "ok", "partitions": [{"partition": 0}]}, {"topic": "no", "partitions": [{"partition": 0}]}]},
        lambda r: {"topics": [{"topic": t["topic"], "partitions": [{"partition": 0, "error_code": 0}]}
                              for t in r["topics"]]})  # fmt: skip
    assert epochs is not None
    assert _errors(epochs["topics"]) == [("ok", [0]), ("no", [TOPIC_DENIED])]


def test_apis_without_a_rule_pass_unchanged() -> None:
    h = Harness()
    anything: Any = {"error_code": 0, "api_keys": []}
    assert h.run(18, 3, {}, lambda r: anything) is anything


def test_topics_named_by_id_are_checked_as_the_topic_of_that_id() -> None:
    h = Harness(allow(ResourceType.TOPIC, "ok", Op.READ))
    ok_id, no_id, unknown = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=9)
    body = {"replica_id": -1, "topics": [
        {"topic_id": ok_id, "partitions": [{"partition": 0}]},
        {"topic_id": no_id, "partitions": [{"partition": 0}]},
        {"topic_id": unknown, "partitions": [{"partition": 0}]},
    ]}  # fmt: skip

    def answer(request: Body) -> Body:
        return {"responses": [{"topic_id": t["topic_id"], "partitions": [{"partition_index": 0, "error_code": 0}]}
                              for t in request["topics"]]}  # fmt: skip

    response = h.run(1, 13, body, answer)
    assert [t["topic_id"] for t in h.seen[0]["topics"]] == [ok_id, unknown]  # an unknown id is the handler's to answer
    assert response is not None
    assert [(t["topic_id"], [p["error_code"] for p in t["partitions"]]) for t in response["responses"]] == [
        (ok_id, [0]), (no_id, [TOPIC_DENIED]), (unknown, [0])
    ]  # fmt: skip
