"""Broker configs: the ones DescribeConfigs shows for a broker, which of them can be changed while the store runs,
and the dynamic values themselves.

As in Kafka, a broker config comes from one of four layers, the first that has it winning: the broker's own
dynamic value, the cluster-wide dynamic default, the static value the store was started with, Kafka's (or Hub's)
default. The dynamic ones are Kafka's ``log.*`` defaults of topic configs (``BROKER_DEFAULTS`` in hub.log.config:
``log.retention.ms``, ``log.retention.hours``, ``log.segment.bytes``, ``message.max.bytes``, ...); they take effect
at once for every topic without its own value. Other configs are read-only.

``DynamicConfigs`` is ``{"": cluster-wide defaults, "<node id>": that broker's}``, names and string values as
Kafka's. A store of one node keeps them in its data directory (``dynamic-configs.json``, versioned, replaced
atomically); a cluster keeps them in its metadata quorum.

Pure functions and immutable tables; thread-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.log.checkpoint import FORMAT_VERSION, read_versioned_json, write_json_atomically
from hub.log.config import BROKER_DEFAULTS, BROKER_SYNONYMS, SPECS, parse_configs
from hub.log.errors import InvalidConfigError, InvalidRequestError

if TYPE_CHECKING:  # the coordinators import the store, which imports this module
    from hub.log.group.coordinator import CoordinatorConfig
    from hub.log.txn.coordinator import TransactionConfig

DynamicConfigs = Mapping[str, Mapping[str, str]]
DYNAMIC_CONFIGS_FILE: Final = "dynamic-configs.json"
#: The resource name of the cluster-wide default (a broker's own is its node id).
CLUSTER_DEFAULT: Final = ""
#: Dynamic configs the metadata quorum applies for the whole cluster, so one broker cannot have its own.
CLUSTER_ONLY: Final = frozenset({"unclean.leader.election.enable"})


#: The coordinators' static broker settings: Kafka's name -> the field that holds it in hub.log.group's
#: CoordinatorConfig, its ConsumerSettings (``consumer``) and hub.log.txn's TransactionConfig.
GROUP_SETTINGS: Final[Mapping[str, str]] = {
    "group.min.session.timeout.ms": "min_session_timeout_ms",
    "group.max.session.timeout.ms": "max_session_timeout_ms",
    "group.initial.rebalance.delay.ms": "initial_rebalance_delay_ms",
    "group.max.size": "max_group_size",
    "offset.metadata.max.bytes": "max_metadata_bytes",
}
CONSUMER_GROUP_SETTINGS: Final[Mapping[str, str]] = {
    "group.consumer.heartbeat.interval.ms": "heartbeat_interval_ms",
    "group.consumer.session.timeout.ms": "session_timeout_ms",
    "group.consumer.max.size": "max_size",
}
TRANSACTION_SETTINGS: Final[Mapping[str, str]] = {
    "transaction.state.log.num.partitions": "num_partitions",
    "transaction.state.log.replication.factor": "replication_factor",
    "transaction.state.log.min.isr": "min_isr",
    "transaction.max.timeout.ms": "max_timeout_ms",
    "transactional.id.expiration.ms": "id_expiration_ms",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "abort_interval_ms",
    "transaction.remove.expired.transaction.cleanup.interval.ms": "remove_interval_ms",
}
#: Kafka's defaults and documentation of those settings, as DescribeConfigs shows them (all INT, read-only).
_COORDINATOR_SPECS: Final[Mapping[str, tuple[str, str]]] = {
    "group.min.session.timeout.ms": ("6000", "The shortest session timeout a classic group member may ask for."),
    "group.max.session.timeout.ms": ("1800000", "The longest session timeout a classic group member may ask for."),
    "group.initial.rebalance.delay.ms": ("3000", "How long a new classic group waits for more members to join."),
    "group.max.size": ("2147483647", "The most members one classic group takes."),
    "offset.metadata.max.bytes": ("4096", "The longest metadata a committed offset may carry."),
    "group.consumer.heartbeat.interval.ms": ("5000", "The heartbeat interval of consumer group members."),
    "group.consumer.session.timeout.ms": ("45000", "The session timeout of consumer group members."),
    "group.consumer.max.size": ("2147483647", "The most members one consumer group takes."),
    "transaction.state.log.num.partitions": ("50", "The partitions of __transaction_state."),
    "transaction.state.log.replication.factor": ("3", "The replication factor of __transaction_state."),
    "transaction.state.log.min.isr": ("2", "The min.insync.replicas of __transaction_state."),
    "transaction.max.timeout.ms": ("900000", "The longest transaction.timeout.ms a producer may ask for."),
    "transactional.id.expiration.ms": ("604800000", "How long an idle transactional id is kept."),
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": (
        "10000",
        "How often transactions past their timeout are looked for and aborted.",
    ),
    "transaction.remove.expired.transaction.cleanup.interval.ms": (
        "3600000",
        "How often expired transactional ids are looked for and removed.",
    ),
}


def coordinator_values(groups: CoordinatorConfig | None, transactions: TransactionConfig | None) -> dict[str, str]:
    """The coordinators' static broker settings that a node runs with other than Kafka's defaults, by Kafka's
    names (none of a coordinator the node does not run)."""
    values: dict[str, object] = {}
    if groups is not None:
        values |= {name: getattr(groups, field) for name, field in GROUP_SETTINGS.items()}
        values |= {name: getattr(groups.consumer, field) for name, field in CONSUMER_GROUP_SETTINGS.items()}
    if transactions is not None:
        values |= {name: getattr(transactions, field) for name, field in TRANSACTION_SETTINGS.items()}
    return {name: str(value) for name, value in values.items() if str(value) != _COORDINATOR_SPECS[name][0]}


@dataclass(frozen=True, slots=True)
class BrokerSpec:
    """What DescribeConfigs says of one broker config."""

    type: str
    default: str | None
    doc: str
    dynamic: bool


def _render(value: object) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _broker_specs() -> dict[str, BrokerSpec]:
    specs: dict[str, BrokerSpec] = {}
    for name, (topic, factor) in BROKER_DEFAULTS.items():
        spec = SPECS[topic]
        primary = BROKER_SYNONYMS[topic][0][0] == name
        unit = {60_000: " (in minutes)", 3_600_000: " (in hours)"}.get(factor, "")
        specs[name] = BrokerSpec(
            "INT" if factor != 1 else spec.type_name,
            _render(spec.default) if primary else None,
            f"The default of the topic config {topic}{unit}: {spec.doc}",
            dynamic=True,
        )
    specs.update(
        {
            "node.id": BrokerSpec("INT", None, "This broker's id in its cluster.", dynamic=False),
            "log.dirs": BrokerSpec("STRING", None, "The store's data directory.", dynamic=False),
            "num.partitions": BrokerSpec("INT", "1", "The partitions of an automatically created topic.", False),
            "auto.create.topics.enable": BrokerSpec(
                "BOOLEAN", "true", "Whether producing to or asking for an unknown topic creates it.", dynamic=False
            ),
            "fetch.max.bytes": BrokerSpec(
                "INT", "57671680", "The most one Fetch answer carries, whatever the client asks.", dynamic=False
            ),
        }
    )
    specs.update(
        (name, BrokerSpec("INT", default, doc, dynamic=False)) for name, (default, doc) in _COORDINATOR_SPECS.items()
    )
    return specs


BROKER_SPECS: Final[Mapping[str, BrokerSpec]] = _broker_specs()


def broker_synonyms(name: str) -> list[str]:
    """Kafka's synonyms of a broker config, itself first among those of its group (``log.retention.ms``,
    ``log.retention.minutes``, ``log.retention.hours``)."""
    entry = BROKER_DEFAULTS.get(name)
    if entry is None:
        return [name]
    names = [synonym for synonym, _ in BROKER_SYNONYMS[entry[0]]]
    return names if len(names) > 1 else [name]


def for_node(configs: DynamicConfigs, node_id: int) -> dict[str, str]:
    """The dynamic configs that apply to one broker: the cluster-wide ones, its own over them."""
    return {**configs.get(CLUSTER_DEFAULT, {}), **configs.get(str(node_id), {})}


def check_dynamic(updates: Mapping[str, str], *, per_broker: bool = False) -> None:
    """Refuse (InvalidRequestError, as Kafka) configs that are unknown or read-only, bad values, and on one broker
    those only the cluster as a whole applies (``CLUSTER_ONLY``)."""
    unknown = sorted(name for name in updates if name not in BROKER_SPECS)
    if unknown:
        raise InvalidRequestError(f"Unknown broker configs: {', '.join(unknown)}")
    static = sorted(name for name in updates if not BROKER_SPECS[name].dynamic)
    if static:
        raise InvalidRequestError(f"Cannot update these configs dynamically: {', '.join(static)}")
    cluster_only = sorted(name for name in updates if per_broker and name in CLUSTER_ONLY)
    if cluster_only:
        raise InvalidRequestError(
            f"Cannot update these configs for one broker, only at the cluster-wide level: {', '.join(cluster_only)}"
        )
    for name, value in updates.items():
        topic, factor = BROKER_DEFAULTS[name]
        try:
            parse_configs({topic: int(str(value).strip()) * factor if factor != 1 else value})
        except (InvalidConfigError, ValueError):
            raise InvalidRequestError(f"Invalid value {value!r} for broker config '{name}'") from None


def altered(configs: DynamicConfigs, resource: str, level: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``configs`` with one level (``resource``: "" or a node id) replaced by ``level`` (dropped when empty)."""
    result = {key: dict(values) for key, values in configs.items()}
    if level:
        result[resource] = dict(level)
    else:
        result.pop(resource, None)
    return result


def load(data_dir: Path) -> dict[str, dict[str, str]]:
    """The dynamic configs a store of one node saved ({} when none)."""
    data = read_versioned_json(data_dir / DYNAMIC_CONFIGS_FILE)
    if data is None:
        return {}
    return {str(key): {str(k): str(v) for k, v in values.items()} for key, values in data["configs"].items()}


def save(data_dir: Path, configs: DynamicConfigs) -> None:
    write_json_atomically(
        data_dir / DYNAMIC_CONFIGS_FILE,
        {"version": FORMAT_VERSION, "configs": {key: dict(values) for key, values in configs.items()}},
    )
