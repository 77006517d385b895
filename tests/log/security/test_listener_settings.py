"""The listener's security settings as Kafka names them: what they produce, and the errors that name the
setting at fault without quoting a secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12

from hub.log.errors import InvalidConfigError
from hub.log.node import node_config
from hub.log.security.client import client_security
from hub.log.security.jaas import parse_jaas
from hub.log.security.listeners import listener_config
from hub.log.security.tls import server_context
from tests.log.security.conftest import PLAIN_JAAS, Certificates

DEFAULT = ("127.0.0.1", 9092)


def config_error(properties: dict[str, str]) -> str:
    with pytest.raises(InvalidConfigError) as raised:
        listener_config(properties, DEFAULT)
    return str(raised.value)


def test_without_listeners_one_plaintext_listener_is_served_where_the_node_is_told() -> None:
    config = listener_config({"num.partitions": "3"}, ("0.0.0.0", 9999))
    [listener] = config.listeners
    assert (listener.name, listener.host, listener.port, listener.protocol) == (
        "PLAINTEXT",
        "0.0.0.0",
        9999,
        "PLAINTEXT",
    )


def test_listeners_take_their_protocol_prefixed_settings_and_advertised_endpoints() -> None:
    config = listener_config(
        {
            "listeners": "INTERNAL://127.0.0.1:9092,EXTERNAL://:9093",
            "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
            "advertised.listeners": "EXTERNAL://kafka.example:19093",
            "inter.broker.listener.name": "INTERNAL",
            "listener.name.external.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
            "listener.name.external.plain.sasl.jaas.config": PLAIN_JAAS,
            "listener.name.external.connections.max.reauth.ms": "60000",
        },
        DEFAULT,
    )
    internal, external = config.listeners
    assert (internal.protocol, internal.advertised, internal.mechanisms) == ("PLAINTEXT", None, ())
    assert (external.host, external.port, external.protocol) == ("", 9093, "SASL_PLAINTEXT")
    assert external.advertised == ("kafka.example", 19093)
    assert external.mechanisms == ("PLAIN", "SCRAM-SHA-512")
    assert external.plain_users == {"alice": "alice-secret", "admin": "admin-secret"}
    assert external.max_reauth_ms == 60_000
    assert config.inter_broker == "INTERNAL"
    assert config.inter_broker_client() == {"security.protocol": "PLAINTEXT"}


@pytest.mark.parametrize(
    ("properties", "named"),
    [
        ({"listeners": "PLAINTEXT//127.0.0.1:9092"}, "listeners entry"),
        ({"listeners": "A://127.0.0.1:1,A://127.0.0.1:2"}, "names listener A twice"),
        ({"listeners": "CUSTOM://127.0.0.1:1"}, "listener.security.protocol.map"),
        ({"listeners": "A://h:1", "listener.security.protocol.map": "A:TLS"}, "listener.security.protocol.map"),
        ({"listeners": "SSL://127.0.0.1:1"}, "ssl.keystore.location"),
        ({"listeners": "SASL_PLAINTEXT://127.0.0.1:1"}, "sasl.enabled.mechanisms"),
        (
            {"listeners": "SASL_PLAINTEXT://127.0.0.1:1", "sasl.enabled.mechanisms": "GSSAPI"},
            "sasl.enabled.mechanisms: GSSAPI is not offered",
        ),
        (
            {"listeners": "SASL_PLAINTEXT://127.0.0.1:1", "sasl.enabled.mechanisms": "PLAIN"},
            "plain.sasl.jaas.config gives no user",
        ),
        ({"listeners": "PLAINTEXT://127.0.0.1:1", "listener.name.other.ssl.client.auth": "required"}, "other"),
        ({"listeners": "PLAINTEXT://127.0.0.1:1", "advertised.listeners": "SSL://h:1"}, "advertised.listeners"),
        ({"listeners": "PLAINTEXT://127.0.0.1:1", "inter.broker.listener.name": "SSL"}, "inter.broker.listener"),
        ({"listeners": "PLAINTEXT://127.0.0.1:1", "connections.max.reauth.ms": "soon"}, "connections.max.reauth"),
        ({"ssl.keystore.location": "/somewhere"}, "ssl.keystore.location needs listeners"),
    ],
)
def test_a_bad_setting_is_named(properties: dict[str, str], named: str) -> None:
    assert named in config_error(properties)


def test_a_malformed_jaas_text_is_named_without_its_secrets() -> None:
    message = config_error(
        {
            "listeners": "SASL_PLAINTEXT://127.0.0.1:1",
            "sasl.enabled.mechanisms": "PLAIN",
            "sasl.jaas.config": 'org.apache.kafka.common.security.plain.PlainLoginModule required user_a="hunter2',
        }
    )
    assert "sasl.jaas.config" in message
    assert "hunter2" not in message


def test_jaas_values_may_be_quoted_with_escapes_or_bare() -> None:
    entry = parse_jaas('Module required username=bob password="a\\"b;c" user_x="y";', "sasl.jaas.config")
    assert entry.credentials() == ("bob", 'a"b;c')
    assert entry.users() == {"x": "y"}


def test_the_inter_broker_client_uses_the_listeners_jaas_credentials_and_trust_store() -> None:
    config = listener_config(
        {
            "listeners": "BROKER://127.0.0.1:1",
            "listener.security.protocol.map": "BROKER:SASL_SSL",
            "ssl.keystore.location": "/keys/server.pem",
            "ssl.truststore.location": "/keys/ca.pem",
            "listener.name.broker.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.broker.scram-sha-512.sasl.jaas.config": (
                'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="pw";'
            ),
        },
        DEFAULT,
    )
    assert config.inter_broker_client() == {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": "/keys/ca.pem",
        "ssl.certificate.location": "/keys/server.pem",
        "ssl.key.location": "/keys/server.pem",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "broker",
        "sasl.password": "pw",
    }


def test_node_config_accepts_the_security_settings_and_checks_them() -> None:
    properties = {"listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0", "num.partitions": "2"}
    properties |= {"sasl.enabled.mechanisms": "SCRAM-SHA-256", "advertised.listeners": "PLAINTEXT://h:1"}
    config = node_config(Path("/data"), properties)
    assert config.listeners is not None
    assert [listener.name for listener in config.listeners.listeners] == ["PLAINTEXT", "SASL_PLAINTEXT"]
    assert node_config(Path("/data"), {}).listeners is None
    with pytest.raises(InvalidConfigError, match=r"ssl\.client\.auth needs listeners"):
        node_config(Path("/data"), {"ssl.client.auth": "required"})


def test_a_wrong_key_password_is_named_without_the_password(certificates: Certificates) -> None:
    settings = {"ssl.keystore.location": str(certificates.server.bundle), "ssl.key.password": "guessed-wrong"}
    with pytest.raises(InvalidConfigError) as raised:
        server_context(settings, "SSL")
    assert "ssl.key.password" in str(raised.value)
    assert "guessed-wrong" not in str(raised.value)


def test_client_auth_needs_a_trust_store_and_known_values(certificates: Certificates) -> None:
    keys = {"ssl.keystore.location": str(certificates.server.bundle), "ssl.key.password": "key-secret"}
    with pytest.raises(InvalidConfigError, match=r"ssl\.truststore\.location"):
        server_context({**keys, "ssl.client.auth": "required"}, "SSL")
    with pytest.raises(InvalidConfigError, match=r"none, requested or required"):
        server_context({**keys, "ssl.client.auth": "sometimes"}, "SSL")
    with pytest.raises(InvalidConfigError, match=r"ssl\.enabled\.protocols"):
        server_context({**keys, "ssl.enabled.protocols": "SSLv3"}, "SSL")


def test_a_pkcs12_key_store_and_pem_strings_are_read(certificates: Certificates, tmp_path: Path) -> None:
    key = load_pem_private_key(certificates.server.key.read_bytes(), b"key-secret")
    certificate = x509.load_pem_x509_certificate(certificates.server.certificate.read_bytes())
    store = tmp_path / "server.p12"
    store.write_bytes(
        pkcs12.serialize_key_and_certificates(b"server", key, certificate, None, BestAvailableEncryption(b"p12"))  # type: ignore[arg-type]
    )
    pkcs = {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": str(store), "ssl.keystore.password": "p12"}
    assert server_context(pkcs, "SSL").verify_mode.name == "CERT_NONE"
    with pytest.raises(InvalidConfigError, match=r"ssl\.keystore\.password"):
        server_context({**pkcs, "ssl.keystore.password": "nope"}, "SSL")
    pem = {
        "ssl.keystore.certificate.chain": certificates.server.certificate.read_text(),
        "ssl.keystore.key": certificates.server.key.read_text(),
        "ssl.key.password": "key-secret",
    }
    assert server_context(pem, "SSL") is not None


def test_client_security_reads_librdkafkas_names_and_kafkas_jaas_text() -> None:
    assert client_security({"bootstrap.servers": "h:1"}).protocol == "PLAINTEXT"
    security = client_security(
        {
            "security.protocol": "sasl_plaintext",
            "sasl.mechanisms": "SCRAM-SHA-256",
            "sasl.jaas.config": 'org.apache.kafka.common.security.scram.ScramLoginModule required username="u" '
            'password="p";',
        }
    )
    assert (security.protocol, security.mechanism, security.username, security.password) == (
        "SASL_PLAINTEXT",
        "SCRAM-SHA-256",
        "u",
        "p",
    )
    with pytest.raises(InvalidConfigError, match=r"sasl\.username and sasl\.password"):
        client_security({"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"})
    with pytest.raises(InvalidConfigError, match=r"sasl\.mechanism"):
        client_security({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "GSSAPI"})


def test_a_single_nodes_plaintext_listener_advertises_advertised_listeners() -> None:
    from hub.cli.wiring import single_listener_advertised

    properties = {"advertised.listeners": "PLAINTEXT://kafka.example:19092"}
    assert single_listener_advertised(node_config(Path("/data"), properties), properties) == ("kafka.example", 19092)
    assert single_listener_advertised(node_config(Path("/data"), {}), {}) == (None, None)
