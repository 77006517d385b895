"""Worker options, with Kafka Connect's names; defaults follow Connect's sample distributed config
(JSON keys and values with schemas, 10 s offset flushes, internal topics ``connect-configs`` / ``connect-offsets``
/ ``connect-status``). Their replication factors default to -1, the store's ``default.replication.factor`` (KIP-464):
min(3, voters) on a Hub cluster, 1 on a single node (Connect's default is 3, which a single node refuses).

Keys under ``producer.``, ``consumer.``, ``admin.``, ``key.converter.``, ``value.converter.``,
``header.converter.``, ``config.providers.``, ``config.storage.`` / ``offset.storage.`` / ``status.storage.``
(topic configs for the internal topics) and ``sasl.`` / ``ssl.`` (with ``security.protocol``: how the store
clients authenticate) are passed to their owners; other unknown keys are errors. Options Hub
adds to Connect's start with ``hub.`` (``hub.task.restart.*``: automatic restarts of failed work).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.runtime.exactly_once_config import SOURCE_SUPPORT_KEY, WORKER_KEY, SourceSupport
from hub.runtime.options import prefixed
from hub.sdk.config import ConfigKey, ConfigType, config_def
from hub.sdk.errors import ConfigError

#: HMAC algorithms by Connect's (JCA's) names, for the signing of internal requests (KIP-507).
_HMACS = ("HmacSHA1", "HmacSHA256", "HmacSHA384", "HmacSHA512")

_SIGNING_KEYS = ("inter.worker.signature.algorithm", "inter.worker.verification.algorithms")

_REPLICATION_DOC = (
    "Replication factor used when creating the {} storage topic; -1: the store's default.replication.factor."
)


def _replication_factor(value: int | None) -> str | None:
    """Connect's rule for the internal topics' replication factors: at least 1, or -1 for the broker's default."""
    if value is None or value == -1 or value >= 1:
        return None
    return "must be at least 1, or -1 to use the store's default.replication.factor"


_KEYS = [
    ConfigKey("bootstrap.servers", ConfigType.STRING, "", "Kafka-protocol store to use; empty: the embedded one."),
    ConfigKey("group.id", ConfigType.STRING, "connect-cluster", "Name of the worker cluster."),
    ConfigKey("security.protocol", ConfigType.STRING, "PLAINTEXT",
              "How the worker's clients talk to the store; with sasl.* and ssl.* (Kafka's client names).",
              choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"), case_insensitive_choices=True),
    ConfigKey("key.converter", ConfigType.CLASS, "org.apache.kafka.connect.json.JsonConverter"),
    ConfigKey("value.converter", ConfigType.CLASS, "org.apache.kafka.connect.json.JsonConverter"),
    ConfigKey("header.converter", ConfigType.CLASS, "org.apache.kafka.connect.storage.SimpleHeaderConverter"),
    ConfigKey("offset.flush.interval.ms", ConfigType.LONG, 10_000, "How often offsets are committed.", minimum=1),
    ConfigKey("offset.flush.timeout.ms", ConfigType.LONG, 5_000, "Longest wait for records in flight at a commit.",
              minimum=1),
    ConfigKey("task.shutdown.graceful.timeout.ms", ConfigType.LONG, 5_000,
              "How long stopping tasks may take before they are abandoned.", minimum=0),
    ConfigKey("offset.storage.file.filename", ConfigType.STRING, "",
              "Standalone mode: keep source offsets in this file instead of the store's offsets topic."),
    ConfigKey("config.storage.topic", ConfigType.STRING, "connect-configs", non_empty=True),
    ConfigKey("offset.storage.topic", ConfigType.STRING, "connect-offsets", non_empty=True),
    ConfigKey("status.storage.topic", ConfigType.STRING, "connect-status", non_empty=True),
    ConfigKey("config.storage.replication.factor", ConfigType.SHORT, -1, _REPLICATION_DOC.format("config"),
              validator=_replication_factor),
    ConfigKey("offset.storage.replication.factor", ConfigType.SHORT, -1, _REPLICATION_DOC.format("offset"),
              validator=_replication_factor),
    ConfigKey("status.storage.replication.factor", ConfigType.SHORT, -1, _REPLICATION_DOC.format("status"),
              validator=_replication_factor),
    ConfigKey("offset.storage.partitions", ConfigType.INT, 25, minimum=1),
    ConfigKey("status.storage.partitions", ConfigType.INT, 5, minimum=1),
    ConfigKey("config.providers", ConfigType.LIST, "env,file,dir",
              "Config providers available to ${…} references; file and dir read only under their "
              "config.providers.NAME.param.allowed.paths (hub start: DATA_DIR/secrets), env the variables "
              "config.providers.env.param.allowlist.pattern matches (default all)."),
    ConfigKey("rest.advertised.host.name", ConfigType.STRING, "", "Host name other workers use to reach this one."),
    ConfigKey("rest.advertised.port", ConfigType.INT, 0, "Port other workers use to reach this one."),
    ConfigKey("listeners", ConfigType.LIST, "http://127.0.0.1:8083", "REST listeners."),
    ConfigKey("session.timeout.ms", ConfigType.INT, 10_000, minimum=1),
    ConfigKey("heartbeat.interval.ms", ConfigType.INT, 3_000, minimum=1),
    ConfigKey("rebalance.timeout.ms", ConfigType.INT, 60_000, minimum=1),
    ConfigKey("scheduled.rebalance.max.delay.ms", ConfigType.INT, 300_000, minimum=0),
    ConfigKey("inter.worker.key.generation.algorithm", ConfigType.STRING, "HmacSHA256",
              "Algorithm of the session keys the leader generates for signing internal requests.", choices=_HMACS),
    ConfigKey("inter.worker.key.size", ConfigType.INT, None,
              "Size of generated session keys in bits; empty: the algorithm's hash size.", minimum=64),
    ConfigKey("inter.worker.key.ttl.ms", ConfigType.INT, 3_600_000,
              "How long a session key is used before the leader distributes a new one.", minimum=1),
    ConfigKey("inter.worker.signature.algorithm", ConfigType.STRING, "HmacSHA256",
              "Algorithm this worker signs internal requests with.", choices=_HMACS),
    ConfigKey("inter.worker.verification.algorithms", ConfigType.LIST, "HmacSHA256",
              "Algorithms this worker accepts on signed internal requests; must include the signature algorithm.",
              choices=_HMACS, non_empty=True),
    ConfigKey("topic.creation.enable", ConfigType.BOOLEAN, True),
    WORKER_KEY,
    ConfigKey("rest.ssl.cert.file", ConfigType.STRING, "", "PEM certificate (chain) for HTTPS on the REST API."),
    ConfigKey("rest.ssl.key.file", ConfigType.STRING, "", "PEM private key for HTTPS on the REST API."),
    ConfigKey("rest.auth.file", ConfigType.STRING, "", "JSON credentials file; set, the REST API needs a login."),
    ConfigKey("rest.auth.health.public", ConfigType.BOOLEAN, False,
              "With rest.auth.file: answer GET /health without a login too (for load balancer and k8s probes)."),
    ConfigKey("rest.request.body.timeout.ms", ConfigType.LONG, 30_000,
              "Longest time a request body may take to arrive whole; a slower one is answered 408 and its "
              "connection closed.", minimum=1),
    ConfigKey("hub.task.restart.enabled", ConfigType.BOOLEAN, False,
              "Restart failed connectors and tasks of this worker automatically, with exponential backoff."),
    ConfigKey("hub.task.restart.initial.backoff.ms", ConfigType.LONG, 1_000, "Wait before the first automatic restart.",
              minimum=1),
    ConfigKey("hub.task.restart.max.backoff.ms", ConfigType.LONG, 60_000,
              "Longest wait between automatic restarts; a task that ran this long before failing starts over.",
              minimum=1),
    ConfigKey("hub.task.restart.backoff.multiplier", ConfigType.DOUBLE, 2.0,
              "Factor by which the wait grows after each automatic restart in a row.", minimum=1),
    ConfigKey("hub.task.restart.max.attempts", ConfigType.INT, -1,
              "Automatic restarts in a row before a task is left FAILED; -1: no limit.", minimum=-1),
    ConfigKey("hub.worker.runs.work", ConfigType.BOOLEAN, True,
              "False: this worker of a group runs connectors and tasks only while no other worker is in it (it "
              "answers the REST API and forwards; `hub start --workers N` sets it for its own worker, which runs "
              "the store)."),
    ConfigKey("hub.status.progress.interval.ms", ConfigType.LONG, 5_000,
              "How often running tasks publish their progress (records, rate, lag) with their status.", minimum=100),
]  # fmt: skip

WORKER_DEF = config_def(_KEYS).unsupported(
    "plugin.path", "Hub finds plugins through Python package entry points (group 'hub'): pip install them"
)

_PASS_THROUGH = (
    "producer.",
    "consumer.",
    "admin.",
    "key.converter.",
    "value.converter.",
    "header.converter.",
    "config.providers.",
    "config.storage.",
    "offset.storage.",
    "status.storage.",
    "sasl.",  # the store clients' security settings, with security.protocol (hub.log.client.kafka.security_config)
    "ssl.",
)


@dataclass(frozen=True)
class WorkerConfig:
    """Parsed worker options; ``raw`` keeps every key for the prefixed lookups."""

    values: Mapping[str, Any]
    raw: Mapping[str, str]

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> WorkerConfig:
        """Check and type the options; ConfigError naming every bad or unknown key."""
        typed, problems = WORKER_DEF.errors(raw)
        for key in raw:
            if (
                WORKER_DEF.key(key) is None
                and key not in WORKER_DEF.unsupported_keys
                and not key.startswith(_PASS_THROUGH)
            ):
                problems.setdefault(key, []).append(f"unknown worker option {key!r}")
        signing = typed.get("inter.worker.signature.algorithm")
        if problems.keys().isdisjoint(_SIGNING_KEYS) and signing not in typed["inter.worker.verification.algorithms"]:
            problems.setdefault("inter.worker.verification.algorithms", []).append(
                f"must include the signature algorithm {signing} (inter.worker.signature.algorithm)"
            )
        if typed.get(SOURCE_SUPPORT_KEY) == SourceSupport.ENABLED and typed.get("offset.storage.file.filename"):
            problems.setdefault(SOURCE_SUPPORT_KEY, []).append(
                "exactly-once source support needs the offsets in the store's offset.storage.topic, written in the "
                "same transactions as the records; it cannot be enabled with offset.storage.file.filename"
            )
        if problems:
            raise ConfigError(problems)
        return cls(typed, dict(raw))

    @property
    def exactly_once_source(self) -> SourceSupport:
        """``exactly.once.source.support``."""
        return SourceSupport(self.values.get(SOURCE_SUPPORT_KEY, SourceSupport.DISABLED))

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def prefixed(self, prefix: str) -> dict[str, str]:
        return prefixed(self.raw, prefix)

    def topic_configs(self, store: str) -> dict[str, str]:
        """Topic configs for an internal topic (``config.storage.cleanup.policy``…), minus the worker's own keys."""
        own = {"topic", "replication.factor", "partitions", "file.filename"}
        return {k: v for k, v in self.prefixed(f"{store}.storage.").items() if k not in own}
