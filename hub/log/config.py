"""Topic configs with Kafka's names, defaults, types and validation.

Values arrive as strings (over the wire and from files) or as Python values; ``TopicConfig.build`` parses and
checks every key and reports all problems at once. A store-level default (Kafka's broker ``log.*`` settings)
can replace any default (by the topic config name or Kafka's broker name, ``log.retention.ms`` and so on); a topic's
own overrides win over it.

Hub differs from Kafka in one default, on purpose: ``flush.messages`` is 1, so an acknowledged append has been
fsynced (many concurrent appends share one fsync). Set ``flush.messages`` higher (and ``flush.ms``) to leave
flushing to the operating system the way Kafka does by default; see docs/log-storage.md.

Immutable; thread-safe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hub.log.errors import InvalidConfigError

LONG_MAX: Final = 2**63 - 1
INT_MAX: Final = 2**31 - 1


@dataclass(frozen=True, slots=True)
class _Spec:
    kind: type
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    #: Kafka's ConfigDef type name (DescribeConfigs' config type): INT, LONG, DOUBLE, STRING, LIST, BOOLEAN.
    type: str = ""
    doc: str = ""

    @property
    def type_name(self) -> str:
        return self.type or {int: "LONG", float: "DOUBLE"}.get(self.kind, "STRING")


#: DescribeConfigs' config type ids (Kafka's DescribeConfigsResponse.ConfigType).
CONFIG_TYPE_IDS: Final[Mapping[str, int]] = {
    "UNKNOWN": 0,
    "BOOLEAN": 1,
    "STRING": 2,
    "INT": 3,
    "SHORT": 4,
    "LONG": 5,
    "DOUBLE": 6,
    "LIST": 7,
    "CLASS": 8,
    "PASSWORD": 9,
}


def _cleanup_policy(value: Any) -> str | None:
    parts = [part.strip() for part in str(value).split(",")]
    bad = [part for part in parts if part not in ("delete", "compact")]
    if bad or not parts:
        return "must be delete, compact, or both separated by a comma"
    return None


def _compression_type(value: Any) -> str | None:
    if value != "producer":
        return "only 'producer' is supported: batches are stored as the producer compressed them"
    return None


def _boolean(value: Any) -> str | None:
    if str(value).lower() not in ("true", "false"):
        return "must be true or false"
    return None


SPECS: Final[Mapping[str, _Spec]] = {
    "cleanup.policy": _Spec(
        str,
        "delete",
        check=_cleanup_policy,
        type="LIST",
        doc="delete: old segments are removed by time and size; compact: only the last record of each key is kept.",
    ),
    "retention.ms": _Spec(
        int, 604_800_000, minimum=-1, doc="How long a segment is kept before it is deleted (-1: no time limit)."
    ),
    "retention.bytes": _Spec(
        int, -1, minimum=-1, doc="The most a partition keeps before its oldest segments are deleted (-1: no limit)."
    ),
    "segment.bytes": _Spec(
        int, 1_073_741_824, minimum=14, maximum=INT_MAX, type="INT", doc="The size at which a segment is rolled."
    ),
    "segment.ms": _Spec(int, 604_800_000, minimum=1, doc="The age at which a segment is rolled even if not full."),
    "segment.jitter.ms": _Spec(int, 0, minimum=0, doc="The most a segment's roll time is moved earlier at random."),
    "segment.index.bytes": _Spec(
        int, 10_485_760, minimum=8, maximum=INT_MAX, type="INT", doc="The size of a segment's offset index."
    ),
    "index.interval.bytes": _Spec(
        int, 4096, minimum=0, maximum=INT_MAX, type="INT", doc="Bytes of records between two offset index entries."
    ),
    "delete.retention.ms": _Spec(
        int, 86_400_000, minimum=0, doc="How long tombstones are kept by a compacted topic for its readers."
    ),
    "min.compaction.lag.ms": _Spec(int, 0, minimum=0, doc="The least age of a record before it may be compacted."),
    "max.compaction.lag.ms": _Spec(
        int, LONG_MAX, minimum=1, doc="The most a record may stay uncompacted once it is eligible."
    ),
    "min.cleanable.dirty.ratio": _Spec(
        float, 0.5, minimum=0.0, maximum=1.0, doc="The share of a log not yet compacted that starts a compaction."
    ),
    "max.message.bytes": _Spec(
        int, 1_048_588, minimum=0, maximum=INT_MAX, type="INT", doc="The largest record batch the topic accepts."
    ),
    "message.timestamp.type": _Spec(
        str,
        "CreateTime",
        choices=("CreateTime", "LogAppendTime"),
        doc="CreateTime keeps the producer's timestamps; LogAppendTime stamps batches with the time of the append.",
    ),
    "flush.messages": _Spec(
        int, 1, minimum=1, doc="Records between two fsyncs (Hub's default 1: an acknowledged append is on disk)."
    ),
    "flush.ms": _Spec(int, LONG_MAX, minimum=0, doc="The most time between two fsyncs of a partition."),
    "file.delete.delay.ms": _Spec(
        int, 60_000, minimum=0, doc="How long a deleted segment's files stay before they are removed."
    ),
    "compression.type": _Spec(
        str, "producer", check=_compression_type, doc="producer: batches are stored as the producer compressed them."
    ),
    "min.insync.replicas": _Spec(
        int, 1, minimum=1, type="INT", doc="The in-sync replicas an acks=all append needs to be accepted."
    ),
    # Read by the metadata quorum of a cluster (hub.log.cluster); a store of one node has no other replica.
    "unclean.leader.election.enable": _Spec(
        str,
        "false",
        check=_boolean,
        type="BOOLEAN",
        doc="Whether a replica out of the in-sync set may become leader when no in-sync one is left (losing data).",
    ),
}


#: Kafka's broker-level names for the store-wide defaults of topic configs (either name is accepted there).
BROKER_NAMES: Final[Mapping[str, str]] = {
    "log.cleanup.policy": "cleanup.policy",
    "log.retention.ms": "retention.ms",
    "log.retention.bytes": "retention.bytes",
    "log.segment.bytes": "segment.bytes",
    "log.roll.ms": "segment.ms",
    "log.roll.jitter.ms": "segment.jitter.ms",
    "log.index.size.max.bytes": "segment.index.bytes",
    "log.index.interval.bytes": "index.interval.bytes",
    "log.cleaner.delete.retention.ms": "delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms": "min.compaction.lag.ms",
    "log.cleaner.max.compaction.lag.ms": "max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio": "min.cleanable.dirty.ratio",
    "message.max.bytes": "max.message.bytes",
    "log.message.timestamp.type": "message.timestamp.type",
    "log.flush.interval.messages": "flush.messages",
    "log.flush.interval.ms": "flush.ms",
    "log.segment.delete.delay.ms": "file.delete.delay.ms",
}


#: Kafka's broker configs that set a topic config's default, in Kafka's order of precedence, with the factor that
#: turns their unit into the topic config's (``log.retention.hours`` x 3,600,000 = ``retention.ms``). A topic
#: config without a ``log.`` synonym has its own name at the broker level (``min.insync.replicas``).
BROKER_SYNONYMS: Final[Mapping[str, tuple[tuple[str, int], ...]]] = {
    **{topic: ((name, 1),) for topic, name in ((t, b) for b, t in BROKER_NAMES.items())},
    "retention.ms": (("log.retention.ms", 1), ("log.retention.minutes", 60_000), ("log.retention.hours", 3_600_000)),
    "segment.ms": (("log.roll.ms", 1), ("log.roll.hours", 3_600_000)),
    "segment.jitter.ms": (("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", 3_600_000)),
    "min.insync.replicas": (("min.insync.replicas", 1),),
    "compression.type": (("compression.type", 1),),
    "unclean.leader.election.enable": (("unclean.leader.election.enable", 1),),
}

#: Each broker-level name of a topic default: ``name -> (topic config, factor)``.
BROKER_DEFAULTS: Final[Mapping[str, tuple[str, int]]] = {
    name: (topic, factor) for topic, names in BROKER_SYNONYMS.items() for name, factor in names
}


def topic_defaults(values: Mapping[str, Any]) -> dict[str, Any]:
    """Store-level defaults given by topic config names or Kafka's broker names (hours and minutes converted),
    as topic config names; of several synonyms of one config the first in Kafka's order wins, a topic name last.
    Unknown names are kept (``parse_configs`` reports them)."""
    resolved: dict[str, Any] = {name: value for name, value in values.items() if name not in BROKER_DEFAULTS}
    for topic, names in BROKER_SYNONYMS.items():
        for name, factor in names:
            if name in values and values[name] is not None:
                value = values[name]
                if factor != 1:
                    with contextlib.suppress(ValueError):  # a bad value is left for parse_configs to refuse
                        value = int(str(value).strip()) * factor
                resolved[topic] = value
                break
    return resolved


def _parse(spec: _Spec, raw: Any) -> Any:
    if spec.kind is int:
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise ValueError("must be an integer")
        try:
            value: Any = int(str(raw).strip())
        except ValueError:
            raise ValueError("must be an integer") from None
        if not -(2**63) <= value <= LONG_MAX:
            raise ValueError("does not fit in a long")
    elif spec.kind is float:
        try:
            value = float(str(raw).strip())
        except ValueError:
            raise ValueError("must be a number") from None
    else:
        value = str(raw).strip()
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(f"must be at most {spec.maximum:g}")
    if spec.choices and value not in spec.choices:
        raise ValueError(f"must be one of {', '.join(spec.choices)}")
    if spec.check is not None:
        message = spec.check(value)
        if message:
            raise ValueError(message)
    return value


def parse_configs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Parse and check config values by Kafka name; InvalidConfigError lists every unknown key and bad value."""
    problems: list[str] = []
    parsed: dict[str, Any] = {}
    for name, raw in values.items():
        spec = SPECS.get(name)
        if spec is None:
            problems.append(f"unknown topic config '{name}'")
            continue
        try:
            parsed[name] = _parse(spec, raw)
        except ValueError as exc:
            problems.append(f"invalid value {raw!r} for topic config '{name}': {exc}")
    if problems:
        raise InvalidConfigError("; ".join(problems))
    return parsed


@dataclass(frozen=True, slots=True)
class TopicConfig:
    """A topic's effective configs: its overrides over the store's defaults over Kafka's defaults."""

    overrides: Mapping[str, Any]
    defaults: Mapping[str, Any]
    values: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = {name: spec.default for name, spec in SPECS.items()}
        values.update(self.defaults)
        values.update(self.overrides)
        object.__setattr__(self, "values", values)

    @classmethod
    def build(
        cls, overrides: Mapping[str, Any] | None = None, defaults: Mapping[str, Any] | None = None
    ) -> TopicConfig:
        return cls(parse_configs(overrides or {}), parse_configs(topic_defaults(defaults or {})))

    def get(self, name: str) -> Any:
        return self.values[name]

    def source(self, name: str) -> str:
        """Where a value comes from: ``topic``, ``store`` (a store-level default) or ``default``."""
        if name in self.overrides:
            return "topic"
        return "store" if name in self.defaults else "default"

    def effective(self) -> dict[str, str]:
        """Every config as Kafka renders it (strings)."""
        return {name: _render(self.get(name)) for name in SPECS}

    def altered(self, updates: Mapping[str, Any | None], *, incremental: bool = True) -> TopicConfig:
        """A new config with ``updates`` applied (None resets a key to its default); ``incremental=False``
        replaces all overrides, as Kafka's legacy AlterConfigs does."""
        base = dict(self.overrides) if incremental else {}
        for name, value in updates.items():
            if value is None:
                if name not in SPECS:
                    raise InvalidConfigError(f"unknown topic config '{name}'")
                base.pop(name, None)
            else:
                base[name] = value
        return TopicConfig(parse_configs(base), self.defaults)

    def overrides_as_strings(self) -> dict[str, str]:
        return {name: _render(value) for name, value in self.overrides.items()}

    @property
    def compact(self) -> bool:
        return "compact" in str(self.get("cleanup.policy"))

    @property
    def delete(self) -> bool:
        return "delete" in str(self.get("cleanup.policy"))

    @property
    def log_append_time(self) -> bool:
        return bool(self.get("message.timestamp.type") == "LogAppendTime")

    @property
    def sync_every_append(self) -> bool:
        """True when acknowledgements wait for fsync (flush.messages = 1, Hub's default)."""
        return bool(self.get("flush.messages") == 1)


def _render(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)
