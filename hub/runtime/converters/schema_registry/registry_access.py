"""The options every schema-registry converter shares, and its access to the registry.

Options follow Confluent's ``AbstractKafkaSchemaSerDeConfig`` (``schema.registry.url``, ``auto.register.schemas``,
``use.latest.version``, ``normalize.schemas``, ``key.subject.name.strategy`` / ``value.subject.name.strategy``,
``basic.auth.credentials.source``, ``basic.auth.user.info``, ``max.schemas.per.subject``); the ones Hub knows of
but does not implement are refused by name. The registry is reached through confluent-kafka's
``SchemaRegistryClient`` (a maintained client with its own caches). A ``mock://SCOPE`` url gives the in-memory
registry confluent-kafka ships, one per scope and shared by every converter of the process, as Confluent's
``MockSchemaRegistry`` does — for tests.

Errors, as Confluent's serializers classify the registry's answers: refused credentials (401, 403) are a
ConnectorError; an unreachable registry, a timeout (408), throttling (429) or a 5xx a RetriableError; any other
refusal (an unknown schema or id, an incompatible or invalid schema) a DataError. Each names the subject or id and
carries the registry's message and error code; credentials never appear in a message.

``RegistryAccess`` is used by one converter (one task thread); the mock registries are shared under a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from hub.sdk.config import ConfigDef, ConfigType, Password
from hub.sdk.errors import ConfigError, ConnectorError, DataError, RetriableError

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import RegisteredSchema, Schema, SchemaRegistryClient

STRATEGY_PACKAGE = "io.confluent.kafka.serializers.subject."
TOPIC_NAME_STRATEGY = STRATEGY_PACKAGE + "TopicNameStrategy"
RECORD_NAME_STRATEGY = STRATEGY_PACKAGE + "RecordNameStrategy"
TOPIC_RECORD_NAME_STRATEGY = STRATEGY_PACKAGE + "TopicRecordNameStrategy"
STRATEGIES = (TOPIC_NAME_STRATEGY, RECORD_NAME_STRATEGY, TOPIC_RECORD_NAME_STRATEGY)
_SHORT_STRATEGIES = {name.rsplit(".", 1)[1]: name for name in STRATEGIES}


def _strategy_problem(value: Any) -> str | None:
    if str(value) in STRATEGIES or str(value) in _SHORT_STRATEGIES:
        return None
    return f"unknown subject name strategy {value!r}; Hub has {', '.join(STRATEGIES)}"


def _must_be_false(value: Any) -> str | None:
    return "true is not implemented in Hub" if value else None


REGISTRY_CONFIG = (
    ConfigDef()
    .define(
        "schema.registry.url",
        ConfigType.LIST,
        doc="Comma-separated URLs of the schema registry (mock://SCOPE: an in-memory registry, for tests).",
        non_empty=True,
    )
    .define("auto.register.schemas", ConfigType.BOOLEAN, True, "Register the schema of written data if missing.")
    .define(
        "use.latest.version",
        ConfigType.BOOLEAN,
        False,
        "Write with the subject's latest registered schema instead of the data's own.",
    )
    .define("normalize.schemas", ConfigType.BOOLEAN, False, "Ask the registry to normalize schemas it is given.")
    .define(
        "key.subject.name.strategy",
        ConfigType.STRING,
        TOPIC_NAME_STRATEGY,
        "How the subject of a key schema is named.",
        validator=_strategy_problem,
    )
    .define(
        "value.subject.name.strategy",
        ConfigType.STRING,
        TOPIC_NAME_STRATEGY,
        "How the subject of a value schema is named.",
        validator=_strategy_problem,
    )
    .define(
        "basic.auth.credentials.source",
        ConfigType.STRING,
        "URL",
        "Where the registry's basic-auth credentials come from: URL (user:password@ in the url) or USER_INFO.",
        choices=("URL", "USER_INFO"),
    )
    .define(
        "basic.auth.user.info", ConfigType.PASSWORD, "", "user:password, with basic.auth.credentials.source=USER_INFO."
    )
    .define("schema.registry.basic.auth.user.info", ConfigType.PASSWORD, "", "Older name of basic.auth.user.info.")
    .define("max.schemas.per.subject", ConfigType.INT, 1000, "Schemas the registry client caches.", minimum=1)
    .define(
        "latest.compatibility.strict",
        ConfigType.BOOLEAN,
        True,
        "With use.latest.version: the data must fit the latest schema (false is not implemented).",
        validator=lambda value: None if value else "false is not implemented in Hub",
    )
    .define("auto.register.deleted.schemas", ConfigType.BOOLEAN, False, "Not implemented.", validator=_must_be_false)
)
for _name in (
    "use.schema.id",
    "id.compatibility.strict",
    "context.name.strategy",
    "bearer.auth.credentials.source",
    "bearer.auth.token",
    "proxy.host",
    "proxy.port",
    "schema.registry.ssl.truststore.location",
    "schema.registry.ssl.keystore.location",
    "key.schema.id.serializer",
    "value.schema.id.serializer",
    "rule.executors",
):
    REGISTRY_CONFIG = REGISTRY_CONFIG.unsupported(_name, "not implemented by Hub's schema-registry converters")

_mock_registries: dict[str, SchemaRegistryClient] = {}
_mock_lock = threading.Lock()


def registry_client(conf: Mapping[str, Any]) -> SchemaRegistryClient:
    """confluent-kafka's client for a client config (``url`` …); ``mock://SCOPE`` gives the scope's shared mock."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    url = str(conf["url"])
    if url.startswith("mock://"):
        with _mock_lock:
            if url not in _mock_registries:
                _mock_registries[url] = SchemaRegistryClient.new_client({"url": url})
            return _mock_registries[url]
    return SchemaRegistryClient(dict(conf))


def _user_info(options: Mapping[str, Any]) -> str:
    for key in ("basic.auth.user.info", "schema.registry.basic.auth.user.info"):
        secret = options.get(key)
        if isinstance(secret, Password) and secret.value:
            return secret.value
    return ""


def client_conf(options: Mapping[str, Any]) -> dict[str, Any]:
    """confluent-kafka's client config for parsed converter options; ConfigError naming a bad combination."""
    urls = [url.rstrip("/") for url in options["schema.registry.url"]]
    for url in urls:
        if urlsplit(url).scheme not in ("http", "https", "mock"):
            raise ConfigError({"schema.registry.url": [f"{_without_credentials(url)!r} is not an http(s) URL"]})
    conf: dict[str, Any] = {"url": ",".join(urls), "cache.capacity": options["max.schemas.per.subject"]}
    user_info = _user_info(options)
    if options["basic.auth.credentials.source"] == "USER_INFO":
        if ":" not in user_info:
            raise ConfigError({"basic.auth.user.info": ["USER_INFO credentials must be given as user:password"]})
        if any(urlsplit(url).username for url in urls):
            raise ConfigError({"schema.registry.url": ["has user info while basic.auth.credentials.source=USER_INFO"]})
        conf["basic.auth.user.info"] = user_info
    return conf


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    return url if parts.password is None else url.replace(parts.netloc, parts.netloc.rsplit("@", 1)[1])


def subject_name(strategy: str, topic: str, is_key: bool, record_name: str | None) -> str:
    """The subject a schema is registered under, as Confluent's three strategies name it."""
    strategy = _SHORT_STRATEGIES.get(strategy, strategy)
    if strategy == TOPIC_NAME_STRATEGY:
        return f"{topic}-{'key' if is_key else 'value'}"
    if record_name is None:
        raise DataError(f"{strategy.rsplit('.', 1)[1]} needs a named schema (a record); this one has no name")
    return record_name if strategy == RECORD_NAME_STRATEGY else f"{topic}-{record_name}"


T = TypeVar("T")


@dataclass
class RegistryAccess:
    """Register, look up and fetch schemas for one converter, with the errors described in the module docstring."""

    client: SchemaRegistryClient
    auto_register: bool
    use_latest: bool
    normalize: bool
    strategy: str
    is_key: bool

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, is_key: bool) -> RegistryAccess:
        strategy = options["key.subject.name.strategy" if is_key else "value.subject.name.strategy"]
        return cls(
            registry_client(client_conf(options)),
            options["auto.register.schemas"],
            options["use.latest.version"],
            options["normalize.schemas"],
            strategy,
            is_key,
        )

    def subject(self, topic: str, record_name: str | None) -> str:
        return subject_name(self.strategy, topic, self.is_key, record_name)

    def id_for(self, subject: str, schema: Schema) -> int:
        """The id of ``schema`` under ``subject``: registered when auto-registering, else looked up."""
        if self.auto_register:
            return self._call(
                f"registering a schema under subject {subject!r}",
                self.client.register_schema,
                subject,
                schema,
                self.normalize,
            )
        found = self._call(
            f"looking up a schema under subject {subject!r}", self.client.lookup_schema, subject, schema, self.normalize
        )
        if found.schema_id is None:
            raise DataError(f"the registry gave no id for subject {subject!r}")
        return int(found.schema_id)

    def latest(self, subject: str) -> RegisteredSchema:
        return self._call(f"reading the latest schema of subject {subject!r}", self.client.get_latest_version, subject)

    def by_id(self, schema_id: int, fmt: str | None = None) -> Schema:
        """The schema of an id (``fmt="serialized"``: Protobuf as a base64 descriptor)."""
        return self._call(f"reading schema id {schema_id}", self.client.get_schema, schema_id, None, fmt)

    def version(self, subject: str, version: int | None, fmt: str | None = None) -> RegisteredSchema:
        """A version of a subject (a schema's reference)."""
        return self._call(
            f"reading version {version} of subject {subject!r}", self.client.get_version, subject, version, False, fmt
        )

    @staticmethod
    def _call(what: str, method: Callable[..., T], *args: Any) -> T:
        from confluent_kafka.schema_registry import SchemaRegistryError

        try:
            return method(*args)
        except SchemaRegistryError as exc:
            status = exc.http_status_code
            message = f"{what} failed: {exc.error_message} (HTTP {status}, error code {exc.error_code})"
            if status in (401, 403):
                raise ConnectorError(message) from None
            if status in (408, 429) or status >= 500 or status < 0:
                raise RetriableError(message) from None
            raise DataError(message) from None
        except OSError as exc:
            raise RetriableError(f"{what} failed: schema registry unreachable: {type(exc).__name__}") from None
        except Exception as exc:
            if type(exc).__module__.startswith(("httpx", "httpcore")):
                raise RetriableError(f"{what} failed: schema registry unreachable: {type(exc).__name__}") from None
            raise
