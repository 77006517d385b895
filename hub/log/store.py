"""TopicStore: a data directory of topics, each with N partition logs, and the threads that maintain them.

Layout of a data directory::

    .lock                  flock()ed while a process has the store open; holds that process's pid
    meta.json              {"version": 1, "cluster_id": ID}: written once, when the directory is first opened
    topics.json            {"version": 1, "topics": {NAME: {"id": HEX, "partitions": N, "configs": {...}}}}
    NAME-0/ NAME-1/ …      one directory per partition (hub.log.partition)

``topics.json`` is replaced atomically on every change, so a crash leaves the old or the new topic set.
Deleting a topic first removes it from ``topics.json``, then its directories; directories of topics that are
not in the file are removed on open.

Background work: a Flusher thread (group-commit fsync) and a maintenance thread that, every
``log.retention.check.interval.ms``, applies retention, flushes partitions whose ``flush.ms`` has passed,
checkpoints recovery points, and runs registered maintenance tasks (the log cleaner).

Internal topics: Kafka's own (``__consumer_offsets``, ``__transaction_state``) and those the composition root
registers (``hub start`` registers its worker's config, offsets and status topics). The store itself treats them
like any topic; the Kafka listener refuses clients' writes and deletes to them, as Kafka does for its own.

Thread-safe: topic changes take the store lock; partition work is synchronised by each PartitionLog.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.log import broker_configs
from hub.log.checkpoint import FORMAT_VERSION, read_versioned_json, write_json_atomically
from hub.log.config import TopicConfig
from hub.log.errors import (
    DataDirLockedError,
    InvalidConfigError,
    InvalidPartitionsError,
    InvalidTopicError,
    LogClosedError,
    TopicExistsError,
    UnknownTopicOrPartitionError,
)
from hub.log.flusher import Flusher
from hub.log.partition import PartitionLog

log = logging.getLogger("hub.log.store")

#: Kafka's own internal topics (its ``Topic.isInternal``): always internal here too, whether they exist or not.
KAFKA_INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
METADATA_FILE = "topics.json"
META_FILE = "meta.json"
LOCK_FILE = ".lock"
MAX_TOPIC_NAME = 249
_LEGAL_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
MaintenanceTask = Callable[[int], None]


def check_topic_name(name: str) -> None:
    """Kafka's rules for topic names; InvalidTopicError naming the problem."""
    if not name or name in (".", ".."):
        raise InvalidTopicError(f"topic name {name!r} is not allowed")
    if len(name) > MAX_TOPIC_NAME:
        raise InvalidTopicError(f"topic name is {len(name)} characters long, the maximum is {MAX_TOPIC_NAME}")
    if not _LEGAL_NAME.match(name):
        raise InvalidTopicError(f"topic name {name!r} may only contain ASCII letters, digits, '.', '_' and '-'")


@dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic's identity, partition count and configs."""

    name: str
    topic_id: str
    partitions: int
    config: TopicConfig

    @property
    def internal(self) -> bool:
        """One of Kafka's internal topics (what Metadata's ``is_internal`` reports)."""
        return self.name in KAFKA_INTERNAL_TOPICS


class TopicStore:
    """The topic store over one data directory; ``open()`` locks and recovers it, ``close()`` releases it."""

    def __init__(
        self,
        data_dir: Path | str,
        *,
        defaults: Mapping[str, Any] | None = None,
        retention_check_interval_ms: int = 300_000,
        checkpoint_interval_ms: int = 60_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data_dir = Path(data_dir)
        #: The defaults the store was started with (Kafka's static broker configs), by topic or broker name.
        self.static_defaults = dict(defaults or {})
        #: The dynamic broker configs (hub.log.broker_configs) and the node whose of them apply here.
        self.dynamic_configs: dict[str, dict[str, str]] = {}
        self.node_id = 0
        #: The defaults in effect: the static ones with the dynamic ones over them.
        self.defaults = dict(self.static_defaults)
        self.retention_check_interval_ms = retention_check_interval_ms
        self.checkpoint_interval_ms = checkpoint_interval_ms
        self.clock = clock
        self.flusher = Flusher()
        self._topics: dict[str, TopicInfo] = {}
        self._partitions: dict[tuple[str, int], PartitionLog] = {}
        self._lock = threading.RLock()
        self._lock_fd = -1
        self._stop = threading.Event()
        self._maintenance: list[MaintenanceTask] = []
        self._maintenance_thread: threading.Thread | None = None
        self._append_listener: Callable[[PartitionLog], None] | None = None
        self._internal: set[str] = set(KAFKA_INTERNAL_TOPICS)
        #: The store's cluster id (Kafka's form: a random UUID, 22 characters of URL-safe base64), set by ``open``.
        self.cluster_id = ""
        self.closed = True

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def open(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            TopicConfig.build(defaults=self.defaults)
            self.dynamic_configs = broker_configs.load(self.data_dir)
            self.defaults = {**self.static_defaults, **broker_configs.for_node(self.dynamic_configs, self.node_id)}
            TopicConfig.build(defaults=self.defaults)
            self.cluster_id = self._read_or_create_cluster_id()
            metadata = read_versioned_json(self.data_dir / METADATA_FILE) or {"topics": {}}
            self.flusher.start()
            for name, entry in metadata["topics"].items():
                info = TopicInfo(
                    name,
                    entry["id"],
                    int(entry["partitions"]),
                    TopicConfig.build(entry.get("configs", {}), self.defaults),
                )
                self._topics[name] = info
                for partition in range(info.partitions):
                    self._open_partition(info, partition)
            self._remove_orphans()
        except BaseException:
            self._shutdown()
            raise
        self.closed = False
        self._stop.clear()
        self._maintenance_thread = threading.Thread(target=self._maintain, name="hub-log-maintenance", daemon=True)
        self._maintenance_thread.start()
        log.info("opened store %s with %d topic(s)", self.data_dir, len(self._topics))

    def _read_or_create_cluster_id(self) -> str:
        path = self.data_dir / META_FILE
        meta = read_versioned_json(path)
        if meta is not None:
            return str(meta["cluster_id"])
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        write_json_atomically(path, {"version": FORMAT_VERSION, "cluster_id": cluster_id})
        log.info("store %s: new cluster id %s", self.data_dir, cluster_id)
        return cluster_id

    def close(self) -> None:
        """Stop background work, flush and close every partition, release the lock. Idempotent."""
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        if self._maintenance_thread is not None:
            self._maintenance_thread.join()
            self._maintenance_thread = None
        self._shutdown()
        log.info("closed store %s", self.data_dir)

    def _shutdown(self) -> None:
        with self._lock:
            for partition_log in self._partitions.values():
                try:
                    partition_log.close()
                except Exception as exc:
                    log.error("%s: close failed: %s", partition_log.name, exc)
            self._partitions.clear()
            self._topics.clear()
        self.flusher.close()
        self._release_lock()

    def __enter__(self) -> TopicStore:
        self.open()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _acquire_lock(self) -> None:
        path = self.data_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise DataDirLockedError(
                f"data directory {self.data_dir} is in use by another process" + (f" (pid {holder})" if holder else "")
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def _release_lock(self) -> None:
        if self._lock_fd >= 0:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)
            self._lock_fd = -1

    def _open_partition(self, info: TopicInfo, partition: int) -> PartitionLog:
        partition_log = PartitionLog(
            self.data_dir / f"{info.name}-{partition}",
            info.name,
            partition,
            info.config,
            flusher=self.flusher,
            clock=self.clock,
        )
        partition_log.on_append = self._append_listener
        partition_log.open()
        self._partitions[(info.name, partition)] = partition_log
        return partition_log

    def _remove_orphans(self) -> None:
        known = {f"{name}-{p}" for name, info in self._topics.items() for p in range(info.partitions)}
        for path in self.data_dir.iterdir():
            if path.is_dir() and path.name not in known and re.match(r"^.+-\d+$", path.name):
                log.info("removing %s: its topic is not in %s", path, METADATA_FILE)
                shutil.rmtree(path)

    def _save_metadata(self) -> None:
        write_json_atomically(
            self.data_dir / METADATA_FILE,
            {
                "version": FORMAT_VERSION,
                "topics": {
                    name: {
                        "id": info.topic_id,
                        "partitions": info.partitions,
                        "configs": info.config.overrides_as_strings(),
                    }
                    for name, info in sorted(self._topics.items())
                },
            },
        )

    def _check_open(self) -> None:
        if self.closed:
            raise LogClosedError(f"store {self.data_dir} is closed")

    # --- topics ------------------------------------------------------------------------------------------------

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        configs: Mapping[str, Any] | None = None,
        *,
        topic_id: str | None = None,
    ) -> TopicInfo:
        """Create a topic; TopicExistsError, InvalidConfigError for a bad name, count or config. ``topic_id`` is
        given when the topic mirrors a cluster's (its id comes from the cluster metadata)."""
        check_topic_name(name)
        if partitions < 1:
            raise InvalidConfigError(f"a topic needs at least one partition, got {partitions}")
        config = TopicConfig.build(configs, self.defaults)
        with self._lock:
            self._check_open()
            if name in self._topics:
                raise TopicExistsError(f"topic {name!r} already exists")
            colliding = [other for other in self._topics if other.replace(".", "_") == name.replace(".", "_")]
            if colliding:
                raise InvalidTopicError(f"topic {name!r} collides with {colliding[0]!r} ('.' and '_' are confused)")
            info = TopicInfo(name, topic_id or uuid.uuid4().hex, partitions, config)
            self._topics[name] = info
            for partition in range(partitions):
                self._open_partition(info, partition)
            self._save_metadata()
        log.info("created topic %s with %d partition(s)", name, partitions)
        return info

    def add_partitions(self, name: str, total: int) -> TopicInfo:
        """Grow a topic to ``total`` partitions (Kafka's CreatePartitions); InvalidPartitionsError unless it grows."""
        with self._lock:
            info = self.topic(name)
            if total <= info.partitions:
                raise InvalidPartitionsError(
                    f"topic {name!r} has {info.partitions} partitions; cannot change to {total}"
                )
            grown = TopicInfo(name, info.topic_id, total, info.config)
            self._topics[name] = grown
            for partition in range(info.partitions, total):
                self._open_partition(grown, partition)
            self._save_metadata()
            return grown

    def delete_topic(self, name: str) -> None:
        """Delete a topic and all its data."""
        with self._lock:
            info = self.topic(name)
            del self._topics[name]
            self._save_metadata()
            for partition in range(info.partitions):
                self._partitions.pop((name, partition)).delete()
        log.info("deleted topic %s", name)

    def register_internal(self, name: str) -> None:
        """Make ``name`` an internal topic for as long as this store object lives (not persisted): the process
        that opened the store writes it through in-process clients, and the Kafka listener refuses clients'
        writes and deletes (Kafka's rule for its own internal topics)."""
        check_topic_name(name)
        with self._lock:
            self._internal.add(name)

    def is_internal(self, name: str) -> bool:
        """Whether ``name`` is internal: Kafka's internal topics, and those registered with register_internal."""
        return name in self._internal  # the set only grows; a membership test needs no lock

    def topic(self, name: str) -> TopicInfo:
        with self._lock:
            self._check_open()
            try:
                return self._topics[name]
            except KeyError:
                raise UnknownTopicOrPartitionError(f"unknown topic {name!r}") from None

    def topics(self) -> dict[str, TopicInfo]:
        with self._lock:
            self._check_open()
            return dict(self._topics)

    def partition(self, topic: str, partition: int) -> PartitionLog:
        with self._lock:
            self._check_open()
            try:
                return self._partitions[(topic, partition)]
            except KeyError:
                raise UnknownTopicOrPartitionError(f"unknown topic partition {topic}-{partition}") from None

    def partitions(self) -> list[PartitionLog]:
        with self._lock:
            return list(self._partitions.values())

    def alter_topic_config(
        self, name: str, updates: Mapping[str, Any | None], *, incremental: bool = True
    ) -> TopicInfo:
        """Change a topic's configs at runtime; takes effect for the next append, roll and retention check."""
        with self._lock:
            info = self.topic(name)
            altered = TopicInfo(
                name, info.topic_id, info.partitions, info.config.altered(updates, incremental=incremental)
            )
            self._topics[name] = altered
            for partition in range(info.partitions):
                self._partitions[(name, partition)].config = altered.config
            self._save_metadata()
            return altered

    def replace_topic_config(self, name: str, configs: Mapping[str, Any]) -> TopicInfo:
        """Set a topic's overrides to exactly ``configs`` (a cluster's metadata is their source)."""
        return self.alter_topic_config(name, configs, incremental=False)

    def describe_topic_config(self, name: str) -> dict[str, tuple[str, str]]:
        """Every config of a topic as ``name -> (value, source)``; source is topic, store or default."""
        config = self.topic(name).config
        return {key: (value, config.source(key)) for key, value in config.effective().items()}

    def set_dynamic_configs(
        self, configs: broker_configs.DynamicConfigs, *, node_id: int | None = None, persist: bool = True
    ) -> None:
        """Put new dynamic broker configs in effect for every topic without its own values (InvalidConfigError
        for a bad value, nothing changed); ``persist`` saves them in the data directory first (a store of one node;
        a cluster's are in its metadata quorum)."""
        with self._lock:
            node = self.node_id if node_id is None else node_id
            defaults = {**self.static_defaults, **broker_configs.for_node(configs, node)}
            built = TopicConfig.build(defaults=defaults)
            if persist:
                broker_configs.save(self.data_dir, configs)
            self.node_id = node
            self.dynamic_configs = {key: dict(values) for key, values in configs.items()}
            self.defaults = defaults
            for name, info in list(self._topics.items()):
                config = TopicConfig(info.config.overrides, built.defaults)
                self._topics[name] = TopicInfo(name, info.topic_id, info.partitions, config)
                for partition in range(info.partitions):
                    self._partitions[(name, partition)].config = config
        log.info("dynamic broker configs now %s", self.dynamic_configs)

    # --- background work ---------------------------------------------------------------------------------------

    def set_append_listener(self, listener: Callable[[PartitionLog], None] | None) -> None:
        """Call ``listener(partition)`` after every append (the Kafka server wakes waiting fetches with it)."""
        with self._lock:
            self._append_listener = listener
            for partition_log in self._partitions.values():
                partition_log.on_append = listener

    def add_maintenance(self, task: MaintenanceTask) -> None:
        """Run ``task(now_ms)`` on the maintenance thread after each retention check (the log cleaner)."""
        self._maintenance.append(task)

    def run_maintenance(self, now_ms: int | None = None) -> None:
        """One round of retention, due flushes, checkpoints and maintenance tasks (also run by the thread)."""
        now = int(self.clock() * 1000) if now_ms is None else now_ms
        for partition_log in self.partitions():
            try:
                partition_log.apply_retention(now)
                if partition_log.flush_due(now):
                    self.flusher.schedule(partition_log)
            except LogClosedError:
                continue
            except Exception:
                log.exception("%s: maintenance failed", partition_log.name)
        for task in self._maintenance:
            try:
                task(now)
            except Exception:
                log.exception("maintenance task %s failed", getattr(task, "__name__", task))

    def _maintain(self) -> None:
        last_retention = last_checkpoint = time.monotonic()
        tick_s = min(self.retention_check_interval_ms, 1000) / 1000
        while not self._stop.wait(tick_s):
            now = time.monotonic()
            if (now - last_retention) * 1000 >= self.retention_check_interval_ms:
                self.run_maintenance()
                last_retention = now
            else:
                now_ms = int(self.clock() * 1000)
                for partition_log in self.partitions():
                    if partition_log.flush_due(now_ms):
                        self.flusher.schedule(partition_log)
            if (now - last_checkpoint) * 1000 >= self.checkpoint_interval_ms:
                for partition_log in self.partitions():
                    with contextlib.suppress(LogClosedError, OSError):
                        partition_log.write_checkpoint()
                last_checkpoint = now
