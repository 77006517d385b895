"""Kafka's client security settings (Connect's worker names) turned into librdkafka's."""

from __future__ import annotations

import pytest

from hub.log.client.kafka.security_config import SecurityConfigError, client_security, parse_jaas

SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cr\\"et";'


def test_sasl_ssl_with_scram_and_a_pem_truststore() -> None:
    config = {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.jaas.config": SCRAM_JAAS,
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": "/etc/hub/ca.pem",
        "bootstrap.servers": "b:9093",
    }
    assert client_security(config) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": 's3cr"et',
        "ssl.ca.location": "/etc/hub/ca.pem",
    }


def test_plain_login_module_and_librdkafka_names_pass_through() -> None:
    config = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=bob "
        'password="pw";',
        "ssl.ca.location": "/ca.pem",
        "ssl.endpoint.identification.algorithm": "",
    }
    assert client_security(config) == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "bob",
        "sasl.password": "pw",
        "ssl.ca.location": "/ca.pem",
        "ssl.endpoint.identification.algorithm": "none",
    }


def test_keystores_pem_file_pem_strings_and_pkcs12() -> None:
    pem_keystore = {"ssl.keystore.type": "PEM", "ssl.keystore.location": "/k.pem", "ssl.key.password": "x"}
    assert client_security(pem_keystore) == {
        "ssl.certificate.location": "/k.pem",
        "ssl.key.location": "/k.pem",
        "ssl.key.password": "x",
    }
    assert client_security({"ssl.keystore.certificate.chain": "CERT", "ssl.keystore.key": "KEY"}) == {
        "ssl.certificate.pem": "CERT",
        "ssl.key.pem": "KEY",
    }
    assert client_security({"ssl.keystore.location": "/k.p12", "ssl.keystore.password": "pw"}) == {
        "ssl.keystore.location": "/k.p12",
        "ssl.keystore.password": "pw",
    }
    assert client_security({"ssl.truststore.certificates": "CA"}) == {"ssl.ca.pem": "CA"}


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"security.protocol": "SASL_TLS"}, "security.protocol"),
        ({"sasl.mechanism": "GSSAPI"}, "sasl.mechanism"),
        ({"ssl.truststore.location": "/t.jks", "ssl.truststore.type": "JKS"}, "ssl.truststore.type"),
        ({"ssl.keystore.location": "/k.jks", "ssl.keystore.type": "JKS"}, "ssl.keystore.type"),
        ({"ssl.truststore.location": "/t.p12", "ssl.truststore.type": "PKCS12"}, "ssl.truststore.type"),
        ({"sasl.jaas.config": "com.sun.security.auth.module.Krb5LoginModule required;"}, "sasl.jaas.config"),
        ({"sasl.jaas.config": "not jaas at all"}, "sasl.jaas.config"),
        ({"sasl.mechanism": "PLAIN", "sasl.jaas.config": SCRAM_JAAS}, "sasl.jaas.config"),
        (
            {"sasl.jaas.config": "org.apache.kafka.common.security.plain.PlainLoginModule required username=u;"},
            "password",
        ),
        ({"ssl.enabled.protocols": "TLSv1.3"}, "ssl.enabled.protocols"),
    ],
)
def test_settings_that_cannot_be_carried_over_are_refused_by_name(config: dict[str, str], named: str) -> None:
    with pytest.raises(SecurityConfigError, match=named) as raised:
        client_security(config)
    assert "s3cr" not in str(raised.value)


def test_a_refused_jaas_entry_never_shows_its_password() -> None:
    entry = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="hunter2" ;x'
    with pytest.raises(SecurityConfigError) as raised:
        client_security({"sasl.jaas.config": entry})
    assert "hunter2" not in str(raised.value)


def test_parse_jaas_reads_quoted_escaped_and_bare_options() -> None:
    module, options = parse_jaas('a.b.C optional x="1 2" y=3 z="q\\\\";')
    assert module == "a.b.C"
    assert options == {"x": "1 2", "y": "3", "z": "q\\"}
