"""KafkaJS (Node.js, its own TLS and SASL code) over the listener's security protocols: produce, consume in a group
and use the admin client over SSL, SASL_PLAINTEXT with PLAIN, SASL_SSL with SCRAM-SHA-256/512 and TLS with a client
certificate; a wrong password fails with SASL_AUTHENTICATION_FAILED (the password in no error), and an untrusted
certificate, either side, is refused; with the authorizer, a SASL principal needs an ACL that a super user grants."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import kafkajs
from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.security.conftest import PLAIN_JAAS, REAUTH_MS, SecuredListeners
from tests.log.security.test_listener_clients import CASES, IDS, Case

pytestmark = pytest.mark.integration

SASL_CASES = [case for case in CASES if case.mechanism]


@pytest.fixture(scope="module", autouse=True)
def _kafkajs_installed() -> None:
    kafkajs.require()


def _client(
    secured: SecuredListeners, case: Case, *, password: str | None = None, ca: str | None = None
) -> dict[str, Any]:
    """A KafkaJS spec's client part for a case: brokers, ssl and sasl as KafkaJS takes them."""
    client: dict[str, Any] = {"brokers": [secured.bootstrap(case.listener)]}
    if "SSL" in case.protocol:
        client["ssl"] = {"caFile": ca or str(secured.certificates.ca.pem)}
        if case.client_certificate:
            issued = secured.certificates.client
            client["ssl"].update({"certFile": str(issued.certificate), "keyFile": str(issued.key)})
    if case.mechanism:
        mechanism = case.mechanism.lower()
        client["sasl"] = {"mechanism": mechanism, "username": case.user, "password": password or case.password}
    return client


def _refused(result: dict[str, Any]) -> list[str]:
    """The KafkaJS error names of a connection that failed (its retry wrapper and what it wraps)."""

    def walk(error: dict[str, Any]) -> list[str]:
        return [error["name"]] + [name for nested in error["errors"] for name in walk(nested)]

    assert result["steps"] == [], result
    return walk(result["connectError"])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_kafkajs_produces_consumes_and_administers(secured: SecuredListeners, case: Case) -> None:
    topic = f"secured-kafkajs-{uuid.uuid4().hex[:8]}"
    client = _client(secured, case)
    admin = kafkajs.check_versions(
        kafkajs.run(
            "admin",
            {**client, "steps": [{"op": "createTopics", "args": [{"topics": [{"topic": topic, "numPartitions": 2}]}]}]},
        )
    )
    assert admin["steps"] == [{"ok": True}]
    messages = [{"key": f"k{i}", "value": f"over {case.listener} {i}"} for i in range(6)]
    produced = kafkajs.run(
        "produce", {**client, "producer": {"idempotent": True}, "sends": [{"topic": topic, "messages": messages}]}
    )
    kafkajs.check_versions(produced)
    consumed = kafkajs.check_versions(
        kafkajs.run("consume", {**client, "groupId": topic, "topics": [topic], "expect": 6}, timeout_s=90)
    )
    assert not consumed["timedOut"]
    assert sorted(m["value"] for m in consumed["members"][0]["messages"]) == sorted(m["value"] for m in messages)
    if case.mechanism:  # every connection authenticated with KafkaJS's newest SASL versions
        for result in (admin, produced, consumed):
            assert result["versions"]["SaslHandshake"] == [1]
            assert result["versions"]["SaslAuthenticate"] == [1]


@pytest.mark.parametrize("case", SASL_CASES, ids=[f"{c.listener}-{c.mechanism}" for c in SASL_CASES])
def test_kafkajs_wrong_password_fails_authentication(secured: SecuredListeners, case: Case) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    result = kafkajs.run(
        "admin", {**_client(secured, case, password=wrong), "steps": [{"op": "listTopics"}], "retries": 0}
    )
    error = result["connectError"]
    assert error["name"] == "KafkaJSSASLAuthenticationError", error
    # KafkaJS shows the server's own message only for SASL_AUTHENTICATION_FAILED (58) with an error message.
    assert error["message"].split(": ", 1)[1].startswith("Authentication failed"), error
    assert wrong not in error["message"]
    assert case.password not in error["message"]
    assert result["steps"] == []


def test_kafkajs_refuses_a_server_certificate_it_does_not_trust(secured: SecuredListeners) -> None:
    case = next(c for c in CASES if c.listener == "SSL")
    untrusted = str(secured.certificates.untrusted_ca.pem)
    result = kafkajs.run(
        "admin", {**_client(secured, case, ca=untrusted), "steps": [{"op": "listTopics"}], "retries": 0}
    )
    assert "KafkaJSConnectionError" in _refused(result)
    assert "certificate" in result["connectError"]["message"]


def test_kafkajs_untrusted_client_certificate_is_refused(secured: SecuredListeners) -> None:
    case = next(c for c in CASES if c.client_certificate)
    client = _client(secured, case)
    stranger = secured.certificates.untrusted_client
    client["ssl"].update({"certFile": str(stranger.certificate), "keyFile": str(stranger.key)})
    closed = {"KafkaJSConnectionError", "KafkaJSConnectionClosedError"}  # the server ends the handshake
    result = kafkajs.run("admin", {**client, "steps": [{"op": "listTopics"}], "retries": 0})
    assert closed & set(_refused(result))
    without = _client(secured, Case(case.listener, case.protocol))  # no client certificate at all
    assert closed & set(_refused(kafkajs.run("admin", {**without, "steps": [{"op": "listTopics"}], "retries": 0})))


def test_kafkajs_reauthenticates_before_its_session_ends(secured: SecuredListeners) -> None:
    """KIP-368: the REAUTH listener gives sessions of REAUTH_MS; KafkaJS authenticates again on the same
    connection when one is within its threshold of ending, and the listener takes that without closing it."""
    case = Case("REAUTH", "SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret")
    pause = {"op": "sleep", "args": [REAUTH_MS - 500]}
    steps = [{"op": "listTopics"}, pause, {"op": "listTopics"}, pause, {"op": "listTopics"}]
    spec = {**_client(secured, case), "reauthenticationThreshold": 1000, "steps": steps}
    result = kafkajs.run("admin", spec)
    assert [list(step) for step in result["steps"]] == [["ok"]] * 5
    assert result["requests"]["SaslAuthenticate"] == 3  # the first time, then once per session about to end
    assert result["errorLogs"] == []  # no connection closed, no request refused


@pytest.fixture(scope="module")
def authorizing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """`hub log serve` with one SASL_PLAINTEXT listener (PLAIN users alice and admin) and the StandardAuthorizer,
    admin its super user."""
    base, port = tmp_path_factory.mktemp("kafkajs-authorizing"), free_port()
    options = {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": PLAIN_JAAS,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin",
    }
    server = HubServer(base / "data", port, base / "server.log", options=tuple(f"{k}={v}" for k, v in options.items()))
    server.start()
    yield server
    if server.running:
        server.stop()


def test_kafkajs_sasl_principal_needs_an_acl(authorizing: HubServer) -> None:
    topic = f"acl-kafkajs-{uuid.uuid4().hex[:8]}"

    def client(user: str) -> dict[str, Any]:
        password = {"alice": "alice-secret", "admin": "admin-secret"}[user]
        sasl = {"mechanism": "plain", "username": user, "password": password}
        return {"brokers": [authorizing.bootstrap], "sasl": sasl, "retries": 0}

    write = {
        "resourceType": 2,  # TOPIC
        "resourceName": topic,
        "resourcePatternType": 3,  # LITERAL
        "principal": "User:alice",
        "host": "*",
        "operation": 4,  # WRITE
        "permissionType": 3,  # ALLOW
    }
    create = {"op": "createTopics", "args": [{"topics": [{"topic": topic, "numPartitions": 1}]}]}
    [created] = kafkajs.run("admin", {**client("admin"), "steps": [create]})["steps"]
    assert created == {"ok": True}
    send = {**client("alice"), "sends": [{"topic": topic, "messages": [{"value": "v"}]}]}
    [refused] = kafkajs.run("produce", send)["results"]
    assert kafkajs.kafka_errors(refused["error"]) == ["TOPIC_AUTHORIZATION_FAILED"], refused
    [not_admin] = kafkajs.run(
        "admin", {**client("alice"), "steps": [{"op": "createAcls", "args": [{"acl": [write]}]}]}
    )["steps"]
    assert kafkajs.kafka_errors(not_admin["error"]) == ["CLUSTER_AUTHORIZATION_FAILED"], not_admin
    [granted] = kafkajs.run("admin", {**client("admin"), "steps": [{"op": "createAcls", "args": [{"acl": [write]}]}]})[
        "steps"
    ]
    assert granted == {"ok": True}
    [sent] = kafkajs.check_versions(kafkajs.run("produce", send))["results"]
    assert [part["errorCode"] for part in sent] == [0]
