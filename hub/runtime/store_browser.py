"""What the web console shows of the store and does to it: topics with their partitions, offsets and configs, a
message browser from an offset or a timestamp, a test producer, consumer-group lag, and re-sending dead-letter
records to the topic they came from, and the store's nodes.

Responsibility: turn store-client calls (``hub.log.client`` only, as the import contracts require) into plain
JSON-ready dicts; a topic, partition or offset that does not exist raises the herder's ``NotFoundError``, a
request that cannot be done its ``BadRequestError`` (the REST layer answers them 404 and 400). Every call makes
its own short-lived clients and closes them, so a ``StoreBrowser`` holds no connection and is safe to call from
any number of threads at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from hub.log.client import (
    Admin,
    ConsumerRecord,
    OffsetSpec,
    OutgoingRecord,
    StoreClients,
    TopicPartition,
)
from hub.runtime.herder import BadRequestError, NotFoundError

#: The most records one browse answers.
MAX_MESSAGES = 200
#: The header a sink's dead-letter queue names the record's original topic with (context headers enabled).
ORIGINAL_TOPIC_HEADER = "__connect.errors.topic"
_ERROR_HEADER_PREFIX = "__connect.errors."


class StoreBrowser:
    """Reads and writes the store on behalf of the console (see the module docstring)."""

    def __init__(self, clients: StoreClients, poll_timeout_s: float = 0.5) -> None:
        self._clients = clients
        self._poll_timeout_s = poll_timeout_s

    @contextmanager
    def _admin(self) -> Iterator[Admin]:
        admin = self._clients.admin()
        try:
            yield admin
        finally:
            admin.close()

    def topics(self, *, internal: bool = False) -> list[dict[str, Any]]:
        """Every topic (those starting with ``_`` only with ``internal``) with partition and message counts and its
        size in bytes (None when the store client cannot tell)."""
        with self._admin() as admin:
            listed = {n: p for n, p in admin.list_topics().items() if internal or not n.startswith("_")}
            partitions = [TopicPartition(n, p) for n, count in listed.items() for p in range(count)]
            earliest = admin.list_offsets(partitions, OffsetSpec.EARLIEST) if partitions else {}
            latest = admin.list_offsets(partitions, OffsetSpec.LATEST) if partitions else {}
            sizes = admin.log_sizes(partitions) if partitions else {}
        return [
            {
                "name": name,
                "partitions": count,
                "messages": sum(
                    (latest.get(TopicPartition(name, p)) or 0) - (earliest.get(TopicPartition(name, p)) or 0)
                    for p in range(count)
                ),
                "bytes": _total(sizes.get(TopicPartition(name, p)) for p in range(count)),
            }
            for name, count in sorted(listed.items())
        ]

    def topic(self, name: str) -> dict[str, Any]:
        """One topic: its configs, size and each partition's earliest and latest offsets and size in bytes (sizes
        None when the store client cannot tell)."""
        with self._admin() as admin:
            count = self._partition_count(admin, name)
            description = admin.describe_topics([name])[name]
            partitions = [TopicPartition(name, p) for p in range(count)]
            earliest = admin.list_offsets(partitions, OffsetSpec.EARLIEST)
            latest = admin.list_offsets(partitions, OffsetSpec.LATEST)
            sizes = admin.log_sizes(partitions)
        return {
            "name": name,
            "configs": dict(sorted(description.configs.items())),
            "bytes": _total(sizes.get(tp) for tp in partitions),
            "partitions": [
                {
                    "partition": tp.partition,
                    "earliest": earliest.get(tp) or 0,
                    "latest": latest.get(tp) or 0,
                    "bytes": sizes.get(tp),
                }
                for tp in partitions
            ],
        }

    def messages(
        self, topic: str, partition: int, *, offset: int | None = None, timestamp: int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` records of one partition from ``offset`` (or the first with a timestamp >= ``timestamp``
        ms, or the earliest), stopping at the partition's end."""
        if not 1 <= limit <= MAX_MESSAGES:
            raise BadRequestError(f"limit must be between 1 and {MAX_MESSAGES}")
        tp = TopicPartition(topic, partition)
        with self._admin() as admin:
            count = self._partition_count(admin, topic)
            if not 0 <= partition < count:
                raise NotFoundError(f"topic {topic} has no partition {partition}")
            start_at = admin.list_offsets([tp], OffsetSpec.EARLIEST)[tp] or 0
            end = admin.list_offsets([tp], OffsetSpec.LATEST)[tp] or 0
            if timestamp is not None:
                found = admin.list_offsets([tp], timestamp)[tp]
                start_at = end if found is None else found
            elif offset is not None:
                start_at = max(start_at, offset)
        return [_record_json(r) for r in self._read(tp, start_at, min(end, start_at + limit))]

    def _read(self, tp: TopicPartition, start: int, end: int) -> list[ConsumerRecord]:
        """The records of ``tp`` at offsets in [start, end)."""
        if start >= end:
            return []
        records: list[ConsumerRecord] = []
        consumer = self._clients.consumer()
        try:
            consumer.assign([tp])
            consumer.seek(tp, start)
            deadline = time.monotonic() + 10 * self._poll_timeout_s + 5
            while consumer.position(tp) < end and time.monotonic() < deadline:
                records += [r for r in consumer.poll(self._poll_timeout_s) if r.offset < end]
        finally:
            consumer.close()
        return records

    def produce(
        self, topic: str, *, key: str | None, value: str | None, headers: Mapping[str, str], partition: int | None
    ) -> dict[str, Any]:
        """Send one test record to an existing topic; where it landed."""
        with self._admin() as admin:
            count = self._partition_count(admin, topic)
        if partition is not None and not 0 <= partition < count:
            raise NotFoundError(f"topic {topic} has no partition {partition}")
        record: OutgoingRecord = (
            topic,
            None if key is None else key.encode(),
            None if value is None else value.encode(),
            tuple((k, v.encode()) for k, v in headers.items()),
            partition,
            None,
        )
        return self._send([record])[0]

    def _send(self, records: Sequence[OutgoingRecord]) -> list[dict[str, Any]]:
        producer = self._clients.producer()
        try:
            outcome = producer.send_batch(records).result(timeout=30)
        finally:
            producer.close()
        if outcome.errors:
            index, error = next(iter(outcome.errors.items()))
            raise BadRequestError(f"record {index} was not written: {error}")
        written = [outcome.metadata(i) for i in range(len(outcome))]
        return [{"topic": m.topic, "partition": m.partition, "offset": m.offset} for m in written if m is not None]

    def group_lag(self, group: str, topics: Sequence[str]) -> list[dict[str, Any]]:
        """Per partition of ``topics``: the group's committed offset, the partition's end and the lag between."""
        with self._admin() as admin:
            listed = admin.list_topics()
        partitions = [TopicPartition(t, p) for t in topics for p in range(listed.get(t, 0))]
        if not partitions:
            return []
        consumer = self._clients.consumer(group_id=group)
        try:
            committed = consumer.committed(partitions)
            ends = consumer.end_offsets(partitions)
        finally:
            consumer.close()
        rows = []
        for tp in partitions:
            done, end = committed.get(tp), ends.get(tp, 0)
            lag = end - (done or 0)
            rows.append({"topic": tp.topic, "partition": tp.partition, "committed": done, "end": end, "lag": lag})
        return rows

    def cluster(self, worker_group: str | None = None) -> dict[str, Any]:
        """The store's cluster id and live nodes (id, host, port, rack); with ``worker_group``, that group's state
        and members (member id, client id, host) too."""
        with self._admin() as admin:
            nodes = admin.describe_cluster()
            found: dict[str, Any] = {
                "cluster_id": admin.cluster_id(),
                "nodes": [{"id": n.node_id, "host": n.host, "port": n.port, "rack": n.rack} for n in nodes],
            }
            if worker_group:
                group = admin.describe_groups([worker_group]).get(worker_group)
                found["worker_group"] = {
                    "group": worker_group,
                    "state": group.state if group else "Dead",
                    "members": [
                        {"member_id": m.member_id, "client_id": m.client_id, "host": m.host}
                        for m in (group.members if group else ())
                    ],
                }
        return found

    def groups(self) -> list[dict[str, Any]]:
        """Every group the store knows, by id: state, protocol type, members (member id, client id, host,
        assigned partitions) and, per partition it has committed to or is assigned, the committed offset (None
        when none is), the partition's end and the lag between (None without a committed offset)."""
        with self._admin() as admin:
            listed = admin.list_groups()
            ids = sorted(g.group_id for g in listed)
            described = admin.describe_groups(ids) if ids else {}
            committed = {group_id: admin.list_group_offsets(group_id) for group_id in ids}
            existing = admin.list_topics()
            partitions = {tp for offsets in committed.values() for tp in offsets}
            partitions |= {tp for d in described.values() for m in d.members for tp in m.assignment}
            partitions = {tp for tp in partitions if tp.partition < existing.get(tp.topic, 0)}
            ends = admin.list_offsets(partitions, OffsetSpec.LATEST) if partitions else {}
        kinds = {g.group_id: g for g in listed}
        found = []
        for group_id in ids:
            description = described.get(group_id)
            members = description.members if description else ()
            owner = {tp: m.member_id for m in members for tp in m.assignment}
            offsets = committed[group_id]
            rows: list[dict[str, Any]] = []
            for tp in sorted((offsets.keys() | owner.keys()) & partitions):
                done, end = offsets.get(tp), ends.get(tp) or 0
                lag = None if done is None else max(end - done, 0)
                rows.append(
                    {
                        "topic": tp.topic,
                        "partition": tp.partition,
                        "member": owner.get(tp),
                        "committed": done,
                        "end": end,
                        "lag": lag,
                    }
                )
            found.append(
                {
                    "group": group_id,
                    "state": description.state if description else kinds[group_id].state,
                    "protocol_type": (description.protocol_type if description else "")
                    or kinds[group_id].protocol_type,
                    "members": [
                        {
                            "member_id": m.member_id,
                            "client_id": m.client_id,
                            "host": m.host,
                            "assignment": [
                                {"topic": tp.topic, "partition": tp.partition} for tp in sorted(m.assignment)
                            ],
                        }
                        for m in members
                    ],
                    "partitions": rows,
                    "lag": sum(r["lag"] or 0 for r in rows),
                }
            )
        return found

    def resend(self, dlq_topic: str, partition: int, offsets: Sequence[int]) -> list[dict[str, Any]]:
        """Send the dead-letter records at ``offsets`` of one partition back to the topic each came from (named by
        its ``__connect.errors.topic`` header), without the error headers; where each landed."""
        if not offsets or len(offsets) > MAX_MESSAGES:
            raise BadRequestError(f"give between 1 and {MAX_MESSAGES} offsets to re-send")
        wanted = set(offsets)
        tp = TopicPartition(dlq_topic, partition)
        with self._admin() as admin:
            count = self._partition_count(admin, dlq_topic)
            if not 0 <= partition < count:
                raise NotFoundError(f"topic {dlq_topic} has no partition {partition}")
            end = admin.list_offsets([tp], OffsetSpec.LATEST)[tp] or 0
        found = {r.offset: r for r in self._read(tp, min(wanted), min(end, max(wanted) + 1)) if r.offset in wanted}
        missing = sorted(wanted - found.keys())
        if missing:
            raise NotFoundError(f"no record at offsets {missing} of {dlq_topic}-{partition}")
        outgoing = []
        for offset in sorted(found):
            record = found[offset]
            headers = dict(record.headers)
            original = headers.get(ORIGINAL_TOPIC_HEADER)
            if not original:
                raise BadRequestError(
                    f"record {offset} names no original topic (header {ORIGINAL_TOPIC_HEADER}; enable "
                    "errors.deadletterqueue.context.headers.enable on the connector)",
                )
            kept = tuple((k, v) for k, v in record.headers if not k.startswith(_ERROR_HEADER_PREFIX))
            outgoing.append((original.decode(), record.key, record.value, kept, None, None))
        return self._send(outgoing)

    @staticmethod
    def _partition_count(admin: Admin, topic: str) -> int:
        count = admin.list_topics().get(topic)
        if count is None:
            raise NotFoundError(f"topic {topic} does not exist")
        return count


def _total(sizes: Iterable[int | None]) -> int | None:
    """The sum of partition sizes; None (unknown) when any is."""
    total = 0
    for size in sizes:
        if size is None:
            return None
        total += size
    return total


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def _record_json(record: ConsumerRecord) -> dict[str, Any]:
    return {
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp,
        "key": _text(record.key),
        "value": _text(record.value),
        "headers": [[k, _text(v)] for k, v in record.headers],
    }
