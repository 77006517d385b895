"""Transactional producers of real clients against Hub's listener: confluent-kafka (librdkafka) and kafka-python's
``KafkaProducer(transactional_id=...)`` — the coordinator's answers (InitProducerId, AddPartitionsToTxn, EndTxn),
fencing of a zombie by a second instance, the markers each transaction ends with, ListTransactions and
DescribeTransactions through kafka-python's admin client, FindCoordinator for transactional ids, and the raw
answers of the transaction APIs' error cases."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError as KafkaPythonError

from hub.log.error_codes import ErrorCode
from hub.log.records import iter_decoded
from hub.log.txn.metadata import TxnState
from tests.log.server.in_process import InProcessNode
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration

_ids = itertools.count()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessNode]:
    server = InProcessNode(Path(tmp_path_factory.mktemp("txn")), {})
    server.add_listener()
    with server:
        yield server


def tid(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def confluent(node: InProcessNode, transactional_id: str, **extra: object) -> Producer:
    return Producer({"bootstrap.servers": node.bootstrap, "transactional.id": transactional_id, **extra})


def wait_state(node: InProcessNode, transactional_id: str, state: TxnState) -> None:
    for _ in range(500):
        record = node.node.transactions.snapshot(transactional_id)
        if record is not None and record.state is state:
            return
        time.sleep(0.01)
    raise AssertionError(f"{transactional_id}: {node.node.transactions.snapshot(transactional_id)}")


def markers_of(node: InProcessNode, producer_id: int) -> list[tuple[bool, str, int]]:
    """(commit?, topic, partition) of each marker written for ``producer_id``."""
    found = []
    for name, info in node.node.store.topics().items():
        for index in range(info.partitions):
            partition = node.node.store.partition(name, index)
            data = partition.read(partition.log_start_offset, 1 << 24)
            for decoded in iter_decoded(data):
                header = decoded.header
                if header.is_control and header.producer_id == producer_id:
                    commit = decoded.records[0].key == b"\x00\x00\x00\x01"
                    found.append((commit, name, index))
    return found


def test_confluent_commits_and_aborts_and_each_transaction_ends_with_its_markers(node: InProcessNode) -> None:
    transactional_id = tid("confluent")
    producer = confluent(node, transactional_id)
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce("txn-a", b"committed", partition=0)
    producer.produce("txn-b", b"committed", partition=0)
    producer.commit_transaction(10)
    wait_state(node, transactional_id, TxnState.COMPLETE_COMMIT)
    producer.begin_transaction()
    producer.produce("txn-a", b"aborted", partition=0)
    producer.flush(10)
    producer.abort_transaction(10)
    wait_state(node, transactional_id, TxnState.COMPLETE_ABORT)
    record = node.node.transactions.snapshot(transactional_id)
    assert record is not None
    assert record.producer_epoch == 0
    assert sorted(markers_of(node, record.producer_id)) == [(False, "txn-a", 0), (True, "txn-a", 0), (True, "txn-b", 0)]


def test_confluent_zombie_is_fenced_by_a_second_instance(node: InProcessNode) -> None:
    transactional_id = tid("zombie")
    zombie = confluent(node, transactional_id)
    zombie.init_transactions(10)
    zombie.begin_transaction()
    zombie.produce("txn-a", b"zombie", partition=0)
    zombie.flush(10)
    successor = confluent(node, transactional_id)
    successor.init_transactions(10)  # aborts the zombie's transaction (CONCURRENT_TRANSACTIONS until done)
    with pytest.raises(KafkaException) as failed:
        zombie.commit_transaction(10)
    assert failed.value.args[0].code() == KafkaError._FENCED
    record = node.node.transactions.snapshot(transactional_id)
    assert record is not None
    assert record.producer_epoch == 2
    assert markers_of(node, record.producer_id) == [(False, "txn-a", 0)]
    successor.begin_transaction()
    successor.produce("txn-a", b"successor", partition=0)
    successor.commit_transaction(10)


def test_confluent_transaction_timeout_above_the_maximum_is_refused(node: InProcessNode) -> None:
    producer = confluent(node, tid("too-long"), **{"transaction.timeout.ms": 900_001})
    with pytest.raises(KafkaException) as failed:
        producer.init_transactions(10)
    assert failed.value.args[0].code() == KafkaError.INVALID_TRANSACTION_TIMEOUT


def test_kafka_python_transactional_producer_commits_aborts_and_is_fenced(node: InProcessNode) -> None:
    transactional_id = tid("kafka-python")
    producer = KafkaProducer(bootstrap_servers=node.bootstrap, transactional_id=transactional_id)
    try:
        producer.init_transactions()
        producer.begin_transaction()
        producer.send("txn-c", b"committed", partition=0)
        producer.commit_transaction()
        producer.begin_transaction()
        producer.send("txn-c", b"aborted", partition=0).get(10)
        producer.abort_transaction()
        wait_state(node, transactional_id, TxnState.COMPLETE_ABORT)
        record = node.node.transactions.snapshot(transactional_id)
        assert record is not None
        assert sorted(markers_of(node, record.producer_id)) == [(False, "txn-c", 0), (True, "txn-c", 0)]
        producer.begin_transaction()
        producer.send("txn-c", b"zombie", partition=0).get(10)
        successor = KafkaProducer(bootstrap_servers=node.bootstrap, transactional_id=transactional_id)
        try:
            successor.init_transactions()
            with pytest.raises(KafkaPythonError):
                producer.commit_transaction()
        finally:
            successor.close(timeout=5)
    finally:
        producer.close(timeout=5)


def test_kafka_python_admin_lists_and_describes_transactions(node: InProcessNode) -> None:
    transactional_id = tid("listed")
    producer = confluent(node, transactional_id)
    producer.init_transactions(10)
    producer.begin_transaction()
    producer.produce("txn-d", b"open", partition=0)
    producer.flush(10)
    admin = KafkaAdminClient(bootstrap_servers=node.bootstrap)
    try:
        wait_state(node, transactional_id, TxnState.ONGOING)
        by_broker = admin.list_transactions(state_filters=["Ongoing"], transactional_id_pattern="listed-.*")
        assert list(by_broker) == [0]
        assert [(t.transactional_id, t.state.value) for t in by_broker[0]] == [(transactional_id, "Ongoing")]
        assert admin.list_transactions(state_filters=["CompleteCommit"], transactional_id_pattern="listed-.*")[0] == []
        described = admin.describe_transactions([transactional_id])[transactional_id]
        assert {(tp.topic, tp.partition) for tp in described.topic_partitions} == {("txn-d", 0)}
        assert described.producer_epoch == 0
    finally:
        admin.close()
        producer.abort_transaction(10)


def test_find_coordinator_answers_transactional_ids_and_refuses_unknown_key_types(node: InProcessNode) -> None:
    with RawKafkaConnection("127.0.0.1", node.server.port) as connection:
        answer = connection.request(10, 4, {"key_type": 1, "coordinator_keys": ["some-txn"]})
        assert answer["coordinators"][0]["error_code"] == ErrorCode.NONE
        assert answer["coordinators"][0]["port"] == node.server.port
        assert connection.request(10, 3, {"key": "x", "key_type": 7})["error_code"] == ErrorCode.INVALID_REQUEST


def test_raw_transaction_api_errors(node: InProcessNode) -> None:
    with RawKafkaConnection("127.0.0.1", node.server.port) as connection:
        init = connection.request(
            22,
            4,
            {"transactional_id": "raw", "transaction_timeout_ms": 60_000, "producer_id": -1, "producer_epoch": -1},
        )
        assert init["error_code"] == ErrorCode.NONE
        pid, epoch = init["producer_id"], init["producer_epoch"]
        node.node.broker.topic("raw-topic", create=True)
        v3 = {
            "v3_and_below_transactional_id": "raw",
            "v3_and_below_producer_id": pid,
            "v3_and_below_producer_epoch": epoch + 1,
        }
        stale = connection.request(24, 1, {**v3, "v3_and_below_topics": [{"name": "raw-topic", "partitions": [0]}]})
        codes = [
            p["partition_error_code"] for t in stale["results_by_topic_v3_and_below"] for p in t["results_by_partition"]
        ]
        assert codes == [ErrorCode.INVALID_PRODUCER_EPOCH]  # v1 predates PRODUCER_FENCED
        stale = connection.request(24, 3, {**v3, "v3_and_below_topics": [{"name": "raw-topic", "partitions": [0]}]})
        assert (
            stale["results_by_topic_v3_and_below"][0]["results_by_partition"][0]["partition_error_code"]
            == ErrorCode.PRODUCER_FENCED
        )
        ok = {**v3, "v3_and_below_producer_epoch": epoch}
        missing = connection.request(
            24,
            3,
            {
                **ok,
                "v3_and_below_topics": [
                    {"name": "raw-topic", "partitions": [0]},
                    {"name": "no-such-topic", "partitions": [0]},
                ],
            },
        )
        assert {
            t["name"]: t["results_by_partition"][0]["partition_error_code"]
            for t in missing["results_by_topic_v3_and_below"]
        } == {
            "raw-topic": ErrorCode.OPERATION_NOT_ATTEMPTED,
            "no-such-topic": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        }
        end = {"transactional_id": "raw", "producer_id": pid, "producer_epoch": epoch, "committed": True}
        assert connection.request(26, 3, end)["error_code"] == ErrorCode.INVALID_TXN_STATE
        assert (
            connection.request(26, 1, {**end, "producer_epoch": epoch + 1})["error_code"]
            == ErrorCode.INVALID_PRODUCER_EPOCH
        )
        assert (
            connection.request(26, 3, {**end, "producer_id": pid + 1})["error_code"]
            == ErrorCode.INVALID_PRODUCER_ID_MAPPING
        )
        offsets = {"transactional_id": "raw", "producer_id": pid, "producer_epoch": epoch, "group_id": "g"}
        assert connection.request(25, 3, offsets)["error_code"] == ErrorCode.NONE
        batched = connection.request(
            24,
            4,
            {
                "transactions": [
                    {
                        "transactional_id": "raw",
                        "producer_id": pid,
                        "producer_epoch": epoch,
                        "verify_only": True,
                        "topics": [
                            {"name": "raw-topic", "partitions": [0]},
                            {"name": "__consumer_offsets", "partitions": [0]},
                        ],
                    },
                ]
            },
        )
        results = batched["results_by_transaction"][0]["topic_results"]
        assert {t["name"]: t["results_by_partition"][0]["partition_error_code"] for t in results} == {
            "raw-topic": ErrorCode.INVALID_TXN_STATE,
            "__consumer_offsets": ErrorCode.NONE,
        }
        assert connection.request(26, 3, {**end, "committed": False})["error_code"] == ErrorCode.NONE
        described = connection.request(65, 0, {"transactional_ids": ["raw", "nobody"]})["transaction_states"]
        assert [d["error_code"] for d in described] == [ErrorCode.NONE, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND]
        listed = connection.request(
            66, 1, {"state_filters": ["NoSuchState"], "producer_id_filters": [], "duration_filter": -1}
        )
        assert (listed["error_code"], listed["unknown_state_filters"], listed["transaction_states"]) == (
            ErrorCode.NONE,
            ["NoSuchState"],
            [],
        )
