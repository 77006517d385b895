"""LogNode: one running store — topic store, group and transaction coordinators, log cleaner and broker, opened and
closed together.

``open()`` recovers the data directory, loads groups and committed offsets (and, on a single node, every
transactional id, completing the transactions a crash left preparing), and starts the background threads (flusher,
retention and checkpoints, cleaner, group and transaction timers); ``close()`` stops them in reverse order, flushing
every partition, so a SIGTERM loses nothing that was acknowledged. The Kafka protocol server and the embedded
clients both use ``node.broker``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hub.log.broker import FETCH_MAX_BYTES, MAX_NODES, Broker
from hub.log.broker_configs import CONSUMER_GROUP_SETTINGS, GROUP_SETTINGS, TRANSACTION_SETTINGS
from hub.log.cleaner import LogCleaner
from hub.log.cluster.cluster_node import ClusterNode
from hub.log.cluster.offsets_log import ReplicatedOffsetsLog
from hub.log.cluster.security_state import (
    ReplicatedAclStore,
    ReplicatedScramCredentials,
    import_local_credentials,
)
from hub.log.cluster.settings import CLUSTER_PROPERTIES, ClusterSettings, cluster_settings
from hub.log.cluster.txn_markers import RemoteMarkerSender
from hub.log.cluster.txn_state_log import ReplicatedTxnStateLog, TransactionPlacement
from hub.log.config import BROKER_DEFAULTS, SPECS
from hub.log.errors import InvalidConfigError
from hub.log.group import CoordinatorConfig, GroupCoordinator, TopicOffsetsLog
from hub.log.group.assignors import ASSIGNORS
from hub.log.group.consumer_heartbeat import ConsumerSettings
from hub.log.group.offsets_log import OffsetsLog
from hub.log.marker_writer import LogMarkerWriter
from hub.log.security.acl_store import AclStore
from hub.log.security.authorizer import SECURITY_PROPERTIES, Authorizer, AuthorizerSettings, authorizer_settings
from hub.log.security.contracts import AclBindings, ScramCredentialAdmin
from hub.log.security.listeners import ListenerConfig, is_security_property, listener_config
from hub.log.security.scram_credentials import ScramCredentialStore
from hub.log.store import TopicStore
from hub.log.txn.coordinator import TransactionConfig, TransactionCoordinator
from hub.log.txn.markers import MarkerDispatcher
from hub.log.txn.state_log import TopicTxnStateLog, TxnStateLog

log = logging.getLogger("hub.log.node")


@dataclass(frozen=True)
class NodeConfig:
    """Broker-level settings (Kafka's names where Kafka has one)."""

    data_dir: Path
    topic_defaults: Mapping[str, Any] = field(default_factory=dict)  # log.* / topic config defaults
    auto_create_topics: bool = True  # auto.create.topics.enable
    num_partitions: int = 1  # num.partitions
    fetch_max_bytes: int = FETCH_MAX_BYTES  # fetch.max.bytes
    retention_check_interval_ms: int = 300_000  # log.retention.check.interval.ms
    cleaner_backoff_ms: int = 15_000  # log.cleaner.backoff.ms
    socket_request_max_bytes: int = 104_857_600  # socket.request.max.bytes: a larger request closes its connection
    groups: CoordinatorConfig = field(default_factory=CoordinatorConfig)
    transactions: TransactionConfig = field(default_factory=TransactionConfig)  # transaction.* (hub.log.txn)
    cluster: ClusterSettings | None = None  # controller.quorum.voters, node.id, … (hub.log.cluster.settings)
    authorizer: AuthorizerSettings | None = None  # authorizer.class.name, super.users, … (hub.log.security)
    #: listeners, ssl.*, sasl.* … (hub.log.security.listeners); None: one PLAINTEXT listener where the node is told
    listeners: ListenerConfig | None = None


_NODE_SETTINGS: dict[str, tuple[str, type]] = {
    "auto.create.topics.enable": ("auto_create_topics", bool),
    "num.partitions": ("num_partitions", int),
    "fetch.max.bytes": ("fetch_max_bytes", int),
    "log.retention.check.interval.ms": ("retention_check_interval_ms", int),
    "log.cleaner.backoff.ms": ("cleaner_backoff_ms", int),
    "socket.request.max.bytes": ("socket_request_max_bytes", int),
}


def node_config(data_dir: Path, properties: Mapping[str, str]) -> NodeConfig:
    """A NodeConfig from Kafka broker properties (``num.partitions``, ``group.initial.rebalance.delay.ms``,
    ``log.retention.ms``…). Topic-config defaults (``log.*`` names, or the topic names themselves) are checked
    by the store when it opens; any other key is an error naming it."""
    node: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    consumer: dict[str, Any] = {}
    transactions: dict[str, int] = {}
    topic_defaults: dict[str, str] = {}
    problems: list[str] = []
    for key, raw in properties.items():
        value = raw.strip()
        try:
            if key in CLUSTER_PROPERTIES or key in SECURITY_PROPERTIES or is_security_property(key):
                continue
            if key in _NODE_SETTINGS:
                name, kind = _NODE_SETTINGS[key]
                if kind is bool:
                    if value.lower() not in ("true", "false"):
                        raise ValueError("must be true or false")
                    node[name] = value.lower() == "true"
                else:
                    node[name] = int(value)
                    if key == "socket.request.max.bytes" and node[name] < 1:
                        raise ValueError("must be at least 1")
            elif key in GROUP_SETTINGS:
                groups[GROUP_SETTINGS[key]] = int(value)
            elif key in TRANSACTION_SETTINGS:
                transactions[TRANSACTION_SETTINGS[key]] = int(value)
                if transactions[TRANSACTION_SETTINGS[key]] < 1:
                    raise ValueError("must be at least 1")
            elif key in CONSUMER_GROUP_SETTINGS:
                consumer[CONSUMER_GROUP_SETTINGS[key]] = int(value)
            elif key == "group.consumer.assignors":
                consumer["assignors"] = _assignors(value)
            elif key in BROKER_DEFAULTS or key in SPECS:
                topic_defaults[key] = value
            else:
                problems.append(f"unknown broker property {key!r}")
        except ValueError as exc:
            problems.append(f"invalid value {raw!r} for {key!r}: {exc}")
    if problems:
        raise InvalidConfigError("; ".join(problems))
    cluster = cluster_settings(properties)
    authorizer = authorizer_settings(properties)
    if cluster is not None and cluster.node_id >= MAX_NODES:
        raise InvalidConfigError(f"node.id must be below {MAX_NODES}, got {cluster.node_id}")
    groups["consumer"] = ConsumerSettings(**consumer)
    checked = listener_config(properties, ("127.0.0.1", 9092))  # checks them all; the address is serve_store's
    listeners = checked if "listeners" in properties else None
    if listeners is not None and cluster is not None:
        # the brokers reach each other on the inter-broker listener, with its protocol and credentials
        inter_broker = listeners.listener(listeners.inter_broker)
        cluster = replace(
            cluster,
            advertised=inter_broker.advertised,
            replication=replace(cluster.replication, client_security=listeners.inter_broker_client()),
        )
    return NodeConfig(
        data_dir=data_dir,
        topic_defaults=topic_defaults,
        groups=CoordinatorConfig(**groups),
        transactions=TransactionConfig(**transactions),
        cluster=cluster,
        authorizer=authorizer,
        listeners=listeners,
        **node,
    )


def _assignors(value: str) -> tuple[str, ...]:
    """``group.consumer.assignors``: names (or Kafka's class names) of the server-side assignors, the first the
    default."""
    kafka_classes = {
        "org.apache.kafka.coordinator.group.assignor.UniformAssignor": "uniform",
        "org.apache.kafka.coordinator.group.assignor.RangeAssignor": "range",
    }
    names = tuple(kafka_classes.get(item.strip(), item.strip()) for item in value.split(",") if item.strip())
    unknown = [name for name in names if name not in ASSIGNORS]
    if not names or unknown:
        raise ValueError(f"assignors must be among {', '.join(ASSIGNORS)}")
    return names


class LogNode:
    """The store's parts, wired (see the module docstring)."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.store = TopicStore(
            config.data_dir,
            defaults=config.topic_defaults,
            retention_check_interval_ms=config.retention_check_interval_ms,
        )
        self.cluster: ClusterNode | None = None
        self._marker_sender: RemoteMarkerSender | None = None
        offsets_log: OffsetsLog = TopicOffsetsLog(self.store)
        txn_log: TxnStateLog = TopicTxnStateLog(self.store, config.transactions.num_partitions)
        if config.cluster is not None:
            self.cluster = ClusterNode(
                config.cluster, self.store, on_high_watermark=lambda p: self.broker.notify_data(p)
            )
            offsets_log = ReplicatedOffsetsLog(self.cluster.replicas)
            txn_log = ReplicatedTxnStateLog(self.cluster, config.transactions)
            self.cluster.transaction_node = TransactionPlacement(self.cluster, config.transactions).transaction_node
        self.coordinator = GroupCoordinator(offsets_log, config.groups, topics=self._subscribable_topics)
        self.marker_writer = LogMarkerWriter(self.store, self.cluster.replicas if self.cluster else None)
        self.transactions = TransactionCoordinator(
            txn_log,
            lambda: self.broker.init_producer_id()[0],
            self._marker_dispatcher(config.transactions),
            config.transactions,
        )
        # Told of every transaction marker committed to a partition this node leads: for __consumer_offsets it ends
        # the transaction's pending offsets (TxnOffsetCommit) in the group coordinator.
        self.marker_writer.add_listener(self.coordinator.on_marker)
        self.coordinator.transaction_verifier = self.transactions.verify_partitions
        self.cleaner = LogCleaner(self.store, backoff_ms=config.cleaner_backoff_ms)
        self.broker = Broker(
            self.store,
            coordinator=self.coordinator,
            transactions=self.transactions,
            auto_create_topics=config.auto_create_topics,
            num_partitions=config.num_partitions,
            fetch_max_bytes=config.fetch_max_bytes,
        )
        if self.cluster is not None:
            self.broker.cluster = self.cluster
            self.broker.add_append_listener(self.cluster.replicas.appended)
            self.cluster.follow_coordinator(self.coordinator, self.transactions)
        # The SASL authenticator and the SCRAM admin APIs share this store; the ACL APIs and the listener's
        # access rules share the authorizer (None: no authorizer configured, every request allowed).
        # In a cluster both follow the replicated metadata, so every node answers the same.
        self.scram_credentials: ScramCredentialAdmin
        acls: AclBindings
        if self.cluster is None:
            self.scram_credentials = ScramCredentialStore.in_directory(config.data_dir)
            acls = AclStore.in_directory(config.data_dir)
        else:
            self.scram_credentials = ReplicatedScramCredentials(self.cluster.quorum)
            acls = ReplicatedAclStore(self.cluster.quorum)
        self.authorizer: Authorizer | None = None
        if config.authorizer is not None:
            self.authorizer = Authorizer(config.authorizer, acls)
        self._opened = False

    def _marker_dispatcher(self, settings: TransactionConfig) -> MarkerDispatcher:
        """Markers go to this node's MarkerWriter; on a cluster, to the leader of each partition (WriteTxnMarkers)."""
        if self.cluster is None:
            return MarkerDispatcher(
                self.marker_writer, exists=self._partition_exists, retry_backoff_ms=settings.marker_retry_backoff_ms
            )
        placement = TransactionPlacement(self.cluster, settings)
        self._marker_sender = RemoteMarkerSender(self.cluster)
        return MarkerDispatcher(
            self.marker_writer,
            node_id=self.cluster.node_id,
            leader_of=placement.leader_id,
            exists=placement.exists,
            remote=self._marker_sender,
            retry_backoff_ms=settings.marker_retry_backoff_ms,
        )

    def _partition_exists(self, topic: str, partition: int) -> bool:
        info = self.store.topics().get(topic)
        return info is not None and 0 <= partition < info.partitions

    def _subscribable_topics(self) -> dict[str, tuple[str, int]]:
        """The topics a consumer group may subscribe to: id and partition count, internal ones left out."""
        return {
            name: (info.topic_id, info.partitions) for name, info in self.store.topics().items() if not info.internal
        }

    def open(self) -> None:
        self.store.open()
        try:
            self.coordinator.start(coordinator=self.cluster is None)
            self.transactions.start(coordinator=self.cluster is None)
            self.cleaner.start()
            self.broker.open()
        except BaseException:
            self.cleaner.close()
            self.transactions.close()
            self.marker_writer.close()
            self.coordinator.close()
            self.store.close()
            raise
        self._opened = True
        log.info("store node open on %s", self.config.data_dir)

    def join_cluster(self, host: str, port: int) -> None:
        """Start this node's part of its cluster, reachable at ``host:port`` (once its Kafka listener is up)."""
        if self.cluster is not None:
            self.cluster.start(host, port)
            local = ScramCredentialStore.in_directory(self.config.data_dir)
            assert isinstance(self.scram_credentials, ReplicatedScramCredentials)
            imported = import_local_credentials(local, self.scram_credentials)
            if imported:
                log.info("SCRAM credentials of %s moved from the data directory into the cluster", ", ".join(imported))

    def close(self) -> None:
        """Stop accepting work, stop the background threads, flush and release the data directory."""
        if not self._opened:
            return
        self._opened = False
        if self.cluster is not None:
            self.cluster.close()
        self.broker.close()
        self.cleaner.close()
        self.transactions.close()
        self.marker_writer.close()
        if self._marker_sender is not None:
            self._marker_sender.close()
        self.coordinator.close()
        self.store.close()
        log.info("store node closed")

    def __enter__(self) -> LogNode:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
