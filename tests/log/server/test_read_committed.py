"""read_committed reads through the Kafka listener: first with transactions written straight into the log
(transactional batches appended, markers through the node's MarkerWriter), then with confluent-kafka's and
kafka-python's transactional producers. Both clients' consumers see only committed records at read_committed and
everything at read_uncommitted; ListOffsets answers the last stable offset; DescribeProducers shows open
transactions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka import Producer as ConfluentProducer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaPythonPartition

from hub.log.error_codes import ErrorCode
from hub.log.records import NewRecord, encode_batch
from hub.log.txn.contracts import TxnMarker
from tests.log.server.in_process import QUICK_GROUPS, InProcessNode

pytestmark = pytest.mark.integration

PID_COMMITTED, PID_ABORTED, PID_OPEN = 5001, 5002, 5003


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    server = InProcessNode(Path(tmp_path_factory.mktemp("read-committed")), QUICK_GROUPS)
    server.add_listener()
    with server:
        yield server


def _txn_batch(pid: int, sequence: int, *values: bytes) -> bytes:
    return encode_batch(
        [NewRecord(None, value) for value in values],
        producer_id=pid,
        producer_epoch=0,
        base_sequence=sequence,
        transactional=True,
    )


def _end(node: InProcessNode, topic: str, pid: int, commit: bool) -> None:
    marker = TxnMarker(pid, 0, commit, 0, ((topic, 0),))
    assert node.node.marker_writer.write_markers([marker]).result(10) == {(pid, (topic, 0)): ErrorCode.NONE}


@pytest.fixture(scope="module")
def topic(node: InProcessNode) -> str:
    """Offsets: 0 plain, 1-2 committed txn, 3-4 aborted txn interleaved, 5 plain, markers, then an open txn."""
    name = f"rc-{uuid.uuid4().hex[:8]}"
    log = node.node.broker.partition(name, 0, create=True)
    log.append_and_wait(encode_batch([NewRecord(None, b"plain-1")]))
    log.append_and_wait(_txn_batch(PID_COMMITTED, 0, b"c1"))
    log.append_and_wait(_txn_batch(PID_ABORTED, 0, b"x1"))
    log.append_and_wait(_txn_batch(PID_COMMITTED, 1, b"c2"))
    log.append_and_wait(_txn_batch(PID_ABORTED, 1, b"x2"))
    log.append_and_wait(encode_batch([NewRecord(None, b"plain-2")]))
    _end(node, name, PID_ABORTED, False)
    _end(node, name, PID_COMMITTED, True)
    log.append_and_wait(encode_batch([NewRecord(None, b"plain-3")]))
    log.append_and_wait(_txn_batch(PID_OPEN, 0, b"open"))
    log.append_and_wait(encode_batch([NewRecord(None, b"after-open")]))
    return name


COMMITTED = [b"plain-1", b"c1", b"c2", b"plain-2", b"plain-3"]
UNCOMMITTED = [b"plain-1", b"c1", b"x1", b"c2", b"x2", b"plain-2", b"plain-3", b"open", b"after-open"]


def _confluent_values(node: InProcessNode, topic: str, isolation: str, count: int) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": node.bootstrap,
            "group.id": f"g-{uuid.uuid4().hex[:6]}",
            "isolation.level": isolation,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        values: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
        # Nothing more arrives: what is past the last stable offset stays unread.
        extra = consumer.poll(1.0)
        if extra is not None and extra.error() is None:
            values.append(extra.value())
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        assert low == 0
        assert high > 0
        return values
    finally:
        consumer.close()


def test_confluent_read_committed_sees_only_committed_records(node: InProcessNode, topic: str) -> None:
    assert _confluent_values(node, topic, "read_committed", len(COMMITTED)) == COMMITTED


def test_confluent_read_uncommitted_is_unchanged(node: InProcessNode, topic: str) -> None:
    assert _confluent_values(node, topic, "read_uncommitted", len(UNCOMMITTED)) == UNCOMMITTED


def test_kafka_python_read_committed_and_end_offsets(node: InProcessNode, topic: str) -> None:
    log = node.node.broker.store.partition(topic, 0)
    for isolation, expected, end in (
        ("read_committed", COMMITTED, log.last_stable_offset),
        ("read_uncommitted", UNCOMMITTED, log.high_watermark),
    ):
        consumer = KafkaConsumer(
            bootstrap_servers=node.bootstrap,
            isolation_level=isolation,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=3000,
        )
        try:
            partition = KafkaPythonPartition(topic, 0)
            consumer.assign([partition])
            assert [message.value for message in consumer] == expected
            assert consumer.end_offsets([partition])[partition] == end
        finally:
            consumer.close()


def test_committing_the_open_transaction_releases_it(node: InProcessNode) -> None:
    name = f"rc-open-{uuid.uuid4().hex[:8]}"
    log = node.node.broker.partition(name, 0, create=True)
    log.append_and_wait(_txn_batch(PID_OPEN + 10, 0, b"t1", b"t2"))
    assert (log.last_stable_offset, log.high_watermark) == (0, 2)
    _end(node, name, PID_OPEN + 10, True)
    assert _confluent_values(node, name, "read_committed", 2) == [b"t1", b"t2"]


def test_describe_producers_shows_open_transactions_and_coordinator_epochs(node: InProcessNode) -> None:
    name = f"rc-describe-{uuid.uuid4().hex[:8]}"
    log = node.node.broker.partition(name, 0, create=True)
    log.append_and_wait(encode_batch([NewRecord(None, b"x")]))
    log.append_and_wait(_txn_batch(PID_OPEN + 20, 0, b"a"))  # offset 1, left open
    log.append_and_wait(_txn_batch(PID_OPEN + 21, 0, b"b"))
    marker = TxnMarker(PID_OPEN + 21, 0, True, 6, ((name, 0),))
    assert node.node.marker_writer.write_markers([marker]).result(10) == {(PID_OPEN + 21, (name, 0)): ErrorCode.NONE}
    admin = KafkaAdminClient(bootstrap_servers=node.bootstrap)
    try:
        partition = KafkaPythonPartition(name, 0)
        producers = {p.producer_id: p for p in admin.describe_producers([partition])[partition].active_producers}
    finally:
        admin.close()
    assert producers[PID_OPEN + 20].current_transaction_start_offset == 1
    assert producers[PID_OPEN + 20].coordinator_epoch == -1
    assert producers[PID_OPEN + 21].current_transaction_start_offset == -1
    assert producers[PID_OPEN + 21].coordinator_epoch == 6


# --- real transactional producers --------------------------------------------------------------------------------


def _kafka_python_values(node: InProcessNode, topic: str, isolation: str) -> list[bytes]:
    consumer = KafkaConsumer(
        bootstrap_servers=node.bootstrap,
        isolation_level=isolation,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        consumer.assign([KafkaPythonPartition(topic, 0)])
        return [message.value for message in consumer]
    finally:
        consumer.close()


def test_confluent_transactions_read_by_both_clients(node: InProcessNode) -> None:
    """confluent-kafka's transactional producer commits, aborts (after the aborted records were flushed to the log)
    and commits again; read_committed readers of both clients get the committed records only."""
    topic = f"rc-confluent-{uuid.uuid4().hex[:8]}"
    node.node.broker.partition(topic, 0, create=True)
    producer = ConfluentProducer({"bootstrap.servers": node.bootstrap, "transactional.id": f"t-{topic}"})
    producer.init_transactions(30)
    for values, commit in (([b"c1", b"c2"], True), ([b"a1", b"a2"], False), ([b"c3"], True)):
        producer.begin_transaction()
        for value in values:
            producer.produce(topic, value, partition=0)
        producer.flush(30)
        (producer.commit_transaction if commit else producer.abort_transaction)(30)
    log = node.node.broker.store.partition(topic, 0)
    # As in Kafka, EndTxn is answered once the decision is logged and the markers follow: wait for the last one.
    deadline = time.monotonic() + 30
    while log.last_stable_offset != log.high_watermark and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.last_stable_offset == log.high_watermark
    assert _confluent_values(node, topic, "read_committed", 3) == [b"c1", b"c2", b"c3"]
    assert _kafka_python_values(node, topic, "read_committed") == [b"c1", b"c2", b"c3"]
    assert _kafka_python_values(node, topic, "read_uncommitted") == [b"c1", b"c2", b"a1", b"a2", b"c3"]


def test_kafka_python_transactions_read_by_both_clients(node: InProcessNode) -> None:
    topic = f"rc-kafka-python-{uuid.uuid4().hex[:8]}"
    node.node.broker.partition(topic, 0, create=True)
    producer = KafkaProducer(bootstrap_servers=node.bootstrap, transactional_id=f"t-{topic}")
    try:
        producer.init_transactions()
        for values, commit in (([b"c1"], True), ([b"a1", b"a2"], False), ([b"c2", b"c3"], True)):
            producer.begin_transaction()
            for value in values:
                producer.send(topic, value, partition=0).get(10)
            (producer.commit_transaction if commit else producer.abort_transaction)()
        # An open transaction holds read_committed readers back; its records are readable uncommitted.
        producer.begin_transaction()
        producer.send(topic, b"open", partition=0).get(10)
        assert _confluent_values(node, topic, "read_committed", 3) == [b"c1", b"c2", b"c3"]
        assert _kafka_python_values(node, topic, "read_committed") == [b"c1", b"c2", b"c3"]
        assert _kafka_python_values(node, topic, "read_uncommitted")[-1] == b"open"
        producer.commit_transaction()
        assert _kafka_python_values(node, topic, "read_committed") == [b"c1", b"c2", b"c3", b"open"]
    finally:
        producer.close(timeout=5)
