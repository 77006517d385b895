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
    "cleanup.policy": _Spec(str, "delete", check=_cleanup_policy),
    "retention.ms": _Spec(int, 604_800_000, minimum=-1),
    "retention.bytes": _Spec(int, -1, minimum=-1),
    "segment.bytes": _Spec(int, 1_073_741_824, minimum=14, maximum=INT_MAX),
    "segment.ms": _Spec(int, 604_800_000, minimum=1),
    "segment.jitter.ms": _Spec(int, 0, minimum=0),
    "segment.index.bytes": _Spec(int, 10_485_760, minimum=8, maximum=INT_MAX),
    "index.interval.bytes": _Spec(int, 4096, minimum=0, maximum=INT_MAX),
    "delete.retention.ms": _Spec(int, 86_400_000, minimum=0),
    "min.compaction.lag.ms": _Spec(int, 0, minimum=0),
    "max.compaction.lag.ms": _Spec(int, LONG_MAX, minimum=1),
    "min.cleanable.dirty.ratio": _Spec(float, 0.5, minimum=0.0, maximum=1.0),
    "max.message.bytes": _Spec(int, 1_048_588, minimum=0, maximum=INT_MAX),
    "message.timestamp.type": _Spec(str, "CreateTime", choices=("CreateTime", "LogAppendTime")),
    "flush.messages": _Spec(int, 1, minimum=1),
    "flush.ms": _Spec(int, LONG_MAX, minimum=0),
    "file.delete.delay.ms": _Spec(int, 60_000, minimum=0),
    "compression.type": _Spec(str, "producer", check=_compression_type),
    "min.insync.replicas": _Spec(int, 1, minimum=1),
    # Read by the metadata quorum of a cluster (hub.log.cluster); a store of one node has no other replica.
    "unclean.leader.election.enable": _Spec(str, "false", check=_boolean),
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
        store_defaults = {BROKER_NAMES.get(name, name): value for name, value in (defaults or {}).items()}
        return cls(parse_configs(overrides or {}), parse_configs(store_defaults))

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
