"""The Salesforce options: Confluent's names and defaults, each grant's required credentials, refused options."""

from __future__ import annotations

import pytest

from connectors.salesforce.config import BULK_SOURCE_CONFIG, SOBJECT_SINK_CONFIG
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import BulkSourceSettings, SObjectSinkSettings
from connectors.salesforce.transport import InstanceSession, login_domain
from hub.sdk.errors import ConfigError

LOGIN = {"salesforce.username": "user@example.com", "salesforce.password": "pass-word-1"}


def test_confluent_defaults() -> None:
    values = SOBJECT_SINK_CONFIG.parse({**LOGIN, "salesforce.object": "Lead"})
    assert values["salesforce.instance"] == "https://login.salesforce.com"
    assert values["salesforce.grant.type"] == "PASSWORD"
    assert values["salesforce.sink.object.operation"] == "insert"
    assert values["override.event.type"] is False
    assert values["request.max.retries.time.ms"] == 30_000
    source = BULK_SOURCE_CONFIG.parse({**LOGIN, "salesforce.object": "Lead"})
    assert source["poll.interval.ms"] == 10_000
    assert source["batch.max.rows"] == 100_000


def test_several_objects_get_a_topic_each() -> None:
    settings = BulkSourceSettings.parse({**LOGIN, "salesforce.object": "Account, Contact", "topic.prefix": "sf"})
    assert settings.topics == {"Account": "sf.Account", "Contact": "sf.Contact"}


def test_kafka_topic_names_a_single_object_only() -> None:
    with pytest.raises(ConfigError) as caught:
        BulkSourceSettings.parse({**LOGIN, "salesforce.object": "Account,Contact", "kafka.topic": "t"})
    assert "kafka.topic" in caught.value.errors


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"salesforce.username": "u"}, "salesforce.password"),
        ({"salesforce.grant.type": "JWT_BEARER", "salesforce.username": "u"}, "salesforce.consumer.key"),
        (
            {"salesforce.grant.type": "JWT_BEARER", "salesforce.username": "u", "salesforce.consumer.key": "k"},
            "hub.salesforce.jwt.private.key",
        ),
        ({"salesforce.grant.type": "CLIENT_CREDENTIALS", "salesforce.consumer.key": "k"}, "salesforce.consumer.secret"),
        (
            {
                "salesforce.grant.type": "CLIENT_CREDENTIALS",
                "salesforce.consumer.key": "k",
                "salesforce.consumer.secret": "s",
            },
            "salesforce.instance",
        ),
    ],
)
def test_each_grant_names_its_missing_credentials(options: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        SObjectSinkSettings.parse({**options, "salesforce.object": "Lead"})
    assert key in caught.value.errors


@pytest.mark.parametrize("key", ["salesforce.jwt.keystore.path", "http.proxy"])
def test_unimplemented_options_are_refused_with_the_reason(key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        SObjectSinkSettings.parse({**LOGIN, "salesforce.object": "Lead", key: "x"})


def test_upsert_needs_the_external_id_field() -> None:
    with pytest.raises(ConfigError) as caught:
        SObjectSinkSettings.parse({**LOGIN, "salesforce.object": "Lead", "salesforce.sink.object.operation": "UPSERT"})
    assert "salesforce.custom.id.field.name" in caught.value.errors


def test_login_domains() -> None:
    assert login_domain("https://login.salesforce.com") == "login"
    assert login_domain("https://test.salesforce.com") == "test"
    assert login_domain("https://acme.my.salesforce.com") == "acme.my"
    assert login_domain("http://127.0.0.1:8443") == "login"
    assert login_domain("http://127.0.0.1:8443", client_credentials=True) not in ("login", "test")


def test_instance_session_rewrites_prefixes_only_at_a_boundary() -> None:
    http = InstanceSession(1.0)
    http.route_login("http://127.0.0.1:9000", "login")
    http.route_instance("127.0.0.1:9000", "http://127.0.0.1:9000")
    assert (
        http.url("https://login.salesforce.com/services/oauth2/token") == "http://127.0.0.1:9000/services/oauth2/token"
    )
    assert http.url("https://127.0.0.1:9000/services/data/") == "http://127.0.0.1:9000/services/data/"
    assert http.url("https://login.salesforce.com.evil/x") == "https://login.salesforce.com.evil/x"


def test_scrub_blanks_every_secret() -> None:
    settings = SObjectSinkSettings.parse(
        {**LOGIN, "salesforce.password.token": "TOKEN123", "salesforce.object": "Lead"}
    ).connection
    session = SalesforceSession(settings)
    text = session.scrub("bad pass-word-1TOKEN123 and pass-word-1 and TOKEN123")
    assert "pass-word-1" not in text
    assert "TOKEN123" not in text
