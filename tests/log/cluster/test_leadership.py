"""PartitionLeadership over a real PartitionLog: the high watermark is the ISR's least log end offset, acks=all
waits end when it passes them (or fail when leadership ends), followers join and leave the ISR by Kafka's rules,
and stale or future epochs are refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hub.log.cluster.leadership import PartitionLeadership
from hub.log.cluster.metadata import PartitionState
from hub.log.config import TopicConfig
from hub.log.errors import (
    FencedLeaderEpochError,
    NotEnoughReplicasError,
    NotLeaderOrFollowerError,
    UnknownLeaderEpochError,
)
from hub.log.partition import PartitionLog
from tests.log.conftest import BatchFactory


def _leadership(tmp_path: Path, isr: tuple[int, ...] = (1, 2, 3), min_insync: int = 2) -> PartitionLeadership:
    log = PartitionLog(tmp_path / "t-0", "t", 0, TopicConfig.build({}))
    log.open()
    state = PartitionState(replicas=(1, 2, 3), isr=isr, leader=1, leader_epoch=4, partition_epoch=7)
    return PartitionLeadership(1, log, state, min_insync=lambda: min_insync)


def test_high_watermark_is_the_isrs_least_log_end(tmp_path: Path, make_batch: BatchFactory) -> None:
    leadership = _leadership(tmp_path)
    log = leadership.log
    assert log.epochs == [(4, 0)]  # the epoch starts at the log end before any append
    for value in (b"a", b"b", b"c"):
        log.append_and_wait(make_batch([value]), leader_epoch=4)
    waiting = leadership.replicated(3)
    assert log.high_watermark == 0
    leadership.record_fetch(2, 3)
    assert log.high_watermark == 0  # node 3 has fetched nothing yet
    assert not waiting.done()
    leadership.record_fetch(3, 2)
    assert log.high_watermark == 2
    leadership.record_fetch(3, 3)
    assert log.high_watermark == 3
    assert waiting.result(1) is None
    leadership.record_fetch(3, 1)  # a follower's offset never moves the high watermark back
    assert log.high_watermark == 3
    log.close()


def test_a_caught_up_follower_joins_and_a_lagging_one_leaves(tmp_path: Path, make_batch: BatchFactory) -> None:
    leadership = _leadership(tmp_path, isr=(1, 2))
    log = leadership.log
    log.append_and_wait(make_batch([b"a"]), leader_epoch=4)
    leadership.record_fetch(2, 1)
    assert log.high_watermark == 1
    assert not leadership.record_fetch(3, 0)  # below the high watermark
    assert leadership.record_fetch(3, 1)  # reached it: ask to join the ISR
    time.sleep(0.05)
    assert leadership.lagging(20) == [2]  # node 2 has not fetched since
    leadership.record_fetch(2, 1)
    assert leadership.lagging(20) == []
    log.close()


def test_epochs_min_insync_and_resign(tmp_path: Path, make_batch: BatchFactory) -> None:
    leadership = _leadership(tmp_path, isr=(1,), min_insync=2)
    leadership.check_epoch(-1)
    leadership.check_epoch(4)
    with pytest.raises(FencedLeaderEpochError):
        leadership.check_epoch(3)
    with pytest.raises(UnknownLeaderEpochError):
        leadership.check_epoch(5)
    with pytest.raises(NotEnoughReplicasError, match=r"min\.insync\.replicas is 2"):
        leadership.check_can_append(-1)
    leadership.check_can_append(1)  # acks=1 needs no ISR
    leadership.log.append_and_wait(make_batch([b"a"]), leader_epoch=4)
    waiting = leadership.replicated(5)
    leadership.resign()
    with pytest.raises(NotLeaderOrFollowerError):
        waiting.result(1)
    with pytest.raises(NotLeaderOrFollowerError):
        leadership.check_can_append(1)
    leadership.log.close()
