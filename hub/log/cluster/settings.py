"""ClusterSettings: a node's cluster settings, read from Kafka's broker property names.

A node is part of a cluster when ``controller.quorum.voters`` is set; then ``node.id`` is required. A node among
the voters is broker and controller at once (Kafka's combined mode); any other node is a broker only, an
observer of the metadata quorum: that is how a cluster grows beyond its voters. Without it the store is a
single node, as it always was, and none of these settings may be given.

Hub's defaults follow Kafka's except ``broker.heartbeat.interval.ms`` (500, Kafka 2000) and
``broker.session.timeout.ms`` (2000, Kafka 9000), so a dead leader is replaced within about three seconds, and
``default.replication.factor``, min(3, voters) (Kafka 1), so a topic created without a replication factor — an
auto-created one, or a Connect worker's own topics — survives the loss of a node.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.log.cluster.replica_manager import ReplicationSettings
from hub.log.errors import InvalidConfigError

_INT_SETTINGS: dict[str, tuple[str, int]] = {
    # property: (field, minimum)
    "broker.heartbeat.interval.ms": ("heartbeat_interval_ms", 10),
    "broker.session.timeout.ms": ("session_timeout_ms", 100),
    "default.replication.factor": ("default_replication_factor", 1),
    "offsets.topic.replication.factor": ("offsets_topic_replication_factor", 1),
    "leader.imbalance.check.interval.seconds": ("leader_imbalance_check_interval_s", 1),
    "leader.imbalance.per.broker.percentage": ("leader_imbalance_percentage", 0),
}
_REPLICATION_SETTINGS: dict[str, tuple[str, int]] = {
    "replica.lag.time.max.ms": ("replica_lag_time_max_ms", 10),
    "replica.fetch.wait.max.ms": ("replica_fetch_wait_max_ms", 0),
    "replica.fetch.max.bytes": ("replica_fetch_max_bytes", 1024),
    "replica.socket.timeout.ms": ("replica_socket_timeout_ms", 100),
}
_BOOL_SETTINGS = {
    "unclean.leader.election.enable": "unclean_leader_election",
    "auto.leader.rebalance.enable": "auto_leader_rebalance",
}
CLUSTER_PROPERTIES = frozenset(
    {"node.id", "controller.quorum.voters", "advertised.listeners", "broker.rack", "controller.quorum.password"}
    | set(_INT_SETTINGS)
    | set(_REPLICATION_SETTINGS)
    | set(_BOOL_SETTINGS)
)
_VOTER = re.compile(r"^(\d+)@(\[[0-9a-fA-F:]+\]|[^:@\s]+):(\d+)$")
_LISTENER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)://(\[[0-9a-fA-F:]+\]|[^:\s]*):(\d+)$")


@dataclass(frozen=True)
class ClusterSettings:
    """One node's place in a cluster and the cluster's timing and replication settings."""

    node_id: int
    voters: Mapping[int, tuple[str, int]]
    advertised: tuple[str, int] | None = None
    rack: str | None = None
    quorum_password: str | None = field(default=None, repr=False)
    heartbeat_interval_ms: int = 500
    session_timeout_ms: int = 2000
    default_replication_factor: int = 0  # 0: min(3, voters), set by cluster_settings
    offsets_topic_replication_factor: int = 3
    leader_imbalance_check_interval_s: int = 300
    leader_imbalance_percentage: int = 10
    unclean_leader_election: bool = False
    auto_leader_rebalance: bool = True
    replication: ReplicationSettings = field(default_factory=lambda: ReplicationSettings(node_id=-1))


def parse_voters(text: str) -> dict[int, tuple[str, int]]:
    """``1@host:port,2@host:port`` as {node id: (host, port)}; InvalidConfigError naming a bad entry."""
    voters: dict[int, tuple[str, int]] = {}
    for entry in (part.strip() for part in text.split(",")):
        match = _VOTER.match(entry)
        if match is None:
            raise InvalidConfigError(f"controller.quorum.voters entry {entry!r} is not of the form NODE_ID@HOST:PORT")
        node_id, host, port = int(match[1]), match[2].strip("[]"), int(match[3])
        if node_id in voters:
            raise InvalidConfigError(f"controller.quorum.voters names node {node_id} twice")
        if not 0 < port < 65536:
            raise InvalidConfigError(f"controller.quorum.voters entry {entry!r}: port out of range")
        voters[node_id] = (host, port)
    return voters


def parse_advertised(text: str) -> tuple[str, int]:
    """The first ``NAME://host:port`` of ``advertised.listeners``."""
    first = text.split(",")[0].strip()
    match = _LISTENER.match(first)
    if match is None:
        raise InvalidConfigError(f"advertised.listeners entry {first!r} is not of the form NAME://HOST:PORT")
    return match[2].strip("[]"), int(match[3])


def cluster_settings(properties: Mapping[str, str]) -> ClusterSettings | None:
    """The cluster settings among broker ``properties`` (other keys are ignored); None for a single node."""
    given = {key: value.strip() for key, value in properties.items() if key in CLUSTER_PROPERTIES}
    if "controller.quorum.voters" not in given:
        # advertised.listeners also names what a single node's listeners advertise (hub.log.security.listeners)
        cluster_only = sorted(key for key in given if key != "advertised.listeners")
        if cluster_only:
            raise InvalidConfigError(
                f"{', '.join(cluster_only)} only apply to a cluster: set controller.quorum.voters too"
            )
        return None
    if "node.id" not in given:
        raise InvalidConfigError("controller.quorum.voters is set but node.id is not")
    values: dict[str, object] = {}
    replication: dict[str, int] = {}
    try:
        node_id = int(given["node.id"])
        for key, (name, minimum) in _INT_SETTINGS.items():
            if key in given:
                values[name] = _at_least(key, int(given[key]), minimum)
        for key, (name, minimum) in _REPLICATION_SETTINGS.items():
            if key in given:
                replication[name] = _at_least(key, int(given[key]), minimum)
    except ValueError as exc:
        raise InvalidConfigError(f"invalid integer in cluster settings: {exc}") from None
    for key, name in _BOOL_SETTINGS.items():
        if key in given:
            if given[key].lower() not in ("true", "false"):
                raise InvalidConfigError(f"invalid value {given[key]!r} for {key!r}: must be true or false")
            values[name] = given[key].lower() == "true"
    voters = parse_voters(given["controller.quorum.voters"])
    if node_id < 0:
        raise InvalidConfigError(f"node.id must not be negative, got {node_id}")
    if "advertised.listeners" in given:
        values["advertised"] = parse_advertised(given["advertised.listeners"])
    if given.get("broker.rack"):
        values["rack"] = given["broker.rack"]
    if given.get("controller.quorum.password"):
        values["quorum_password"] = given["controller.quorum.password"]
    session, heartbeat = values.get("session_timeout_ms", 2000), values.get("heartbeat_interval_ms", 500)
    if isinstance(session, int) and isinstance(heartbeat, int) and heartbeat >= session:
        raise InvalidConfigError(
            f"broker.heartbeat.interval.ms ({heartbeat}) must be less than broker.session.timeout.ms ({session})"
        )
    values.setdefault("default_replication_factor", min(3, len(voters)))
    return ClusterSettings(
        node_id=node_id,
        voters=voters,
        replication=ReplicationSettings(node_id=node_id, **replication),  # type: ignore[arg-type]
        **values,  # type: ignore[arg-type]
    )


def _at_least(key: str, value: int, minimum: int) -> int:
    if value < minimum:
        raise InvalidConfigError(f"{key} must be at least {minimum}, got {value}")
    return value
