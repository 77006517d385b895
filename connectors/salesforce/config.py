"""The Salesforce connectors' options: Confluent's names and defaults, declared once per connector.

``connection_config()`` declares what every Salesforce connector takes to reach an org (the grant, credentials,
``salesforce.instance``, ``salesforce.version``, timeouts and retries); each connector merges its own options into
it (``BULK_SOURCE_CONFIG``, ``SOBJECT_SINK_CONFIG`` here; the streaming sources declare theirs beside their
code). Options of Confluent's connectors that Hub does not implement are refused by name, with the reason; those
whose default is Hub's behaviour (``curl.logging=false``) accept that default only. Confluent's licence options
(``confluent.license``, ``confluent.topic.*``) mean nothing to Hub and are not declared: like any undeclared key,
they are accepted and the runtime warns that they are ignored.

Hub's own options start with ``hub.salesforce.``. The JWT bearer grant takes a PEM private key — inline in
``hub.salesforce.jwt.private.key`` (meant to be a config provider reference such as ``${dir:/secrets:sf.key}``,
so the key stays out of stored configs) or as a file in ``hub.salesforce.jwt.private.key.path`` — instead of
Confluent's Java keystore (``salesforce.jwt.keystore.path``).

Immutable; safe to share between threads.
"""

from __future__ import annotations

from typing import Any

from hub.sdk import ConfigDef, ConfigType, Importance

CONNECTION = "Connection"
OBJECTS = "Salesforce SObject"
SOURCE = "Source"
SINK = "Sink"

GRANT_TYPES = ("PASSWORD", "JWT_BEARER", "CLIENT_CREDENTIALS")
DEFAULT_INSTANCE = "https://login.salesforce.com"
OPERATIONS = ("insert", "update", "upsert", "delete")

_PROXY_REASON = "HTTP proxies are not configured per connector; set HTTPS_PROXY in Hub's environment"
_KEYSTORE_REASON = (
    "Java keystores are not read; give the PEM private key in hub.salesforce.jwt.private.key (a config provider "
    "reference, e.g. ${dir:/secrets:salesforce.key}) or hub.salesforce.jwt.private.key.path"
)
_REPORTER_REASON = (
    "results are not reported to topics: rows Salesforce refuses go to the dead letter queue "
    "(errors.deadletterqueue.topic.name) with its error code and message"
)
#: Confluent's default message size limit of the Streaming API's long polls (CometD), in bytes.
DEFAULT_MAX_MESSAGE_BYTES = 1_048_576


def _curl_logging_problem(value: Any) -> str | None:
    if value:
        return (
            "not supported: Hub never logs requests as curl commands, which would write the session token in "
            "their Authorization header to the log"
        )
    return None


def _instance_problem(value: Any) -> str | None:
    text = str(value)
    if not text.startswith(("https://", "http://")) or len(text.split("://", 1)[1].strip("/")) == 0:
        return "a URL such as https://login.salesforce.com, https://test.salesforce.com or a My Domain URL"
    return None


def _version_problem(value: Any) -> str | None:
    text = str(value).strip()
    if text.lower() == "latest":
        return None
    head, _, tail = text.partition(".")
    if head.isdigit() and tail.isdigit():
        return None
    return "an API version such as 59.0 (without a leading v), or latest"


def connection_config() -> ConfigDef:
    """The options every Salesforce connector takes to log in and call the org."""
    return (
        ConfigDef()
        .define(
            "salesforce.grant.type",
            ConfigType.STRING,
            "PASSWORD",
            "How to log in: PASSWORD (username, password and security token), JWT_BEARER (OAuth 2.0 JWT bearer: "
            "consumer key, username and a private key) or CLIENT_CREDENTIALS (consumer key and secret).",
            choices=GRANT_TYPES,
            case_insensitive_choices=True,
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "salesforce.username",
            ConfigType.STRING,
            "",
            "The Salesforce username (PASSWORD and JWT_BEARER).",
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "salesforce.password",
            ConfigType.PASSWORD,
            "",
            "The user's password (PASSWORD).",
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "salesforce.password.token",
            ConfigType.PASSWORD,
            "",
            "The user's security token (PASSWORD; empty when the org trusts Hub's IP address).",
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "salesforce.consumer.key",
            ConfigType.STRING,
            "",
            "The connected app's consumer key (JWT_BEARER and CLIENT_CREDENTIALS).",
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "salesforce.consumer.secret",
            ConfigType.PASSWORD,
            "",
            "The connected app's consumer secret (CLIENT_CREDENTIALS).",
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "hub.salesforce.jwt.private.key",
            ConfigType.PASSWORD,
            "",
            "JWT_BEARER: the PEM RSA private key that signs the assertion; use a config provider reference.",
            importance=Importance.MEDIUM,
            group=CONNECTION,
        )
        .define(
            "hub.salesforce.jwt.private.key.path",
            ConfigType.STRING,
            "",
            "JWT_BEARER: a PEM file holding the private key (instead of hub.salesforce.jwt.private.key).",
            importance=Importance.MEDIUM,
            group=CONNECTION,
        )
        .define(
            "salesforce.instance",
            ConfigType.STRING,
            DEFAULT_INSTANCE,
            "The login URL: https://login.salesforce.com, https://test.salesforce.com (sandboxes) or the org's "
            "My Domain URL (CLIENT_CREDENTIALS needs My Domain). Calls then go to the instance the login returns.",
            validator=_instance_problem,
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "salesforce.version",
            ConfigType.STRING,
            "latest",
            "The REST API version, e.g. 59.0; latest: the newest the org offers.",
            validator=_version_problem,
            importance=Importance.HIGH,
            group=CONNECTION,
        )
        .define(
            "connection.timeout",
            ConfigType.LONG,
            30_000,
            "Milliseconds to wait for Salesforce to connect and answer a request.",
            minimum=1,
            group=CONNECTION,
        )
        .define(
            "request.max.retries.time.ms",
            ConfigType.LONG,
            30_000,
            "How long a request failing with REQUEST_LIMIT_EXCEEDED, a 5xx answer or a broken connection is "
            "retried, with growing waits, before the operation fails.",
            minimum=0,
            group=CONNECTION,
        )
        .define(
            "hub.salesforce.retry.backoff.ms",
            ConfigType.LONG,
            500,
            "First wait before a retried request; doubles with each retry (at most 10 s).",
            minimum=0,
            group=CONNECTION,
        )
        .define(
            "hub.salesforce.ssl.ca.file",
            ConfigType.STRING,
            "",
            "A PEM file of the certificate authorities to trust for HTTPS; empty: the system's.",
            group=CONNECTION,
        )
        .define(
            "connection.max.message.size",
            ConfigType.INT,
            DEFAULT_MAX_MESSAGE_BYTES,
            "The largest answer to a Streaming API (CometD) long poll accepted, in bytes; a larger one fails the "
            "task naming this option. The Bulk API source and the sObject sink do not use the Streaming API.",
            minimum=1,
            group=CONNECTION,
        )
        .define(
            "curl.logging",
            ConfigType.BOOLEAN,
            False,
            "Confluent's option to log each request as a curl command; only false is accepted (a curl command "
            "would carry the session token).",
            validator=_curl_logging_problem,
            group=CONNECTION,
        )
        .unsupported("salesforce.jwt.keystore.path", _KEYSTORE_REASON)
        .unsupported("salesforce.jwt.keystore.password", _KEYSTORE_REASON)
        .unsupported("http.proxy", _PROXY_REASON)
        .unsupported("http.proxy.auth.scheme", _PROXY_REASON)
        .unsupported("http.proxy.user", _PROXY_REASON)
        .unsupported("http.proxy.password", _PROXY_REASON)
        .unsupported("http.proxy.auth.ntlm.domain", _PROXY_REASON)
    )


def _batch_enable_note(value: Any) -> str | None:
    return None  # accepted for Confluent's configs: Bulk API 2.0 splits large queries itself


BULK_SOURCE_CONFIG = (
    connection_config()
    .define(
        "salesforce.object",
        ConfigType.LIST,
        doc="The sObjects to read, e.g. Account or Account,Contact,Lead; each to its own topic.",
        importance=Importance.HIGH,
        non_empty=True,
        group=OBJECTS,
    )
    .define(
        "kafka.topic",
        ConfigType.STRING,
        "",
        "The topic of a single sObject; empty: {topic.prefix}.{SObject} for each.",
        importance=Importance.HIGH,
        group=OBJECTS,
    )
    .define(
        "topic.prefix",
        ConfigType.STRING,
        "salesforce",
        "Prefix of the topics {topic.prefix}.{SObject} when kafka.topic is empty.",
        importance=Importance.MEDIUM,
        group=OBJECTS,
    )
    .define(
        "poll.interval.ms",
        ConfigType.LONG,
        10_000,
        "Wait between incremental queries of an sObject once it is up to date.",
        minimum=0,
        importance=Importance.HIGH,
        group=SOURCE,
    )
    .define(
        "batch.enable",
        ConfigType.BOOLEAN,
        True,
        "Accepted for Confluent's configs: Bulk API 2.0 query jobs split large results themselves.",
        validator=_batch_enable_note,
        group=SOURCE,
    )
    .define(
        "batch.max.rows",
        ConfigType.INT,
        100_000,
        "Rows per page of a Bulk API 2.0 query job's results (maxRecords).",
        minimum=1,
        maximum=250_000,
        group=SOURCE,
    )
    .define(
        "salesforce.since",
        ConfigType.STRING,
        "",
        "Read only records created on or after this day (yyyy-MM-dd); empty: all records.",
        pattern=r"^(\d{4}-\d{2}-\d{2})?$",
        importance=Importance.HIGH,
        group=SOURCE,
    )
    .define(
        "hub.salesforce.poll.overlap.ms",
        ConfigType.LONG,
        5_000,
        "Each incremental query reaches this far before the newest SystemModstamp seen, so rows committed late "
        "are not missed; rows seen already (same Id and SystemModstamp) are not sent again.",
        minimum=0,
        group=SOURCE,
    )
    .define(
        "hub.salesforce.snapshot.enabled",
        ConfigType.BOOLEAN,
        True,
        "Start with a Bulk API 2.0 snapshot of every record; false: only changes from the connector's start.",
        group=SOURCE,
    )
)

SOBJECT_SINK_CONFIG = (
    connection_config()
    .define(
        "salesforce.object",
        ConfigType.STRING,
        doc="The sObject the records are written to.",
        importance=Importance.HIGH,
        non_empty=True,
        group=OBJECTS,
    )
    .define(
        "salesforce.sink.object.operation",
        ConfigType.STRING,
        "insert",
        "The operation when override.event.type is true, or when a record carries no event type.",
        choices=OPERATIONS,
        case_insensitive_choices=True,
        group=SINK,
    )
    .define(
        "override.event.type",
        ConfigType.BOOLEAN,
        False,
        "Apply salesforce.sink.object.operation to every record, whatever event type it carries.",
        group=SINK,
    )
    .define(
        "salesforce.custom.id.field.name",
        ConfigType.STRING,
        "",
        "An external id field of the sObject: upserts match on it, and with salesforce.use.custom.id.field it "
        "holds the source record's Id.",
        group=SINK,
    )
    .define(
        "salesforce.use.custom.id.field",
        ConfigType.BOOLEAN,
        False,
        "Write each record's Id into salesforce.custom.id.field.name and find records to update or delete by it "
        "(replication between orgs, where Ids differ).",
        group=SINK,
    )
    .define(
        "salesforce.ignore.fields",
        ConfigType.LIST,
        "",
        "Fields of the records that are not written.",
        group=SINK,
    )
    .define(
        "salesforce.ignore.reference.fields",
        ConfigType.BOOLEAN,
        False,
        "Do not write reference (lookup) fields, whose Ids differ between orgs.",
        group=SINK,
    )
    .define(
        "hub.salesforce.bulk.threshold",
        ConfigType.INT,
        2_000,
        "A run of this many records or more with one operation goes through a Bulk API 2.0 ingest job; smaller "
        "runs through the sObject Collections API (200 records a request).",
        minimum=1,
        group=SINK,
    )
    .unsupported("reporter.bootstrap.servers", _REPORTER_REASON)
    .unsupported("reporter.result.topic.name", _REPORTER_REASON)
    .unsupported("reporter.result.topic.replication.factor", _REPORTER_REASON)
    .unsupported("reporter.error.topic.name", _REPORTER_REASON)
    .unsupported("reporter.error.topic.replication.factor", _REPORTER_REASON)
)
