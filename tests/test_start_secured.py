"""A secured `hub start`, end to end: its Kafka listener wants SASL_SSL with SCRAM and an authorizer checks every
request. The first admin user is written into the data directory before the start (`hub users add --data-dir`);
the embedded worker runs a connector into a topic that a Kafka client reads over SASL_SSL; a user without ACLs is
refused until an ACL lets it read; a `hub worker` of another group runs its own connector against the same secured
listener, authenticating with Kafka Connect's client settings in its worker config."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from tests.harness.process import free_port
from tests.harness.tls_material import CertificateAuthority
from tests.rest.conftest import HubStart, start_hub, stop_hub

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN_PASSWORD = "admin-pw-7f3a"
READER_PASSWORD = "reader-pw-91c2"


@dataclass
class SecuredStart:
    hub: HubStart
    bootstrap: str
    ca: Path
    work_dir: Path

    def client(self, user: str, password: str, **extra: Any) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": password,
            "ssl.ca.location": str(self.ca),
            **extra,
        }


def _wait(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def secured_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredStart]:
    work_dir = tmp_path_factory.mktemp("secured-start")
    ca = CertificateAuthority(work_dir)
    server = ca.issue("server", "localhost", server=True, password=b"key-pw")
    password_file = work_dir / "admin.pw"
    password_file.write_text(ADMIN_PASSWORD + "\n")
    subprocess.run(
        [
            *(sys.executable, "-m", "hub.cli", "users", "add", "admin", "--mechanism", "SCRAM-SHA-512"),
            *("--password-file", str(password_file), "--data-dir", str(work_dir / "data")),
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    properties = {
        "listeners": f"SASL_SSL://127.0.0.1:{port}",
        "ssl.keystore.location": str(server.bundle),
        "ssl.key.password": "key-pw",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin",
        "group.initial.rebalance.delay.ms": "0",
    }
    options = [arg for key, value in properties.items() for arg in ("-o", f"{key}={value}")]
    hub = start_hub(work_dir, *options)
    try:
        yield SecuredStart(hub, f"127.0.0.1:{port}", ca.pem, work_dir)
    finally:
        stop_hub(hub)
    log = hub.log_path.read_text()
    assert ADMIN_PASSWORD not in log
    assert "key-pw" not in log


def _read(config: dict[str, Any], topic: str, count: int) -> list[bytes]:
    consumer = Consumer({**config, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 60
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is not None:
                if message.error().code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    continue  # the connector has not written its first records yet
                raise KafkaException(message.error())
            values.append(message.value())
    finally:
        consumer.close()
    return values


def _refusal(config: dict[str, Any], topic: str) -> int:
    """The first authorization error a consumer subscribing to ``topic`` in its group gets."""
    consumer = Consumer({**config, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    authorization = (KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.TOPIC_AUTHORIZATION_FAILED)
    try:
        message = _wait(
            lambda: (found := consumer.poll(0.5)) is not None and found.error() is not None
            and found.error().code() in authorization and found,
            30,
            "an authorization error",
        )  # fmt: skip
        return int(message.error().code())
    finally:
        consumer.close()


def _create_connector(url: str, name: str, topic: str) -> None:
    config = {"connector.class": "Datagen", "topic": topic, "quickstart": "orders", "max.records": "50"}
    response = httpx.post(f"{url}/connectors", json={"name": name, "config": config}, timeout=30)
    assert response.status_code == 201, response.text


def test_the_embedded_worker_writes_what_an_authenticated_client_reads(secured_start: SecuredStart) -> None:
    _create_connector(secured_start.hub.url, "orders-secured", "orders-secured")
    admin = secured_start.client("admin", ADMIN_PASSWORD, **{"group.id": "admin-readers"})
    assert len(_read(admin, "orders-secured", 50)) == 50


def test_a_user_without_acls_is_refused_until_one_lets_it_read(secured_start: SecuredStart) -> None:
    _create_connector(secured_start.hub.url, "orders-for-reader", "orders-for-reader")
    admin = AdminClient(secured_start.client("admin", ADMIN_PASSWORD))
    upsert = UserScramCredentialUpsertion(
        "reader", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), READER_PASSWORD.encode()
    )
    admin.alter_user_scram_credentials([upsert])["reader"].result(30)
    reader = secured_start.client("reader", READER_PASSWORD, **{"group.id": "readers"})

    assert _refusal(reader, "orders-for-reader") == KafkaError.GROUP_AUTHORIZATION_FAILED
    group_read = AclBinding(ResourceType.GROUP, "readers", ResourcePatternType.LITERAL, "User:reader", "*",
                            AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    admin.create_acls([group_read])[group_read].result(30)
    assert _refusal(reader, "orders-for-reader") == KafkaError.TOPIC_AUTHORIZATION_FAILED
    topic_read = AclBinding(ResourceType.TOPIC, "orders-for-reader", ResourcePatternType.LITERAL, "User:reader", "*",
                            AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    admin.create_acls([topic_read])[topic_read].result(30)
    assert len(_read(reader, "orders-for-reader", 50)) == 50


def test_a_hub_worker_runs_a_connector_against_the_secured_listener(secured_start: SecuredStart) -> None:
    worker_config = secured_start.work_dir / "remote-worker.properties"
    worker_config.write_text(
        "\n".join(
            [
                "security.protocol=SASL_SSL",
                "sasl.mechanism=SCRAM-SHA-512",
                "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="admin" password="{ADMIN_PASSWORD}";',
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={secured_start.ca}",
                "config.storage.topic=etl-configs",
                "offset.storage.topic=etl-offsets",
                "status.storage.topic=etl-status",
                "offset.flush.interval.ms=200",
            ]
        )
        + "\n"
    )
    rest_port = free_port()
    log_path = secured_start.work_dir / "remote-worker.log"
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "hub.cli", "worker", "--bootstrap-servers", secured_start.bootstrap),
                *("--group-id", "etl", "--rest-listener", f"127.0.0.1:{rest_port}", "--config", str(worker_config)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{rest_port}"
    try:
        _wait(lambda: _healthy(url), 60, f"the worker to answer:\n{log_path.read_text()[-3000:]}")
        _create_connector(url, "orders-remote", "orders-remote")
        admin = secured_start.client("admin", ADMIN_PASSWORD, **{"group.id": "remote-readers"})
        assert len(_read(admin, "orders-remote", 50)) == 50
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0, log_path.read_text()[-3000:]
    assert ADMIN_PASSWORD not in log_path.read_text()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
