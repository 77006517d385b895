"""Log compaction: the latest value per key wins, offsets keep their numbers, tombstones expire, and compaction
runs safely while producers append and consumers read."""

from __future__ import annotations

import random
import threading
from pathlib import Path

from hub.log.batch import parse_header
from hub.log.cleaner import LogCleaner
from hub.log.records import NewRecord, Record, encode_batch, iter_records
from hub.log.store import TopicStore

NOW = 1_800_000_000_000
COMPACT = {
    "cleanup.policy": "compact",
    "segment.bytes": "1000",
    "min.cleanable.dirty.ratio": "0.01",
    "file.delete.delay.ms": "0",
}


def _records(store: TopicStore, topic: str = "c") -> list[Record]:
    log = store.partition(topic, 0)
    return [r for s in log.segments for r in iter_records(s.read_at(0, s.size))]


def _latest(records: list[Record]) -> dict[bytes, bytes | None]:
    latest: dict[bytes, bytes | None] = {}
    for record in records:
        assert record.key is not None
        latest[record.key] = record.value
    return latest


def _put(store: TopicStore, key: bytes, value: bytes | None, timestamp: int = NOW) -> int:
    return (
        store.partition("c", 0).append_and_wait(encode_batch([NewRecord(key, value, timestamp=timestamp)])).base_offset
    )


def test_latest_value_per_key_wins_and_offsets_keep_their_numbers(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, COMPACT)
        offsets: dict[bytes, int] = {}
        for round_ in range(6):
            for key in range(10):
                offsets[b"k%d" % key] = _put(store, b"k%d" % key, b"v%d-%d" % (key, round_))
        before = _records(store)
        segments_before = len(store.partition("c", 0).segments)
        result = LogCleaner(store).clean_partition(store.partition("c", 0), NOW)
        assert result is not None
        assert result.records_removed > 0
        after = _records(store)
        assert _latest(after) == _latest(before)
        assert [r.offset for r in after] == sorted(r.offset for r in after)
        active_base = store.partition("c", 0).active.base_offset
        cleaned = [r for r in after if r.offset < active_base]
        assert len({r.key for r in cleaned}) == len(cleaned), "a key appears twice in the cleaned part"
        for record in after:
            assert record in before  # offsets, timestamps and values unchanged
        for key in range(10):
            _put(store, b"k%d" % key, b"final-%d" % key)
        store.partition("c", 0).roll()
        LogCleaner(store).clean_partition(store.partition("c", 0), NOW)
        assert len(store.partition("c", 0).segments) < segments_before  # small cleaned segments were merged
        after = _records(store)
        assert _latest(after) == {b"k%d" % key: b"final-%d" % key for key in range(10)}
    with TopicStore(tmp_path) as store:
        assert _records(store) == after


def test_active_segment_is_never_cleaned(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, {**COMPACT, "segment.bytes": "1000000"})
        for _ in range(20):
            _put(store, b"same", b"value")
        assert LogCleaner(store).clean_partition(store.partition("c", 0), NOW, force=True) is None
        assert len(_records(store)) == 20


def test_tombstones_survive_delete_retention_then_go(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, {**COMPACT, "delete.retention.ms": "60000"})
        for i in range(15):
            _put(store, b"k%d" % i, b"v" * 40)
        _put(store, b"k3", None)
        for i in range(15, 30):
            _put(store, b"k%d" % i, b"v" * 40)
        store.partition("c", 0).roll()
        cleaner = LogCleaner(store)
        cleaner.clean_partition(store.partition("c", 0), NOW, force=True)
        latest = _latest(_records(store))
        assert b"k3" in latest
        assert latest[b"k3"] is None  # the tombstone is still there for consumers to see
        assert cleaner.clean_partition(store.partition("c", 0), NOW + 30_000) is None  # horizon not reached
        assert b"k3" in _latest(_records(store))
        assert cleaner.clean_partition(store.partition("c", 0), NOW + 61_000) is not None  # due by the horizon
        assert b"k3" not in _latest(_records(store))
        assert len(_latest(_records(store))) == 29


def test_min_compaction_lag_keeps_recent_segments_dirty(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, {**COMPACT, "min.compaction.lag.ms": "10000"})
        for _ in range(40):
            _put(store, b"k", b"v" * 30, timestamp=NOW)
        assert LogCleaner(store).clean_partition(store.partition("c", 0), NOW + 5_000, force=True) is None
        assert LogCleaner(store).clean_partition(store.partition("c", 0), NOW + 20_000, force=True) is not None


def test_last_batch_of_an_idempotent_producer_is_kept(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, COMPACT)
        log = store.partition("c", 0)
        log.append_and_wait(
            encode_batch([NewRecord(b"k", b"old", timestamp=NOW)], producer_id=7, producer_epoch=0, base_sequence=0)
        )
        for i in range(40):
            _put(store, b"k", b"new-%d" % i)
        LogCleaner(store).clean_partition(log, NOW, force=True)
        headers = []
        for segment in log.segments:
            position = 0
            while position < segment.size:
                header = parse_header(segment.read_at(position, 61))
                headers.append(header)
                position += header.size
        kept = [h for h in headers if h.producer_id == 7]
        assert len(kept) == 1
        assert (kept[0].records_count, kept[0].base_sequence, kept[0].base_offset) == (0, 0, 0)


def test_compaction_while_producers_append_and_consumers_read(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("c", 1, COMPACT)
        log = store.partition("c", 0)
        expected: dict[bytes, bytes] = {}
        stop = threading.Event()
        errors: list[BaseException] = []

        def produce() -> None:
            rng = random.Random(3)
            try:
                for n in range(1500):
                    key = b"k%d" % rng.randrange(40)
                    value = b"%d" % n
                    log.append_and_wait(encode_batch([NewRecord(key, value, timestamp=NOW)]))
                    expected[key] = value
            except BaseException as exc:
                errors.append(exc)
            finally:
                stop.set()

        def consume() -> None:
            try:
                while not stop.is_set():
                    offset = log.log_start_offset
                    while offset < log.log_end_offset:
                        data = log.read(offset, 4096)
                        records = list(iter_records(data))
                        if not records:
                            break
                        offset = records[-1].offset + 1
            except BaseException as exc:
                errors.append(exc)

        cleaner = LogCleaner(store)
        threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
        for thread in threads:
            thread.start()
        rounds = 0
        while not stop.is_set():
            if cleaner.clean_partition(log, NOW, force=True):
                rounds += 1
        for thread in threads:
            thread.join()
        assert not errors
        assert rounds > 2
        log.roll()
        cleaner.clean_partition(log, NOW, force=True)
        assert _latest(_records(store)) == expected
