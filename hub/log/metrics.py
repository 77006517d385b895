"""The store's metrics in Prometheus' format, named after Kafka's JMX metrics as Prometheus' JMX exporter names
them (``kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec,topic=T`` →
``kafka_server_brokertopicmetrics_bytesin_total{topic="T"}``); docs/metrics.md maps each one.

``RequestStats`` counts the Kafka listener's requests and their time per API (one dictionary update per request);
partitions count their bytes and messages appended, bytes read and fsync time per append, read or fsync
(``PartitionLog``). ``StoreCollector`` reads all of it, with the partitions' sizes and offsets and the consumer
groups' committed offsets, only when scraped.

Thread-safety: ``RequestStats.observe`` runs on the listener's event loop thread only; ``collect`` runs on the
scraping thread and reads ints and dict copies (atomic under the interpreter lock) and asks the group
coordinator for committed offsets under its lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hub.log.broker import Broker
from hub.log.cluster.health import ClusterCounts, LeaderCounts, cluster_counts, leader_counts
from hub.log.protocol.registry import API_SPECS

log = logging.getLogger("hub.log.metrics")


class RequestStats:
    """Requests served and their total time, per API key (see the module docstring)."""

    def __init__(self) -> None:
        self.requests: dict[int, int] = {}
        self.seconds: dict[int, float] = {}

    def observe(self, api_key: int, seconds: float) -> None:
        self.requests[api_key] = self.requests.get(api_key, 0) + 1
        self.seconds[api_key] = self.seconds.get(api_key, 0.0) + seconds


class StoreCollector(Collector):
    """The metrics of the store behind ``broker``; with ``requests`` and ``connections`` (a callable counting
    open connections), the Kafka listener's too."""

    def __init__(
        self,
        broker: Broker,
        *,
        requests: RequestStats | None = None,
        connections: Callable[[], int] | None = None,
    ) -> None:
        self._broker = broker
        self._requests = requests
        self._connections = connections

    def collect(self) -> Iterator[Any]:
        yield from self._partitions()
        yield from self._group_lag()
        if self._requests is not None:
            yield from self._request_metrics(self._requests)
        if self._connections is not None:
            yield GaugeMetricFamily(
                "kafka_server_socketservermetrics_connection_count",
                "Open connections to the Kafka listener.",
                value=self._connections(),
            )

    def _partitions(self) -> Iterator[Any]:
        partitions = list(self._broker.store.partitions())
        size = GaugeMetricFamily("kafka_log_log_size", "Bytes of the partition's log.", labels=["topic", "partition"])
        end = GaugeMetricFamily(
            "kafka_log_log_logendoffset", "The partition's log end offset.", labels=["topic", "partition"]
        )
        start = GaugeMetricFamily(
            "kafka_log_log_logstartoffset", "The partition's log start offset.", labels=["topic", "partition"]
        )
        bytes_in: dict[str, int] = {}
        messages_in: dict[str, int] = {}
        bytes_out: dict[str, int] = {}
        fsyncs = 0
        fsync_seconds = 0.0
        for partition in partitions:
            labels = [partition.topic, str(partition.partition)]
            size.add_metric(labels, partition.size_bytes)
            end.add_metric(labels, partition.log_end_offset)
            start.add_metric(labels, partition.log_start_offset)
            topic = partition.topic
            bytes_in[topic] = bytes_in.get(topic, 0) + partition.bytes_in
            messages_in[topic] = messages_in.get(topic, 0) + partition.messages_in
            bytes_out[topic] = bytes_out.get(topic, 0) + partition.bytes_out
            fsyncs += partition.fsync_count
            fsync_seconds += partition.fsync_seconds
        yield GaugeMetricFamily(
            "kafka_server_replicamanager_partitioncount", "Partitions on this node.", value=len(partitions)
        )
        yield from self._replication(len(partitions), len({partition.topic for partition in partitions}))
        yield size
        yield end
        yield start
        yield _per_topic("kafka_server_brokertopicmetrics_bytesin", "Bytes appended to the topic.", bytes_in)
        yield _per_topic("kafka_server_brokertopicmetrics_messagesin", "Records appended to the topic.", messages_in)
        yield _per_topic("kafka_server_brokertopicmetrics_bytesout", "Bytes read from the topic.", bytes_out)
        yield CounterMetricFamily("kafka_log_logflushstats_logflush", "fsyncs of log segments.", value=fsyncs)
        yield CounterMetricFamily(
            "kafka_log_logflushstats_logflush_seconds", "Time spent in fsyncs of log segments.", value=fsync_seconds
        )

    def _replication(self, hosted: int, topics: int) -> Iterator[Any]:
        """Kafka's ReplicaManager and controller gauges (hub.log.cluster.health). A single node holds the only
        replica of every partition and leads it: none is under-replicated or offline while it serves, and each is
        at its effective min ISR (min.insync.replicas capped by the one replica)."""
        cluster = self._broker.cluster
        if cluster is None:
            leaders = LeaderCounts(leaders=hosted, at_min_isr=hosted)
            counts = ClusterCounts(active_brokers=1, topics=topics, partitions=hosted)
            controllers = 1
            shrinks = expands = 0
        else:
            leaders = leader_counts(cluster.replicas.leaderships())
            counts = cluster_counts(cluster.metadata())
            controllers = 1 if cluster.controller.active else 0
            shrinks, expands = cluster.replicas.isr_shrinks, cluster.replicas.isr_expands
        for name, documentation, value in (
            ("replicamanager_leadercount", "Partitions this node leads.", leaders.leaders),
            (
                "replicamanager_underreplicatedpartitions",
                "Partitions this node leads with fewer in-sync replicas than replicas.",
                leaders.under_replicated,
            ),
            (
                "replicamanager_underminisrpartitioncount",
                "Partitions this node leads with fewer in-sync replicas than min.insync.replicas.",
                leaders.under_min_isr,
            ),
            (
                "replicamanager_atminisrpartitioncount",
                "Partitions this node leads with exactly min.insync.replicas in-sync replicas.",
                leaders.at_min_isr,
            ),
            (
                "replicamanager_reassigningpartitions",
                "Partitions this node leads that are being reassigned.",
                leaders.reassigning,
            ),
        ):
            yield GaugeMetricFamily(f"kafka_server_{name}", documentation, value=value)
        yield CounterMetricFamily(
            "kafka_server_replicamanager_isrshrinks", "ISR shrinks of partitions this node leads.", value=shrinks
        )
        yield CounterMetricFamily(
            "kafka_server_replicamanager_isrexpands", "ISR expansions of partitions this node leads.", value=expands
        )
        for name, documentation, value in (
            ("offlinepartitionscount", "Partitions without a leader.", counts.offline_partitions),
            (
                "preferredreplicaimbalancecount",
                "Partitions led by another replica than their preferred one.",
                counts.preferred_replica_imbalance,
            ),
            ("fencedbrokercount", "Registered brokers the controller fenced.", counts.fenced_brokers),
            ("activebrokercount", "Registered brokers not fenced.", counts.active_brokers),
            ("globaltopiccount", "Topics in the cluster.", counts.topics),
            ("globalpartitioncount", "Partitions in the cluster.", counts.partitions),
            ("activecontrollercount", "1 on the node whose controller is the active one.", controllers),
        ):
            yield GaugeMetricFamily(f"kafka_controller_kafkacontroller_{name}", documentation, value=value)

    def _group_lag(self) -> Iterator[Any]:
        lag = GaugeMetricFamily(
            "kafka_consumergroup_lag",
            "Records between a group's committed offset and the partition's end.",
            labels=["consumergroup", "topic", "partition"],
        )
        coordinator = self._broker.coordinator
        groups: list[str] = []
        if coordinator is not None:
            try:
                groups = [group.group_id for group in coordinator.list_groups()]
            except Exception as exc:  # not coordinator (yet, or any more): nothing to report from here
                log.debug("no groups: %s", exc)
        store = self._broker.store
        for group in sorted(groups):
            try:
                committed = coordinator.fetch_offsets(group) if coordinator is not None else {}
            except Exception as exc:
                log.debug("no offsets of %s: %s", group, exc)
                continue
            for key, offset in sorted(committed.items(), key=lambda item: (item[0][0], item[0][1])):
                if offset is None:
                    continue
                topic, partition = key[0], key[1]
                try:
                    end_offset = store.partition(topic, partition).high_watermark
                except Exception:  # a deleted topic's offsets linger until the group is gone
                    continue
                lag.add_metric([group, topic, str(partition)], max(0, end_offset - offset.offset))
        yield lag

    @staticmethod
    def _request_metrics(stats: RequestStats) -> Iterator[Any]:
        requests = CounterMetricFamily(
            "kafka_network_requestmetrics_requests", "Requests served, per API.", labels=["request"]
        )
        seconds = CounterMetricFamily(
            "kafka_network_requestmetrics_totaltime_seconds",
            "Time spent serving requests, per API.",
            labels=["request"],
        )
        counts, times = dict(stats.requests), dict(stats.seconds)
        for api_key, count in sorted(counts.items()):
            spec = API_SPECS.get(api_key)
            name = spec.name if spec is not None else str(api_key)
            requests.add_metric([name], count)
            seconds.add_metric([name], times.get(api_key, 0.0))
        yield requests
        yield seconds


def _per_topic(name: str, documentation: str, values: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["topic"])
    for topic, value in sorted(values.items()):
        family.add_metric([topic], value)
    return family
