"""The coordinator's OffsetsLog over the store's compacted ``__consumer_offsets`` topic (one partition)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from hub.log.batch import iter_batches
from hub.log.errors import UnknownTopicOrPartitionError
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, encode_batch, iter_records
from hub.log.store import TopicStore

OFFSETS_TOPIC = "__consumer_offsets"
OFFSETS_TOPIC_CONFIGS = {"cleanup.policy": "compact", "segment.bytes": str(100 * 1024 * 1024)}


class TopicOffsetsLog:
    """Appends coordinator records as one batch per call (durable before returning); reads them back."""

    def __init__(self, store: TopicStore) -> None:
        self.store = store
        self._partition: PartitionLog | None = None

    def _log(self) -> PartitionLog:
        if self._partition is None:
            try:
                self.store.topic(OFFSETS_TOPIC)
            except UnknownTopicOrPartitionError:
                self.store.create_topic(OFFSETS_TOPIC, 1, OFFSETS_TOPIC_CONFIGS)
            self._partition = self.store.partition(OFFSETS_TOPIC, 0)
        return self._partition

    def append(self, records: Sequence[tuple[bytes, bytes | None]]) -> None:
        if records:
            self._log().append_and_wait(encode_batch([NewRecord(key, value) for key, value in records]))

    def read_all(self) -> Iterable[tuple[bytes, bytes | None]]:
        return self._read(self._log())

    @staticmethod
    def _read(partition: PartitionLog) -> Iterator[tuple[bytes, bytes | None]]:
        offset = partition.log_start_offset
        while offset < partition.log_end_offset:
            data = partition.read(offset, 1 << 20)
            if not data:
                break
            for record in iter_records(data):
                if record.offset >= offset and record.key is not None:
                    yield record.key, record.value
                    offset = record.offset + 1
            offset = max(offset, max(header.next_offset for _, header in iter_batches(data)))
