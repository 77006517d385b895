"""The embedded Admin, Producer and Consumer against a real store."""

from __future__ import annotations

import threading
import time

import pytest

from hub.log.broker import Broker
from hub.log.client import (
    ClientClosedError,
    InvalidTopicConfigError,
    NewTopic,
    OffsetSpec,
    TopicAlreadyExistsError,
    TopicPartition,
    UnknownTopicError,
)
from hub.log.client.embedded import EmbeddedAdmin, EmbeddedConsumer, EmbeddedProducer
from hub.log.client.partitioner import partition_for_key


def test_admin_creates_describes_alters_and_deletes(broker: Broker) -> None:
    with EmbeddedAdmin(broker) as admin:
        admin.create_topics([NewTopic("orders", 4, configs={"retention.ms": "1000"})])
        with pytest.raises(TopicAlreadyExistsError):
            admin.create_topics([NewTopic("orders", 4)])
        admin.create_topics([NewTopic("orders", 4)], if_not_exists=True)
        with pytest.raises(InvalidTopicConfigError, match="replication factor 3"):
            admin.create_topics([NewTopic("replicated", 1, replication_factor=3)])
        with pytest.raises(InvalidTopicConfigError, match="unknown topic config"):
            admin.create_topics([NewTopic("bad", 1, configs={"nope": "1"})])
        assert admin.list_topics() == {"orders": 4, "__consumer_offsets": 1}
        admin.alter_topic_configs("orders", {"retention.ms": None, "cleanup.policy": "compact"})
        described = admin.describe_topics(["orders"])["orders"]
        assert (described.partitions, described.configs["cleanup.policy"]) == (4, "compact")
        assert described.configs["retention.ms"] == "604800000"
        admin.delete_topics(["orders"])
        with pytest.raises(UnknownTopicError):
            admin.describe_topics(["orders"])
    with pytest.raises(ClientClosedError):
        admin.list_topics()


def test_producer_partitions_by_key_and_acknowledges_offsets(broker: Broker) -> None:
    with EmbeddedProducer(broker, linger_ms=2) as producer:
        futures = [producer.send("events", key=b"user-%d" % (i % 5), value=b"v%d" % i) for i in range(100)]
        producer.flush(10)
    metadata = [future.result() for future in futures]
    for i, meta in enumerate(metadata):
        assert meta.partition == partition_for_key(b"user-%d" % (i % 5), 3)
    for partition in range(3):
        offsets = [meta.offset for meta in metadata if meta.partition == partition]
        assert offsets == list(range(len(offsets)))


def test_consumer_reads_what_was_produced_in_order(broker: Broker) -> None:
    with EmbeddedProducer(broker) as producer:
        for i in range(50):
            producer.send("log", key=None, value=b"%d" % i, partition=1, headers=[("h", b"x")])
        producer.flush(10)
    consumer = EmbeddedConsumer(broker)
    tp = TopicPartition("log", 1)
    consumer.assign([tp])
    got = []
    while len(got) < 50:
        got += consumer.poll(1.0, max_records=7)
    assert [r.value for r in got] == [b"%d" % i for i in range(50)]
    assert got[0].headers == (("h", b"x"),)
    assert consumer.position(tp) == 50
    consumer.seek(tp, 45)
    assert [r.offset for r in consumer.poll(1.0)] == [45, 46, 47, 48, 49]
    consumer.seek(tp, OffsetSpec.EARLIEST)
    assert consumer.poll(1.0)[0].offset == 0
    assert consumer.end_offsets([tp]) == {tp: 50}
    consumer.close()


def test_poll_waits_for_new_data_and_wakeup_interrupts(broker: Broker) -> None:
    broker.store.create_topic("quiet", 1)
    consumer = EmbeddedConsumer(broker, auto_offset_reset="latest")
    tp = TopicPartition("quiet", 0)
    consumer.assign([tp])
    assert consumer.poll(0.05) == []

    def produce_later() -> None:
        time.sleep(0.2)
        with EmbeddedProducer(broker) as producer:
            producer.send("quiet", key=b"k", value=b"late").result(5)

    threading.Thread(target=produce_later).start()
    started = time.monotonic()
    assert [r.value for r in consumer.poll(5.0)] == [b"late"]
    assert time.monotonic() - started < 3
    threading.Timer(0.2, consumer.wakeup).start()
    started = time.monotonic()
    assert consumer.poll(10.0) == []
    assert time.monotonic() - started < 3
    consumer.close()


def test_paused_partitions_are_skipped(broker: Broker) -> None:
    with EmbeddedProducer(broker) as producer:
        producer.send("p", key=None, value=b"a", partition=0)
        producer.send("p", key=None, value=b"b", partition=1)
        producer.flush(5)
    consumer = EmbeddedConsumer(broker)
    consumer.assign([TopicPartition("p", 0), TopicPartition("p", 1)])
    consumer.pause([TopicPartition("p", 0)])
    assert [r.value for r in consumer.poll(0.5)] == [b"b"]
    consumer.resume([TopicPartition("p", 0)])
    assert [r.value for r in consumer.poll(0.5)] == [b"a"]


def test_position_reset_after_retention(broker: Broker) -> None:
    broker.store.create_topic("short", 1, {"segment.bytes": "200", "file.delete.delay.ms": "0"})
    with EmbeddedProducer(broker, linger_ms=0) as producer:
        for i in range(20):
            producer.send("short", key=None, value=b"x" * 50 + b"%d" % i).result(5)
    consumer = EmbeddedConsumer(broker)
    tp = TopicPartition("short", 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    broker.store.partition("short", 0).delete_records_before(10)
    assert consumer.poll(1.0)[0].offset == 10


def test_idempotent_producer_numbers_its_batches(broker: Broker) -> None:
    from hub.log.batch import iter_batches

    with EmbeddedProducer(broker, linger_ms=0) as producer:
        for i in range(5):
            producer.send("idem", key=None, value=b"%d" % i, partition=0).result(5)
    with EmbeddedProducer(broker, linger_ms=0, idempotent=False) as plain:
        plain.send("idem", key=None, value=b"x", partition=0).result(5)
    headers = [h for _, h in iter_batches(broker.store.partition("idem", 0).read(0, 1 << 20))]
    idempotent = [h for h in headers if h.producer_id >= 0]
    assert len({h.producer_id for h in idempotent}) == 1
    assert [h.base_sequence for h in idempotent] == [0, 1, 2, 3, 4]
    assert headers[-1].producer_id == -1
    assert broker.init_producer_id()[0] > idempotent[0].producer_id


def test_a_fast_sender_never_builds_batches_past_the_batch_size(broker: Broker) -> None:
    # Records keep arriving while the sender appends; what piles up meanwhile must still go out in batches the
    # store accepts (max.message.bytes), not as one oversized batch.
    broker.store.create_topic("burst", 1, {"max.message.bytes": "20000"})
    with EmbeddedProducer(broker, batch_size_bytes=16_384, buffer_memory_bytes=200_000) as producer:
        futures = [producer.send("burst", key=None, value=b"v" * 100, partition=0) for _ in range(20_000)]
        producer.flush(60)
    assert [f.exception() for f in futures if f.exception()] == []
    assert futures[-1].result().offset == 19_999


def test_send_batch_reports_every_record_and_fails_only_the_bad_ones(broker: Broker) -> None:
    broker.store.create_topic("batched", 3)
    records = [("batched", b"user-%d" % (i % 7), b"v%d" % i, (), None, None) for i in range(300)]
    records[5] = ("batched", None, b"x" * 2_000_000, (), 0, None)  # over max.request.size
    records[9] = ("batched", b"k", b"pinned", (("h", b"1"),), 2, 1234)
    with EmbeddedProducer(broker, linger_ms=2) as producer:
        outcome = producer.send_batch(records).result(30)
        single = producer.send("batched", key=b"after", value=b"a", partition=1).result(30)
    assert len(outcome) == 300
    assert list(outcome.errors) == [5]
    assert "max.request.size" in str(outcome.errors[5])
    assert outcome.metadata(5) is None
    written = [outcome.metadata(i) for i in range(300) if i != 5]
    for index, meta in zip([i for i in range(300) if i != 5], written, strict=True):
        assert meta is not None
        assert meta.topic == "batched"
        if index != 9:
            assert meta.partition == partition_for_key(b"user-%d" % (index % 7), 3)
    pinned = outcome.metadata(9)
    assert pinned is not None
    assert (pinned.partition, pinned.timestamp) == (2, 1234)
    for partition in range(3):  # each partition's records got consecutive offsets in send order
        offsets = [m.offset for m in written if m is not None and m.partition == partition]
        assert offsets == list(range(len(offsets)))
    assert single.offset == len([m for m in written if m is not None and m.partition == 1])
    with EmbeddedConsumer(broker) as consumer:
        consumer.assign([TopicPartition("batched", 2)])
        read = []
        while len(read) < len([m for m in written if m is not None and m.partition == 2]):
            read += consumer.poll(1.0)
    assert [r.value for r in read if r.key == b"k"] == [b"pinned"]
    assert [r.headers for r in read if r.key == b"k"] == [(("h", b"1"),)]


def test_send_batch_of_nothing_resolves_at_once(broker: Broker) -> None:
    with EmbeddedProducer(broker) as producer:
        assert len(producer.send_batch([]).result(1)) == 0


def test_send_batch_to_a_closed_producer_is_refused(broker: Broker) -> None:
    producer = EmbeddedProducer(broker)
    producer.close()
    with pytest.raises(ClientClosedError):
        producer.send_batch([("t", None, b"v", (), 0, None)])


def test_a_topics_added_partitions_get_records_once_its_cached_count_expires(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hub.log.client.embedded import producer as producer_module

    broker.store.create_topic("growing", 1)
    # An age no slow machine reaches while the sends below run; then none at all.
    monkeypatch.setattr(producer_module, "PARTITIONS_MAX_AGE_S", 3600.0)
    with EmbeddedProducer(broker) as producer:
        assert producer.send("growing", key=b"a", value=b"1").result(10).partition == 0
        broker.store.add_partitions("growing", 4)
        keys = [b"key-%d" % i for i in range(40)]
        # Within the cache's age the old count still applies, as a Kafka client's metadata does.
        assert {producer.send("growing", key=k, value=b"2").result(10).partition for k in keys} == {0}
        monkeypatch.setattr(producer_module, "PARTITIONS_MAX_AGE_S", 0.0)
        partitions = {producer.send("growing", key=k, value=b"3").result(10).partition for k in keys}
    assert partitions == {partition_for_key(k, 4) for k in keys}
