"""A store node whose Kafka listener serves every security protocol at once, on an event loop thread, with an
in-memory SCRAM credential store (the node's store kind, without its file); and the certificates it uses."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.log.node import LogNode, node_config
from hub.log.security.listeners import listener_config
from hub.log.security.scram_credentials import ScramCredentialStore, new_credential
from hub.log.server import KafkaServer
from tests.harness.tls_material import CertificateAuthority, Issued

HOST = "127.0.0.1"
PLAIN_JAAS = (
    'org.apache.kafka.common.security.plain.PlainLoginModule required user_alice="alice-secret" '
    'user_admin="admin-secret";'
)
SCRAM_USERS = {"scram-user": "scram-secret", "admin": "admin-secret"}
REAUTH_MS = 3000
STALL_TIMEOUT_MS = 700


@dataclass
class Certificates:
    ca: CertificateAuthority
    server: Issued
    client: Issued
    untrusted_ca: CertificateAuthority
    untrusted_client: Issued


@dataclass
class SecuredListeners:
    """The running server: ``bootstrap(name)`` is a listener's ``host:port``."""

    server: KafkaServer
    certificates: Certificates
    credentials: ScramCredentialStore

    def bootstrap(self, listener: str) -> str:
        return f"{HOST}:{self.server.ports[listener]}"

    def port(self, listener: str) -> int:
        return self.server.ports[listener]


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("tls")
    ca = CertificateAuthority(directory)
    untrusted = CertificateAuthority(directory, "Untrusted CA")
    return Certificates(
        ca,
        ca.issue("server", "localhost", server=True, password=b"key-secret"),
        ca.issue("client", "client-one", server=False),
        untrusted,
        untrusted.issue("stranger", "stranger", server=False),
    )


def secured_properties(certificates: Certificates) -> dict[str, str]:
    names = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", "MTLS", "REAUTH", "STALL"]
    return {
        "listeners": ",".join(f"{name}://{HOST}:0" for name in names),
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,"
        "SASL_SSL:SASL_SSL,MTLS:SSL,REAUTH:SASL_PLAINTEXT,STALL:SASL_PLAINTEXT",
        "ssl.keystore.location": str(certificates.server.bundle),
        "ssl.key.password": "key-secret",
        "ssl.truststore.location": str(certificates.ca.pem),
        "listener.name.mtls.ssl.client.auth": "required",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
        "sasl.jaas.config": PLAIN_JAAS,
        "listener.name.reauth.connections.max.reauth.ms": str(REAUTH_MS),
        "listener.name.stall.sasl.server.authentication.timeout.ms": str(STALL_TIMEOUT_MS),
    }


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Iterator[SecuredListeners]:
    properties = secured_properties(certificates)
    node = LogNode(node_config(tmp_path_factory.mktemp("secured-store"), {"group.initial.rebalance.delay.ms": "0"}))
    credentials = ScramCredentialStore(None)
    credentials.alter(
        [],
        [
            (user, new_credential(mechanism, password, 4096))
            for user, password in SCRAM_USERS.items()
            for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-512")
        ],
    )
    server = KafkaServer(node.broker, listeners=listener_config(properties, (HOST, 0)), scram_credentials=credentials)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-secured-listener", daemon=True)
    node.open()
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
        yield SecuredListeners(server, certificates, credentials)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        node.close()


def ca_path(secured: SecuredListeners) -> Path:
    return secured.certificates.ca.pem
