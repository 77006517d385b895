"""TopicStore: topics and their configs survive reopening; one process per data directory."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hub.log.errors import DataDirLockedError, InvalidConfigError, TopicExistsError, UnknownTopicOrPartitionError
from hub.log.records import iter_records
from hub.log.store import TopicStore
from tests.log.conftest import BatchFactory


def test_topics_partitions_and_data_survive_reopen(tmp_path: Path, make_batch: BatchFactory) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("orders", 3, {"retention.ms": "1000"})
        store.create_topic("__consumer_offsets", 1, {"cleanup.policy": "compact"})
        store.partition("orders", 2).append(make_batch([b"x", b"y"])).wait()
    with TopicStore(tmp_path) as store:
        topics = store.topics()
        assert {name: info.partitions for name, info in topics.items()} == {"orders": 3, "__consumer_offsets": 1}
        assert topics["__consumer_offsets"].internal
        assert topics["orders"].config.get("retention.ms") == 1000
        assert [r.value for r in iter_records(store.partition("orders", 2).read(0, 1000))] == [b"x", b"y"]


def test_topic_errors(store: TopicStore) -> None:
    store.create_topic("a.b")
    with pytest.raises(TopicExistsError):
        store.create_topic("a.b")
    with pytest.raises(InvalidConfigError, match=r"collides with 'a\.b'"):
        store.create_topic("a_b")
    for bad in ("", "..", "has space", "x" * 250):
        with pytest.raises(InvalidConfigError):
            store.create_topic(bad)
    with pytest.raises(InvalidConfigError, match="at least one partition"):
        store.create_topic("zero", 0)
    with pytest.raises(InvalidConfigError, match="unknown topic config 'bogus'"):
        store.create_topic("cfg", 1, {"bogus": "1"})
    assert "cfg" not in store.topics()
    with pytest.raises(UnknownTopicOrPartitionError):
        store.partition("a.b", 1)
    with pytest.raises(UnknownTopicOrPartitionError):
        store.delete_topic("missing")


def test_delete_topic_removes_its_files(tmp_path: Path, make_batch: BatchFactory) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("gone", 2)
        store.partition("gone", 0).append(make_batch([b"x"])).wait()
        store.delete_topic("gone")
        assert not (tmp_path / "gone-0").exists()
        store.create_topic("gone", 1)
        assert store.partition("gone", 0).log_end_offset == 0


def test_alter_and_describe_configs(store: TopicStore) -> None:
    store.create_topic("t", 1, {"retention.ms": "5000"})
    store.alter_topic_config("t", {"segment.bytes": "1024", "retention.ms": None})
    described = store.describe_topic_config("t")
    assert described["segment.bytes"] == ("1024", "topic")
    assert described["retention.ms"] == ("604800000", "default")
    assert store.partition("t", 0).config.get("segment.bytes") == 1024


def test_add_partitions(store: TopicStore) -> None:
    store.create_topic("grow", 1)
    assert store.add_partitions("grow", 3).partitions == 3
    store.partition("grow", 2)
    with pytest.raises(InvalidConfigError):
        store.add_partitions("grow", 2)


def test_a_second_process_cannot_open_the_same_directory(tmp_path: Path) -> None:
    with TopicStore(tmp_path):
        code = (
            "import sys; from hub.log.store import TopicStore; from hub.log.errors import DataDirLockedError\n"
            f"try:\n    TopicStore({str(tmp_path)!r}).open()\n"
            "except DataDirLockedError as e:\n    print(e); sys.exit(3)"
        )
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
        assert result.returncode == 3, result.stderr
        assert "in use by another process (pid" in result.stdout
    with TopicStore(tmp_path):
        pass


def test_second_open_in_process_is_refused_too(tmp_path: Path) -> None:
    with TopicStore(tmp_path), pytest.raises(DataDirLockedError):
        TopicStore(tmp_path).open()


def test_group_commit_shares_fsyncs_between_concurrent_appends(store: TopicStore, make_batch: BatchFactory) -> None:
    store.create_topic("gc", 1)
    partition = store.partition("gc", 0)

    def writer() -> None:
        for _ in range(25):
            partition.append(make_batch([b"v" * 100])).wait()

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert partition.log_end_offset == 200
    assert partition.flushed_offset == 200
    assert partition.fsync_count < 200


def test_unknown_format_version_is_refused(tmp_path: Path) -> None:
    with TopicStore(tmp_path) as store:
        store.create_topic("t")
    (tmp_path / "topics.json").write_text('{"version": 99, "topics": {}}')
    with pytest.raises(ValueError, match="format version 99 is newer"):
        TopicStore(tmp_path).open()
    with TopicStore(tmp_path / "other"):
        pass


def test_altered_segment_bytes_rolls_the_next_appends(store: TopicStore, make_batch: BatchFactory) -> None:
    store.create_topic("roll", 1)
    partition = store.partition("roll", 0)
    for _ in range(5):
        partition.append(make_batch([b"r" * 100])).wait()
    assert len(partition.segments) == 1
    store.alter_topic_config("roll", {"segment.bytes": "300"})
    for _ in range(5):
        partition.append(make_batch([b"r" * 100])).wait()
    assert len(partition.segments) > 3


def test_flush_ms_lets_the_maintenance_thread_fsync(tmp_path: Path, make_batch: BatchFactory) -> None:
    with TopicStore(tmp_path, retention_check_interval_ms=20) as store:
        store.create_topic("lazy", 1, {"flush.messages": "1000000", "flush.ms": "10"})
        partition = store.partition("lazy", 0)
        result = partition.append(make_batch([b"a", b"b"]))
        assert result.durable.done()  # acknowledged at write time
        assert partition.flushed_offset == 0
        deadline = time.monotonic() + 10
        while partition.flushed_offset < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert partition.flushed_offset == 2


def test_store_defaults_apply_to_topics_without_overrides(tmp_path: Path) -> None:
    with TopicStore(tmp_path, defaults={"log.retention.ms": "60000", "flush.messages": 500}) as store:
        store.create_topic("d", 1, {"retention.ms": "1000"})
        store.create_topic("e", 1)
        assert store.describe_topic_config("d")["flush.messages"] == ("500", "store")
        assert store.describe_topic_config("e")["retention.ms"] == ("60000", "store")
        assert store.describe_topic_config("d")["retention.ms"] == ("1000", "topic")
    with pytest.raises(InvalidConfigError, match=r"unknown topic config 'log\.bogus'"):
        TopicStore(tmp_path, defaults={"log.bogus": "1"}).open()
    with TopicStore(tmp_path) as store:  # the failed open released the lock
        assert "d" in store.topics()


def test_internal_topics_are_kafkas_own_and_those_registered(store: TopicStore) -> None:
    assert store.is_internal("__consumer_offsets")
    assert store.is_internal("__transaction_state")  # reserved even before it exists
    assert not store.is_internal("connect-configs")
    store.register_internal("connect-configs")
    assert store.is_internal("connect-configs")
    with pytest.raises(InvalidConfigError):
        store.register_internal("not a topic")
    store.create_topic("__private")
    assert not store.topic("__private").internal  # Metadata's is_internal is Kafka's list, not a name prefix


def test_a_data_directory_keeps_the_cluster_id_it_was_created_with(tmp_path: Path) -> None:
    with TopicStore(tmp_path / "a") as store:
        first = store.cluster_id
    with TopicStore(tmp_path / "a") as store:
        assert store.cluster_id == first
    with TopicStore(tmp_path / "b") as other:
        assert other.cluster_id != first
    assert len(first) == 22  # Kafka's form: a UUID in URL-safe base64 without padding
    assert json.loads((tmp_path / "a" / "meta.json").read_text()) == {"version": 1, "cluster_id": first}
