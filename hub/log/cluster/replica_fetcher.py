"""ReplicaFetcher: the thread that keeps this node's follower replicas of one leader's partitions up to date.

For each partition it first repairs a divergent tail (KIP-101/279): it asks the leader, with OffsetForLeaderEpoch,
where its own latest leader epoch ends on the leader, and truncates there; a leader that has no such epoch left
makes it truncate to its high watermark, as Kafka falls back. Then it fetches with its node id as ``replica_id``
(so the leader counts its progress and reads beyond the high watermark), appends the leader's batches as they are
and takes the leader's high watermark (never beyond its own log end). A log that ends before the leader's log
start restarts empty at the leader's log start.

Errors never stop the thread: a connection failure retries with a back-off, a NOT_LEADER_OR_FOLLOWER or epoch
error waits for the metadata to name the new leader (which moves the partition to another fetcher).

Invariant (Kafka's ``partitionMapLock``): the log is only changed (appended to, truncated, restarted, its high
watermark or log start moved) under the fetcher's lock, and only for the partition as it is still followed — the
same ``FollowedPartition`` (same log, same leader epoch) and, for a fetch, the log still ending at the offset
fetched from. A leader's answer to a request sent before the partition was removed or re-added in another epoch
is dropped. So once ``remove`` (or ``close``) returns, this fetcher no longer touches that log: the node may lead
it, or another fetcher follow it.

Thread-safe: ``add``, ``remove`` and ``close`` may be called from any thread.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from hub.log.client.errors import ClientError
from hub.log.client.kafka.connection import KafkaConnection
from hub.log.error_codes import ErrorCode
from hub.log.errors import LogError, UnexpectedAppendOffsetError
from hub.log.partition import PartitionLog
from hub.log.security.client import PLAINTEXT, ClientSecurity

log = logging.getLogger("hub.log.cluster.fetcher")

FETCH_VERSION = 11
OFFSET_FOR_LEADER_EPOCH_VERSION = 3
LIST_OFFSETS_VERSION = 5
_EARLIEST = -2
_MAX_BACKOFF_S = 1.0


@dataclass
class FollowedPartition:
    """One partition this node follows: its log and the leader epoch it follows it in."""

    log: PartitionLog
    leader_epoch: int
    truncated: bool = False
    failed_until: float = 0.0


@dataclass(frozen=True)
class FetcherSettings:
    node_id: int
    wait_max_ms: int = 500
    max_bytes: int = 1 << 20
    socket_timeout_ms: int = 30_000
    security: ClientSecurity = field(default=PLAINTEXT, repr=False)  # TLS and SASL to the leader's listener


class ReplicaFetcher:
    """Fetches from broker ``leader_id`` at ``host:port`` (see the module docstring)."""

    def __init__(self, leader_id: int, host: str, port: int, settings: FetcherSettings) -> None:
        self.leader_id = leader_id
        self.address = (host, port)
        self.settings = settings
        self._partitions: dict[tuple[str, int], FollowedPartition] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._connection = KafkaConnection(
            host,
            port,
            client_id=f"replica-fetcher-{settings.node_id}",
            timeout_s=settings.socket_timeout_ms / 1000 + settings.wait_max_ms / 1000,
            security=settings.security,
        )
        self._thread = threading.Thread(target=self._run, name=f"hub-replica-fetcher-{leader_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._partitions.clear()  # an answer still arriving changes no log (even if the join times out)
        self._wake.set()
        self._connection.close()
        self._thread.join(timeout=10)

    def add(self, log_: PartitionLog, leader_epoch: int) -> None:
        with self._lock:
            key = (log_.topic, log_.partition)
            current = self._partitions.get(key)
            if current is None or current.leader_epoch != leader_epoch or current.log is not log_:
                self._partitions[key] = FollowedPartition(log_, leader_epoch)
        self._wake.set()

    def remove(self, topic: str, partition: int) -> None:
        """Stop following the partition; returns once no change of its log by this fetcher is under way, and
        none follows."""
        with self._lock:
            self._partitions.pop((topic, partition), None)

    def _followed(self, partition: FollowedPartition) -> bool:
        """Whether ``partition`` is still followed as it was when its request was sent (caller holds the lock)."""
        return self._partitions.get((partition.log.topic, partition.log.partition)) is partition

    def partitions(self) -> list[tuple[str, int]]:
        with self._lock:
            return list(self._partitions)

    # --- the thread --------------------------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            with self._lock:
                followed = list(self._partitions.values())
            if not followed:
                self._wake.wait(1.0)
                self._wake.clear()
                continue
            try:
                for partition in followed:
                    if not partition.truncated:
                        self._truncate(partition)
                self._fetch([partition for partition in followed if partition.truncated])
                backoff = 0.05
            except (ClientError, LogError, OSError) as exc:
                if self._stop.is_set():
                    return
                level = logging.INFO if backoff == 0.05 else logging.DEBUG  # once per outage, not per retry
                log.log(level, "fetch from node %d at %s:%d failed: %s", self.leader_id, *self.address, exc)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _truncate(self, partition: FollowedPartition) -> None:
        log_ = partition.log
        epoch = log_.latest_epoch()
        if epoch < 0:
            partition.truncated = True
            return
        answer = self._ask(partition, 23, OFFSET_FOR_LEADER_EPOCH_VERSION, ("topic", "partition"), leader_epoch=epoch)
        if answer is None:
            return
        leader_epoch, leader_end = answer["leader_epoch"], answer["end_offset"]
        with self._lock:
            if not self._followed(partition) or log_.latest_epoch() != epoch:
                return  # moved on while the leader answered: the answer is about a log that is no longer ours
            if leader_end < 0:
                target = log_.high_watermark
            elif leader_epoch == epoch:
                target = leader_end
            else:
                target = min(leader_end, log_.end_offset_for_epoch(leader_epoch)[1])
            if target < log_.log_end_offset:
                log.info(
                    "%s: truncating from %d to %d (leader %d, epoch %d)",
                    log_.name,
                    log_.log_end_offset,
                    target,
                    self.leader_id,
                    partition.leader_epoch,
                )
                log_.truncate_to(max(target, log_.log_start_offset))
            partition.truncated = True

    def _fetch(self, followed: list[FollowedPartition]) -> None:
        if not followed:
            self._stop.wait(0.1)
            return
        topics: dict[str, list[dict[str, int]]] = {}
        fetch_offsets: dict[tuple[str, int], int] = {}
        for partition in followed:
            fetch_offset = partition.log.log_end_offset
            fetch_offsets[(partition.log.topic, partition.log.partition)] = fetch_offset
            topics.setdefault(partition.log.topic, []).append(
                {
                    "partition": partition.log.partition,
                    "current_leader_epoch": partition.leader_epoch,
                    "fetch_offset": fetch_offset,
                    "log_start_offset": partition.log.log_start_offset,
                    "partition_max_bytes": self.settings.max_bytes,
                }
            )
        response = self._connection.request(
            1,
            FETCH_VERSION,
            {
                "replica_id": self.settings.node_id,
                "max_wait_ms": self.settings.wait_max_ms,
                "min_bytes": 1,
                "max_bytes": self.settings.max_bytes,
                "isolation_level": 0,
                "session_id": 0,
                "session_epoch": -1,
                "topics": [{"topic": name, "partitions": partitions} for name, partitions in topics.items()],
                "forgotten_topics_data": [],
                "rack_id": "",
            },
        )
        by_key = {(partition.log.topic, partition.log.partition): partition for partition in followed}
        for topic in response["responses"]:
            for answer in topic["partitions"]:
                key = (topic["topic"], answer["partition_index"])
                found = by_key.get(key)
                if found is None:
                    continue
                code = ErrorCode(int(answer["error_code"]))
                if code == ErrorCode.OFFSET_OUT_OF_RANGE:
                    self._reset_out_of_range(found)
                elif code != ErrorCode.NONE:
                    self._not_ready(found, code)
                else:
                    with self._lock:
                        # As Kafka's fetcher: only for the partition still followed in the same epoch, from the
                        # same offset (removed, re-added or truncated meanwhile: the answer is stale).
                        if self._followed(found) and found.truncated and found.log.log_end_offset == fetch_offsets[key]:
                            self._apply(found, answer)

    def _apply(self, partition: FollowedPartition, answer: dict[str, object]) -> None:
        """Append a fetched answer's records and take its high watermark and log start (caller holds the lock)."""
        log_ = partition.log
        records = answer["records"]
        if records:
            try:
                log_.append_replicated(records)  # type: ignore[arg-type]
            except UnexpectedAppendOffsetError as exc:
                if log_.log_end_offset != log_.log_start_offset:
                    raise
                # An empty log restarted at the leader's log start, inside a batch: start at the batch (as
                # Kafka's fetcher does), then keep the leader's log start.
                start = log_.log_start_offset
                log_.truncate_fully_and_start_at(exc.first_offset)
                log_.append_replicated(records)  # type: ignore[arg-type]
                log_.delete_records_before(start)
        log_.update_high_watermark(int(answer["high_watermark"]))  # type: ignore[call-overload]
        # The leader's log start moves with DeleteRecords and retention; a follower's follows it (as Kafka's).
        log_.follow_log_start(int(answer["log_start_offset"]))  # type: ignore[call-overload]

    def _reset_out_of_range(self, partition: FollowedPartition) -> None:
        log_ = partition.log
        answer = self._ask(
            partition, 2, LIST_OFFSETS_VERSION, ("name", "partition_index"), timestamp=_EARLIEST, isolation_level=0
        )
        if answer is None:
            return
        leader_start = answer["offset"]
        with self._lock:
            if not self._followed(partition):
                return
            if log_.log_end_offset < leader_start:
                log.info("%s: log ends before the leader's start %d: restarting there", log_.name, leader_start)
                log_.truncate_fully_and_start_at(leader_start)
            else:
                partition.truncated = False  # ahead of the leader: find where the logs agree

    def _ask(
        self, partition: FollowedPartition, api_key: int, version: int, names: tuple[str, str], **fields: int
    ) -> dict[str, Any] | None:
        """The leader's answer about this one partition (``names``: the request's topic and partition field
        names; ``fields``: the partition's other fields, or the request's ``isolation_level``); None, after
        waiting for new metadata, when the leader answers an error."""
        log_ = partition.log
        body: dict[str, Any] = {"replica_id": self.settings.node_id}
        if "isolation_level" in fields:
            body["isolation_level"] = fields.pop("isolation_level")
        asked = {names[1]: log_.partition, "current_leader_epoch": partition.leader_epoch, **fields}
        body["topics"] = [{names[0]: log_.topic, "partitions": [asked]}]
        answer: dict[str, Any] = self._connection.request(api_key, version, body)["topics"][0]["partitions"][0]
        if answer["error_code"] != ErrorCode.NONE:
            self._not_ready(partition, ErrorCode(answer["error_code"]))
            return None
        return answer

    def _not_ready(self, partition: FollowedPartition, code: ErrorCode) -> None:
        log.debug("%s: leader %d answered %s; waiting for metadata", partition.log.name, self.leader_id, code.name)
        partition.truncated = False
        self._stop.wait(0.1)
