"""`hub log serve` with listeners from --property: a PLAINTEXT and a SASL_SSL listener served at once, and a bad
setting refused at start with the setting named and no secret shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from tests.harness.hub import HubServer
from tests.harness.process import free_port
from tests.log.security.conftest import PLAIN_JAAS, Certificates

pytestmark = pytest.mark.integration


def test_hub_log_serve_serves_plaintext_and_sasl_ssl_listeners(tmp_path: Path, certificates: Certificates) -> None:
    plain_port, secured_port = free_port(), free_port()
    options = {
        "listeners": f"PLAINTEXT://127.0.0.1:{plain_port},SASL_SSL://127.0.0.1:{secured_port}",
        "ssl.keystore.location": str(certificates.server.bundle),
        "ssl.key.password": "key-secret",
        "sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": PLAIN_JAAS,
    }
    server = HubServer(
        tmp_path / "data",
        plain_port,
        tmp_path / "server.log",
        options=tuple(f"{key}={value}" for key, value in options.items()),
    )
    server.start()
    try:
        secured = {
            "bootstrap.servers": f"127.0.0.1:{secured_port}",
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(certificates.ca.pem),
            "sasl.mechanism": "PLAIN",
            "sasl.username": "alice",
            "sasl.password": "alice-secret",
        }
        producer = Producer(secured)
        producer.produce("served", b"over SASL_SSL")
        assert producer.flush(30) == 0
        consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "unused"})
        consumer.assign([TopicPartition("served", 0, 0)])
        try:
            message = None
            for _ in range(40):
                message = consumer.poll(0.5)
                if message is not None:
                    break
            assert message is not None
            assert message.value() == b"over SASL_SSL"  # read back on the PLAINTEXT listener
        finally:
            consumer.close()
    finally:
        assert server.stop() == 0
    assert "SASL_SSL (SASL_SSL) on 127.0.0.1" in server.log_tail(20_000)


def test_a_scram_user_added_with_hub_users_logs_in_and_is_the_authorizers_principal(
    tmp_path: Path, certificates: Certificates
) -> None:
    data = tmp_path / "data"
    (tmp_path / "alice.pw").write_text("alice-scram-secret\n")
    command = [sys.executable, "-m", "hub.cli", "users", "add", "alice", "--mechanism", "SCRAM-SHA-512"]
    added = subprocess.run(
        [*command, "--password-file", str(tmp_path / "alice.pw"), "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    options = {
        "listeners": f"SASL_SSL://127.0.0.1:{port}",
        "ssl.keystore.location": str(certificates.server.bundle),
        "ssl.key.password": "key-secret",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:alice",
    }
    server = HubServer(
        data, port, tmp_path / "server.log", options=tuple(f"{key}={value}" for key, value in options.items())
    )
    server.start()
    client = {
        "bootstrap.servers": server.bootstrap,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(certificates.ca.pem),
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
    }
    try:
        producer = Producer({**client, "sasl.password": "alice-scram-secret"})
        producer.produce("scram-served", b"as User:alice")  # auto-creation needs CREATE: a super user has it
        assert producer.flush(30) == 0
        errors: list[KafkaError] = []
        intruder = Producer({**client, "sasl.password": "guess", "error_cb": errors.append})
        for _ in range(40):
            intruder.poll(0.25)
            if errors:
                break
        assert errors[0].code() == KafkaError._AUTHENTICATION
    finally:
        assert server.stop() == 0


def test_a_bad_listener_setting_is_refused_at_start_naming_it(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "hub.cli", "log", "serve", "--data-dir", str(tmp_path / "data")]
    argv += ["--listener", f"127.0.0.1:{free_port()}", "-o", f"listeners=SASL_PLAINTEXT://127.0.0.1:{free_port()}"]
    argv += ["-o", "sasl.enabled.mechanisms=PLAIN"]
    argv += [
        "-o",
        'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_a="top-secret"',
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "sasl.jaas.config must end with ';'" in result.stderr
    assert "top-secret" not in result.stderr + result.stdout
