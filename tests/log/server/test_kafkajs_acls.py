"""KafkaJS against the listener's authorizer: its ACL admin calls (CreateAcls, DescribeAcls, DeleteAcls at the
versions it knows), and a KafkaJS producer and consumer refused with TOPIC_AUTHORIZATION_FAILED and
GROUP_AUTHORIZATION_FAILED until an ACL lets them in. Without SASL the principal is ``User:<client id>`` (the
listener's ``principal_of`` test hook, as in test_acl_clients); ``User:admin`` is a super user."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import kafkajs
from tests.log.server.test_acl_clients import STANDARD, SecuredNode

pytestmark = pytest.mark.integration

# Kafka's numbers for the ACL enums, which KafkaJS takes as they are.
TOPIC, GROUP = 2, 3
ANY_RESOURCE, ANY_PATTERN, ANY_OPERATION, ANY_PERMISSION = 1, 1, 1, 1
LITERAL, PREFIXED = 3, 4
READ, WRITE = 3, 4
ALLOW = 3


@pytest.fixture(scope="module", autouse=True)
def _kafkajs_installed() -> None:
    kafkajs.require()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredNode]:
    properties = {
        "authorizer.class.name": STANDARD,
        "super.users": "User:admin",
        "group.initial.rebalance.delay.ms": "0",
        "group.min.session.timeout.ms": "1000",
    }
    with SecuredNode(tmp_path_factory.mktemp("kafkajs-acls"), properties) as node:
        yield node


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _admin(secured: SecuredNode, *steps: tuple[Any, ...], user: str = "admin") -> list[dict[str, Any]]:
    result = kafkajs.check_versions(kafkajs.admin(secured.bootstrap, *steps, clientId=user, retries=1))
    done: list[dict[str, Any]] = result["steps"]
    return done


def _ok(step: dict[str, Any]) -> Any:
    assert "error" not in step, step["error"]
    return step["ok"]


def _acl(user: str, kind: int, name: str, operation: int, pattern: int = LITERAL) -> dict[str, Any]:
    return {
        "resourceType": kind,
        "resourceName": name,
        "resourcePatternType": pattern,
        "principal": f"User:{user}",
        "host": "*",
        "operation": operation,
        "permissionType": ALLOW,
    }


def _by_principal(user: str) -> dict[str, Any]:
    """A filter matching every ACL of one principal."""
    return {
        "resourceType": ANY_RESOURCE,
        "resourcePatternType": ANY_PATTERN,
        "principal": f"User:{user}",
        "host": "*",
        "operation": ANY_OPERATION,
        "permissionType": ANY_PERMISSION,
    }


def _topic(secured: SecuredNode) -> str:
    name = _name("t")
    assert _ok(_admin(secured, ("createTopics", {"topics": [{"topic": name, "numPartitions": 1}]}))[0]) is True
    return name


def test_kafkajs_creates_describes_and_deletes_acls(secured: SecuredNode) -> None:
    user, topic = _name("bob"), _name("orders")
    acls = [_acl(user, TOPIC, topic, READ), _acl(user, TOPIC, "orders-", WRITE, PREFIXED)]
    created, described, deleted, after = _admin(
        secured,
        ("createAcls", {"acl": acls}),
        ("describeAcls", _by_principal(user)),
        ("deleteAcls", {"filters": [_by_principal(user)]}),
        ("describeAcls", _by_principal(user)),
    )
    assert _ok(created) is True

    def bindings(resources: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
        return {
            (r["resourceType"], r["resourceName"], r["resourcePatternType"], a["principal"], a["operation"])
            for r in resources
            for a in r["acls"]
        }

    expected = {(TOPIC, topic, LITERAL, f"User:{user}", READ), (TOPIC, "orders-", PREFIXED, f"User:{user}", WRITE)}
    assert bindings(_ok(described)["resources"]) == expected
    [response] = _ok(deleted)["filterResponses"]
    assert response["errorCode"] == 0
    assert {(m["resourceName"], m["operation"]) for m in response["matchingAcls"]} == {
        (topic, READ),
        ("orders-", WRITE),
    }
    assert _ok(after)["resources"] == []
    # Only a principal allowed to ALTER the cluster creates ACLs.
    [refused] = _admin(secured, ("createAcls", {"acl": acls}), user=user)
    assert kafkajs.kafka_errors(refused["error"]) == ["CLUSTER_AUTHORIZATION_FAILED"], refused


def test_kafkajs_producer_needs_write_on_the_topic(secured: SecuredNode) -> None:
    topic, user = _topic(secured), _name("producer")
    spec = {
        "brokers": [secured.bootstrap],
        "clientId": user,
        "producer": {"retry": {"retries": 0}},
        "sends": [{"topic": topic, "messages": [{"value": "v"}]}],
    }
    [refused] = kafkajs.run("produce", spec)["results"]
    assert kafkajs.kafka_errors(refused["error"]) == ["TOPIC_AUTHORIZATION_FAILED"], refused
    _ok(_admin(secured, ("createAcls", {"acl": [_acl(user, TOPIC, topic, WRITE)]}))[0])
    [sent] = kafkajs.check_versions(kafkajs.run("produce", spec))["results"]
    assert [part["errorCode"] for part in sent] == [0]


def test_kafkajs_consumer_needs_read_on_its_group(secured: SecuredNode) -> None:
    topic, user, group = _topic(secured), _name("consumer"), _name("g")
    _ok(_admin(secured, ("createAcls", {"acl": [_acl(user, TOPIC, topic, READ)]}))[0])
    produced = {
        "brokers": [secured.bootstrap],
        "clientId": "admin",
        "sends": [{"topic": topic, "messages": [{"value": "v"}]}],
    }
    kafkajs.run("produce", produced)
    spec = {"brokers": [secured.bootstrap], "clientId": user, "groupId": group, "topics": [topic], "expect": 1}
    refused = kafkajs.run("consume", spec, timeout_s=90)
    # KafkaJS asks each broker for the group's coordinator and, refused by all, reports none found; what the
    # listener answered is in its log.
    assert refused["crash"]["name"] == "KafkaJSGroupCoordinatorNotFound", refused
    assert any("GroupCoordinator" in line and "Group authorization failed" in line for line in refused["errorLogs"])
    _ok(_admin(secured, ("createAcls", {"acl": [_acl(user, GROUP, group, READ)]}))[0])
    allowed = kafkajs.check_versions(kafkajs.run("consume", spec, timeout_s=90))
    assert allowed["crash"] is None, allowed["crash"]
    assert [m["value"] for m in allowed["members"][0]["messages"]] == ["v"]
