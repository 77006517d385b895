"""ReplicaManager: this node's part in every partition, as the cluster metadata assigns it.

It listens to the metadata quorum. For each change it mirrors topics into the local TopicStore (creating,
growing and deleting them with the metadata's ids and configs), then makes this node the leader of the partitions
the metadata says it leads (a PartitionLeadership each) and a follower of those it only replicates (a
ReplicaFetcher per leader broker). A leader asks the quorum to change its ISR (Kafka's AlterPartition): to add a
follower that caught up (if its broker is registered and not fenced), and, from the maintenance thread, to remove
one that lagged for ``replica.lag.time.max.ms``.

The Kafka listener asks it who may do what: ``leadership`` for produce, consumer fetches and offsets (raising
NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH), ``follower_fetched`` when a follower fetched.

Thread-safe: metadata changes arrive on the quorum's dispatcher thread, requests on the listener's threads; the
manager's maps are guarded by one lock, each leadership by its own. Metadata is applied under that lock and never
goes back: a state older than the one applied (``offset``) is ignored, wherever it comes from — the dispatcher,
``activate`` with a snapshot read earlier, or the re-application when the node is back in touch — so the latest
state always wins, as Kafka's ReplicaManager applies its metadata deltas in order.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from hub.log.cluster.leadership import PartitionLeadership
from hub.log.cluster.metadata import ClusterMetadata, PartitionState, TopicState
from hub.log.cluster.replica_fetcher import FetcherSettings, ReplicaFetcher
from hub.log.errors import LogError, NotLeaderOrFollowerError, UnknownTopicOrPartitionError
from hub.log.partition import PartitionLog
from hub.log.security.client import client_security
from hub.log.store import TopicStore

log = logging.getLogger("hub.log.cluster.replicas")


class PartitionChanger(Protocol):
    """What the manager needs of the quorum: Kafka's AlterPartition."""

    def alter_partition(
        self, topic: str, partition: int, leader_id: int, leader_epoch: int, partition_epoch: int, new_isr: list[int]
    ) -> PartitionState: ...


@dataclass(frozen=True)
class ReplicationSettings:
    """Kafka's replication settings of a broker."""

    node_id: int
    replica_lag_time_max_ms: int = 30_000
    replica_fetch_wait_max_ms: int = 500
    replica_fetch_max_bytes: int = 1 << 20
    replica_socket_timeout_ms: int = 30_000
    #: How followers connect to leaders: the inter-broker listener's client settings (librdkafka's names).
    client_security: Mapping[str, str] = field(default_factory=dict, repr=False)


class ReplicaManager:
    """See the module docstring. ``on_high_watermark`` is told when a partition's high watermark moved (the
    broker wakes the consumers' long polls with it)."""

    def __init__(
        self,
        store: TopicStore,
        quorum: PartitionChanger,
        settings: ReplicationSettings,
        *,
        on_high_watermark: Callable[[PartitionLog], None] = lambda _: None,
        in_touch: Callable[[], bool] = lambda: True,
    ) -> None:
        self.store = store
        self.quorum = quorum
        self.settings = settings
        self.node_id = settings.node_id
        self._security = client_security(settings.client_security)
        self._on_high_watermark = on_high_watermark
        self._in_touch = in_touch
        #: Told (topic, partition, leader epoch) when this node starts leading a partition, (…, None) when it
        #: stops; called under the manager's lock, so it must only hand the news over.
        self.on_leadership: Callable[[str, int, int | None], None] = lambda topic, partition, epoch: None
        self.out_of_touch = False
        #: ISR changes of partitions this node leads that the quorum accepted (Kafka's IsrShrinksPerSec and
        #: IsrExpandsPerSec); bumped on the ISR-change thread only.
        self.isr_shrinks = 0
        self.isr_expands = 0
        self._lock = threading.RLock()
        self._leaders: dict[tuple[str, int], PartitionLeadership] = {}
        self._followed: dict[tuple[str, int], int] = {}  # partition -> leader id
        self._fetchers: dict[tuple[int, str, int], ReplicaFetcher] = {}
        self._isr_changes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-isr-change")
        self._pending_isr: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._maintenance = threading.Thread(target=self._maintain, name="hub-isr-maintenance", daemon=True)
        self.metadata = ClusterMetadata()
        self._newest = self.metadata  # the newest state the quorum passed before ``activate``
        self._active_from: int | None = None
        self._touched = False  # in touch with the quorum at least once since it started

    def start(self) -> None:
        self._maintenance.start()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            fetchers = list(self._fetchers.values())
            self._fetchers.clear()
            for leadership in self._leaders.values():
                leadership.resign()
            self._leaders.clear()
        for fetcher in fetchers:
            fetcher.close()
        self._isr_changes.shutdown(wait=False, cancel_futures=True)
        if self._maintenance.ident is not None:  # started
            self._maintenance.join(timeout=5)

    # --- metadata ----------------------------------------------------------------------------------------------

    def activate(self, metadata: ClusterMetadata) -> None:
        """Start acting on the metadata, from ``metadata`` on: a restarting node's quorum member first replays
        its log, and the states it passes through are history (acting on them would make it lead, or delete,
        what it no longer leads or holds). The caller knows the node caught up with the quorum; a newer state the
        quorum passed meanwhile (ignored then, as not yet active) is the one applied."""
        with self._lock:
            self._active_from = metadata.offset
            newest = metadata if metadata.offset >= self._newest.offset else self._newest
            self._apply(newest)
        log.info("node %d: caught up with the cluster metadata at offset %d", self.node_id, newest.offset)

    def on_metadata(self, old: ClusterMetadata, new: ClusterMetadata) -> None:
        """Apply a metadata change (the quorum's listener); ignored until ``activate``, and when older than the
        state already applied."""
        with self._lock:
            if self._active_from is None:
                if new.offset > self._newest.offset:
                    self._newest = new
                return
            if new.offset >= self._active_from:
                self._apply(new)

    def _apply(self, new: ClusterMetadata) -> None:
        """Act on ``new``, unless a newer state was applied already (caller holds the lock)."""
        if new.offset < self.metadata.offset:
            log.debug("node %d: skipping metadata %d, older than %d", self.node_id, new.offset, self.metadata.offset)
            return
        self.metadata = new
        if new.broker_configs != self.store.dynamic_configs:
            self.store.set_dynamic_configs(new.broker_configs, node_id=self.node_id, persist=False)
        self._sync_topics(new)
        for topic in new.topics.values():
            for index, state in enumerate(topic.partitions):
                self._apply_partition(topic, index, state)
        self._drop_unassigned(new)

    def _sync_topics(self, metadata: ClusterMetadata) -> None:
        local = self.store.topics()
        for name, info in local.items():
            wanted = metadata.topics.get(name)
            if wanted is None or wanted.topic_id != info.topic_id:
                self._forget_topic(name, info.partitions)
                log.info("deleting local replicas of topic %s (gone from the cluster metadata)", name)
                self.store.delete_topic(name)
        local = self.store.topics()
        for name, topic in metadata.topics.items():
            mirrored = local.get(name)
            if mirrored is None:
                self.store.create_topic(name, len(topic.partitions), topic.configs, topic_id=topic.topic_id)
            else:
                if len(topic.partitions) > mirrored.partitions:
                    self.store.add_partitions(name, len(topic.partitions))
                if topic.configs != mirrored.config.overrides_as_strings():
                    self.store.replace_topic_config(name, topic.configs)

    def _forget_topic(self, name: str, partitions: int) -> None:
        for index in range(partitions):
            self._stop_leading((name, index))
            self._stop_following((name, index))

    def _apply_partition(self, topic: TopicState, index: int, state: PartitionState) -> None:
        key = (topic.name, index)
        hosted = self.node_id in state.replicas or self.node_id in state.adding
        if state.leader == self.node_id and self.out_of_touch:
            self._stop_following(key)  # leads again once back in touch (``_check_touch`` re-applies the metadata)
            self._stop_leading(key)
            return
        if state.leader == self.node_id:
            self._stop_following(key)
            current = self._leaders.get(key)
            if current is not None and current.epoch == state.leader_epoch:
                current.update(state)
                return
            if current is not None:
                current.resign()
            log_ = self.store.partition(topic.name, index)
            self._leaders[key] = PartitionLeadership(
                self.node_id, log_, state, min_insync=lambda: log_.config.get("min.insync.replicas")
            )
            self.on_leadership(topic.name, index, state.leader_epoch)
            log.info(
                "%s-%d: leader in epoch %d, ISR %s, log end %d",
                topic.name,
                index,
                state.leader_epoch,
                list(state.isr),
                log_.log_end_offset,
            )
            return
        self._stop_leading(key)
        if not hosted or state.leader < 0:
            self._stop_following(key)
            return
        self._follow(key, state)

    def _follow(self, key: tuple[str, int], state: PartitionState) -> None:
        leader = self.metadata.brokers.get(state.leader)
        if leader is None:
            self._stop_following(key)
            return
        fetcher_key = (leader.node_id, leader.host, leader.port)
        previous = self._followed.get(key)
        if previous is not None and previous != state.leader:
            self._stop_following(key)
        fetcher = self._fetchers.get(fetcher_key)
        if fetcher is None:
            for stale_key, stale in list(self._fetchers.items()):
                if stale_key[0] == leader.node_id:  # the leader moved to another address: start over there
                    for partition in stale.partitions():
                        self._followed.pop(partition, None)
                    del self._fetchers[stale_key]
                    stale.close()
            fetcher = ReplicaFetcher(
                leader.node_id,
                leader.host,
                leader.port,
                FetcherSettings(
                    self.node_id,
                    self.settings.replica_fetch_wait_max_ms,
                    self.settings.replica_fetch_max_bytes,
                    self.settings.replica_socket_timeout_ms,
                    self._security,
                ),
            )
            self._fetchers[fetcher_key] = fetcher
            fetcher.start()
        log_ = self.store.partition(*key)
        if self._followed.get(key) != state.leader:
            log.info("%s-%d: follower of node %d in epoch %d", key[0], key[1], state.leader, state.leader_epoch)
        fetcher.add(log_, state.leader_epoch)
        self._followed[key] = state.leader

    def _stop_leading(self, key: tuple[str, int]) -> None:
        leadership = self._leaders.pop(key, None)
        if leadership is not None:
            leadership.resign()
            self.on_leadership(key[0], key[1], None)

    def _stop_following(self, key: tuple[str, int]) -> None:
        leader = self._followed.pop(key, None)
        if leader is None:
            return
        for fetcher_key, fetcher in self._fetchers.items():
            if fetcher_key[0] == leader:
                fetcher.remove(*key)

    def _drop_unassigned(self, metadata: ClusterMetadata) -> None:
        for key in [key for key in self._leaders if key[0] not in metadata.topics]:
            self._stop_leading(key)
        for key in [key for key in self._followed if key[0] not in metadata.topics]:
            self._stop_following(key)

    # --- requests ----------------------------------------------------------------------------------------------

    def leadership(self, topic: str, partition: int) -> PartitionLeadership:
        """This node's leadership of the partition; NotLeaderOrFollowerError when another node leads it, or
        while this node is out of touch with the quorum."""
        if self.out_of_touch:
            raise NotLeaderOrFollowerError(f"{topic}-{partition}: node {self.node_id} lost touch with the quorum")
        with self._lock:
            leadership = self._leaders.get((topic, partition))
            if leadership is not None:
                return leadership
            known = self.metadata.topics.get(topic)
        if known is None or partition >= len(known.partitions):
            raise UnknownTopicOrPartitionError(f"unknown topic or partition {topic}-{partition}")
        raise NotLeaderOrFollowerError(f"{topic}-{partition}: node {self.node_id} is not its leader")

    def leaderships(self) -> list[PartitionLeadership]:
        """The partitions this node leads now (a copy; for the metrics)."""
        with self._lock:
            return list(self._leaders.values())

    def follower_fetched(self, topic: str, partition: int, replica: int, offset: int, epoch: int) -> None:
        """A follower's fetch from ``offset`` in leader epoch ``epoch``: count its progress, maybe grow the ISR."""
        leadership = self.leadership(topic, partition)
        leadership.check_epoch(epoch)
        moved_before = leadership.log.high_watermark
        # Only a live broker may join the ISR (Kafka's isReplicaIsrEligible): the controller refuses a fenced one,
        # which is what a node in controlled shutdown is while it still fetches.
        if leadership.record_fetch(replica, offset) and self.metadata.is_live(replica):
            self._request_isr_change(leadership, add=replica)
        if leadership.log.high_watermark != moved_before:
            self._on_high_watermark(leadership.log)

    def appended(self, log_: PartitionLog) -> None:
        """A local append (the store's listener): a leader whose ISR is itself moves its high watermark now."""
        leadership = self._leaders.get((log_.topic, log_.partition))
        if leadership is not None and leadership.maybe_advance():
            self._on_high_watermark(log_)

    # --- ISR changes -------------------------------------------------------------------------------------------

    def _request_isr_change(
        self, leadership: PartitionLeadership, *, add: int = -1, remove: tuple[int, ...] = ()
    ) -> None:
        key = (leadership.log.topic, leadership.log.partition)
        with self._lock:
            if key in self._pending_isr:
                return
            self._pending_isr.add(key)
        state = leadership.state
        isr = [replica for replica in state.isr if replica not in remove]
        if add >= 0 and add not in isr:
            isr.append(add)
        self._isr_changes.submit(self._alter_isr, key, leadership, state, sorted(isr))

    def _alter_isr(
        self, key: tuple[str, int], leadership: PartitionLeadership, state: PartitionState, isr: list[int]
    ) -> None:
        try:
            if leadership.resigned:
                return
            log.info("%s-%d: changing ISR from %s to %s", key[0], key[1], list(state.isr), isr)
            self.quorum.alter_partition(key[0], key[1], self.node_id, state.leader_epoch, state.partition_epoch, isr)
            if len(isr) < len(state.isr):
                self.isr_shrinks += 1
            elif len(isr) > len(state.isr):
                self.isr_expands += 1
        except LogError as exc:
            log.info("%s-%d: ISR change to %s refused: %s", key[0], key[1], isr, exc)
        finally:
            with self._lock:
                self._pending_isr.discard(key)

    def _maintain(self) -> None:
        shrink_interval = min(self.settings.replica_lag_time_max_ms / 2000, 5.0)
        next_shrink = time.monotonic() + shrink_interval
        while not self._stop.wait(0.1):
            self._check_touch()
            if time.monotonic() < next_shrink:
                continue
            next_shrink = time.monotonic() + shrink_interval
            with self._lock:
                leaders = list(self._leaders.values())
            for leadership in leaders:
                lagging = leadership.lagging(self.settings.replica_lag_time_max_ms)
                if lagging:
                    self._request_isr_change(leadership, remove=tuple(lagging))

    def _check_touch(self) -> None:
        """Stop leading while out of touch with the quorum (its waiting acks=all writes fail with
        NOT_LEADER_OR_FOLLOWER), and take no leadership from metadata applied meanwhile; lead again per the
        metadata once back."""
        if self._active_from is None:
            return
        in_touch = self._in_touch()
        if in_touch:
            self._touched = True
        elif not self._touched:
            return  # starting: its first heartbeat has not gone through yet, which is not losing touch
        if not in_touch and not self.out_of_touch:
            with self._lock:  # no metadata applied meanwhile makes it lead again (``_apply_partition``)
                self.out_of_touch = True
                leading = list(self._leaders)
                for key in leading:
                    self._stop_leading(key)
            if leading:
                log.warning(
                    "node %d lost touch with the metadata quorum: no longer leading %d partition(s) until it is back",
                    self.node_id,
                    len(leading),
                )
        elif in_touch and self.out_of_touch:
            log.info("node %d is back in touch with the metadata quorum", self.node_id)
            with self._lock:  # re-applied under the lock: a newer state applied meanwhile is not undone
                self.out_of_touch = False
                self._apply(self.metadata)
