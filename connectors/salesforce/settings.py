"""The Salesforce connectors' typed settings, parsed from their options (``config.py``) and checked together.

``ConnectionSettings.from_values`` checks what one option alone cannot say (each grant's credentials), collecting
every problem per option; ``BulkSourceSettings.parse`` and ``SObjectSinkSettings.parse`` do the same for their
connectors and raise ConfigError naming every option in trouble. Secrets stay ``Password`` objects until the
session hands them to the login, so a settings object printed or logged shows ``[hidden]``.

Immutable; safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from connectors.salesforce.config import BULK_SOURCE_CONFIG, SOBJECT_SINK_CONFIG
from hub.sdk import Password
from hub.sdk.errors import ConfigError

Problems = dict[str, list[str]]


def _secret(value: Any) -> Password:
    return value if isinstance(value, Password) else Password(str(value or ""))


@dataclass(frozen=True)
class ConnectionSettings:
    """How to log in to the org and how patiently to call it."""

    grant_type: str  # PASSWORD, JWT_BEARER or CLIENT_CREDENTIALS
    username: str
    password: Password
    security_token: Password
    consumer_key: str
    consumer_secret: Password
    private_key: Password
    private_key_path: str
    instance_url: str  # the login URL, without a trailing slash
    version: str  # "latest" or e.g. "59.0"
    timeout_ms: int
    retry_time_ms: int
    retry_backoff_ms: int
    ca_file: str
    max_message_bytes: int  # the largest Streaming API answer accepted

    @classmethod
    def from_values(cls, values: Mapping[str, Any], problems: Problems) -> ConnectionSettings:
        settings = cls(
            grant_type=str(values["salesforce.grant.type"]).upper(),
            username=values["salesforce.username"],
            password=_secret(values["salesforce.password"]),
            security_token=_secret(values["salesforce.password.token"]),
            consumer_key=values["salesforce.consumer.key"],
            consumer_secret=_secret(values["salesforce.consumer.secret"]),
            private_key=_secret(values["hub.salesforce.jwt.private.key"]),
            private_key_path=values["hub.salesforce.jwt.private.key.path"],
            instance_url=str(values["salesforce.instance"]).rstrip("/"),
            version=str(values["salesforce.version"]).lower(),
            timeout_ms=values["connection.timeout"],
            retry_time_ms=values["request.max.retries.time.ms"],
            retry_backoff_ms=values["hub.salesforce.retry.backoff.ms"],
            ca_file=values["hub.salesforce.ssl.ca.file"],
            max_message_bytes=values["connection.max.message.size"],
        )
        settings._check(problems)
        return settings

    def _check(self, problems: Problems) -> None:
        def need(key: str, present: bool) -> None:
            if not present:
                problems.setdefault(key, []).append(f"salesforce.grant.type={self.grant_type} needs {key}")

        if self.grant_type == "PASSWORD":
            need("salesforce.username", bool(self.username))
            need("salesforce.password", bool(self.password.value))
        elif self.grant_type == "JWT_BEARER":
            need("salesforce.username", bool(self.username))
            need("salesforce.consumer.key", bool(self.consumer_key))
            has_key, has_path = bool(self.private_key.value), bool(self.private_key_path)
            if has_key == has_path:
                problems.setdefault("hub.salesforce.jwt.private.key", []).append(
                    "JWT_BEARER needs exactly one of hub.salesforce.jwt.private.key and "
                    "hub.salesforce.jwt.private.key.path"
                )
        else:
            need("salesforce.consumer.key", bool(self.consumer_key))
            need("salesforce.consumer.secret", bool(self.consumer_secret.value))
            host = urlsplit(self.instance_url).hostname or ""
            if host in ("login.salesforce.com", "test.salesforce.com"):
                problems.setdefault("salesforce.instance", []).append(
                    "CLIENT_CREDENTIALS logs in at the org's My Domain URL, not " + self.instance_url
                )

    @property
    def where(self) -> str:
        """The login URL and user, for messages (never a secret)."""
        who = self.username or f"consumer key {self.consumer_key[:6]}…"
        return f"{self.instance_url} as {who}"


@dataclass(frozen=True)
class BulkSourceSettings:
    """Every option of the Bulk API source, typed."""

    connection: ConnectionSettings
    objects: tuple[str, ...]
    topics: Mapping[str, str]  # sObject -> topic
    poll_interval_ms: int
    page_rows: int
    since: str  # yyyy-MM-dd or ""
    overlap_ms: int
    snapshot: bool

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> BulkSourceSettings:
        values = BULK_SOURCE_CONFIG.parse(config)
        problems: Problems = {}
        connection = ConnectionSettings.from_values(values, problems)
        objects = tuple(dict.fromkeys(name for name in values["salesforce.object"] if name))
        bad = [name for name in objects if not name.replace("_", "").isalnum()]
        if bad:
            problems.setdefault("salesforce.object", []).append(f"not sObject API names: {', '.join(bad)}")
        topic = values["kafka.topic"]
        if topic and len(objects) > 1:
            problems.setdefault("kafka.topic", []).append(
                "names the topic of one sObject; with several, leave it empty and set topic.prefix"
            )
        if problems:
            raise ConfigError(problems)
        prefix = values["topic.prefix"]
        topics = {name: topic or (f"{prefix}.{name}" if prefix else name) for name in objects}
        return cls(
            connection=connection,
            objects=objects,
            topics=topics,
            poll_interval_ms=values["poll.interval.ms"],
            page_rows=values["batch.max.rows"],
            since=values["salesforce.since"],
            overlap_ms=values["hub.salesforce.poll.overlap.ms"],
            snapshot=values["hub.salesforce.snapshot.enabled"],
        )


@dataclass(frozen=True)
class SObjectSinkSettings:
    """Every option of the sObject sink, typed."""

    connection: ConnectionSettings
    object: str
    operation: str  # insert, update, upsert or delete
    override_event_type: bool
    custom_id_field: str
    use_custom_id: bool
    ignore_fields: frozenset[str]
    ignore_reference_fields: bool
    bulk_threshold: int

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> SObjectSinkSettings:
        values = SOBJECT_SINK_CONFIG.parse(config)
        problems: Problems = {}
        connection = ConnectionSettings.from_values(values, problems)
        operation = str(values["salesforce.sink.object.operation"]).lower()
        custom = values["salesforce.custom.id.field.name"]
        use_custom = values["salesforce.use.custom.id.field"]
        if use_custom and not custom:
            problems.setdefault("salesforce.custom.id.field.name", []).append(
                "salesforce.use.custom.id.field=true needs the external id field's name"
            )
        if operation == "upsert" and not custom:
            problems.setdefault("salesforce.custom.id.field.name", []).append(
                "upsert matches records on an external id field: name it here"
            )
        if problems:
            raise ConfigError(problems)
        return cls(
            connection=connection,
            object=values["salesforce.object"],
            operation=operation,
            override_event_type=values["override.event.type"],
            custom_id_field=custom,
            use_custom_id=use_custom,
            ignore_fields=frozenset(name for name in values["salesforce.ignore.fields"] if name),
            ignore_reference_fields=values["salesforce.ignore.reference.fields"],
            bulk_threshold=values["hub.salesforce.bulk.threshold"],
        )


def connection_settings(config: Mapping[str, Any], definition: Any) -> ConnectionSettings:
    """The connection settings of any Salesforce connector's config, parsed with its ConfigDef ``definition``;
    ConfigError naming every option in trouble."""
    values = definition.parse(config)
    problems: Problems = {}
    settings = ConnectionSettings.from_values(values, problems)
    if problems:
        raise ConfigError(problems)
    return settings
