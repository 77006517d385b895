"""A store node's transaction coordinator over its real ``__transaction_state``: a transaction the node stopped in
PrepareCommit (its markers never written) is completed, markers and all, when the node opens again; the settings
reach the coordinator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.errors import InvalidConfigError
from hub.log.node import LogNode, node_config
from hub.log.txn.metadata import TxnState
from tests.log.txn.fakes import RecordingMarkerWriter


def open_node(data_dir: Path, writer: RecordingMarkerWriter) -> LogNode:
    node = LogNode(node_config(data_dir, {"transaction.state.log.num.partitions": "5"}))
    node.transactions.markers.writer = writer
    node.open()
    return node


def test_a_transaction_stopped_in_prepare_commit_is_completed_when_the_node_opens_again(tmp_path: Path) -> None:
    held = RecordingMarkerWriter()
    held.hold = True
    node = open_node(tmp_path, held)
    try:
        coordinator = node.transactions
        answer = coordinator.init_producer_id("tx", 60_000).result(5)
        node.broker.topic("data", create=True)
        assert coordinator.add_partitions("tx", answer.producer_id, 0, [("data", 0)]).result(5) == {
            ("data", 0): ErrorCode.NONE
        }
        assert coordinator.end_transaction("tx", answer.producer_id, 0, True).result(5) is ErrorCode.NONE
    finally:
        node.close()
    assert held.written == []

    writer = RecordingMarkerWriter()
    node = open_node(tmp_path, writer)
    try:
        for _ in range(500):
            record = node.transactions.snapshot("tx")
            if record is not None and record.state is TxnState.COMPLETE_COMMIT:
                break
            time.sleep(0.01)
        assert record is not None
        assert record.state is TxnState.COMPLETE_COMMIT
        assert node.store.topics()["__transaction_state"].partitions == 5
        assert [(m.producer_id, m.commit, m.partitions) for m in writer.written] == [
            (answer.producer_id, True, (("data", 0),))
        ]
        again = node.transactions.init_producer_id("tx", 60_000).result(5)
        assert (again.producer_id, again.producer_epoch) == (answer.producer_id, 1)
    finally:
        node.close()


def test_transaction_settings_reach_the_coordinator(tmp_path: Path) -> None:
    config = node_config(
        tmp_path,
        {
            "transaction.max.timeout.ms": "1000",
            "transactional.id.expiration.ms": "5000",
            "transaction.abort.timed.out.transaction.cleanup.interval.ms": "100",
            "transaction.remove.expired.transaction.cleanup.interval.ms": "200",
            "transaction.state.log.replication.factor": "2",
            "transaction.state.log.min.isr": "1",
        },
    )
    settings = config.transactions
    assert (settings.max_timeout_ms, settings.id_expiration_ms) == (1000, 5000)
    assert (settings.abort_interval_ms, settings.remove_interval_ms) == (100, 200)
    assert (settings.replication_factor, settings.min_isr, settings.num_partitions) == (2, 1, 50)
    with pytest.raises(InvalidConfigError, match=r"transaction\.max\.timeout\.ms"):
        node_config(tmp_path, {"transaction.max.timeout.ms": "0"})


def test_an_abort_completes_when_a_partition_of_the_transaction_is_gone(tmp_path: Path) -> None:
    """A topic deleted while a transaction holds one of its partitions: the marker has nowhere to go and is skipped,
    as Kafka skips it, so the transaction still ends and its id is usable again."""
    node = LogNode(node_config(tmp_path, {"transaction.state.log.num.partitions": "5"}))
    node.open()
    try:
        coordinator = node.transactions
        node.broker.topic("kept", create=True)
        node.broker.topic("gone", create=True)
        answer = coordinator.init_producer_id("tx", 60_000).result(5)
        added = coordinator.add_partitions("tx", answer.producer_id, 0, [("kept", 0), ("gone", 0)]).result(5)
        assert set(added.values()) == {ErrorCode.NONE}
        node.store.delete_topic("gone")
        assert coordinator.end_transaction("tx", answer.producer_id, 0, False).result(5) is ErrorCode.NONE
        deadline = time.monotonic() + 10
        while (
            again := coordinator.init_producer_id("tx", 60_000).result(5)
        ).error is ErrorCode.CONCURRENT_TRANSACTIONS:
            assert time.monotonic() < deadline, "the abort never completed"
            time.sleep(0.05)
        assert (again.error, again.producer_id, again.producer_epoch) == (ErrorCode.NONE, answer.producer_id, 1)
    finally:
        node.close()
