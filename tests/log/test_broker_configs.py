"""Dynamic broker configs: which can change, how they become topic defaults, their file and their place in the
cluster metadata (a versioned state whose version 1 stays readable)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.log import broker_configs
from hub.log.broker_configs import BROKER_SPECS
from hub.log.cluster import codec
from hub.log.cluster import transitions as tr
from hub.log.cluster.metadata import ClusterMetadata, TopicState, unclean_enabled
from hub.log.config import TopicConfig, topic_defaults
from hub.log.errors import InvalidRequestError
from hub.log.group.consumer_heartbeat import ConsumerSettings
from hub.log.group.coordinator import CoordinatorConfig
from hub.log.store import TopicStore
from hub.log.txn.coordinator import TransactionConfig


def test_broker_names_with_hours_and_minutes_become_topic_defaults_in_kafkas_order() -> None:
    assert topic_defaults({"log.retention.hours": "2"}) == {"retention.ms": 7_200_000}
    assert topic_defaults({"log.retention.hours": "2", "log.retention.ms": "5"}) == {"retention.ms": "5"}
    assert topic_defaults({"log.roll.hours": "1", "min.insync.replicas": "2"}) == {
        "segment.ms": 3_600_000,
        "min.insync.replicas": "2",
    }
    assert TopicConfig.build(defaults={"log.retention.minutes": 3}).get("retention.ms") == 180_000


def test_read_only_unknown_and_bad_broker_configs_are_refused() -> None:
    broker_configs.check_dynamic({"log.retention.ms": "1000", "log.cleanup.policy": "compact"})
    with pytest.raises(InvalidRequestError, match=r"dynamically: node\.id"):
        broker_configs.check_dynamic({"node.id": "3"})
    with pytest.raises(InvalidRequestError, match=r"Unknown broker configs: no\.such"):
        broker_configs.check_dynamic({"no.such": "1"})
    with pytest.raises(InvalidRequestError, match=r"log\.retention\.hours"):
        broker_configs.check_dynamic({"log.retention.hours": "soon"})


def test_a_single_nodes_dynamic_configs_apply_to_topics_without_their_own_and_survive_a_restart(
    tmp_path: Path,
) -> None:
    with TopicStore(tmp_path, defaults={"log.segment.bytes": 2048}) as store:
        store.create_topic("plain")
        store.create_topic("own", configs={"retention.ms": "1"})
        store.set_dynamic_configs({"": {"log.retention.hours": "1"}, "0": {"log.segment.bytes": "4096"}})
        assert store.topic("plain").config.get("retention.ms") == 3_600_000
        assert store.partition("plain", 0).config.get("segment.bytes") == 4096
        assert store.topic("own").config.get("retention.ms") == 1
    saved = json.loads((tmp_path / broker_configs.DYNAMIC_CONFIGS_FILE).read_text())
    assert saved["version"] == 1
    with TopicStore(tmp_path, defaults={"log.segment.bytes": 2048}) as store:
        assert store.dynamic_configs == {"": {"log.retention.hours": "1"}, "0": {"log.segment.bytes": "4096"}}
        assert store.topic("plain").config.get("retention.ms") == 3_600_000
        store.set_dynamic_configs({})
        assert store.topic("plain").config.get("segment.bytes") == 2048


def test_cluster_metadata_carries_broker_configs_and_reads_version_1_snapshots_and_commands() -> None:
    state = tr.alter_broker_config(ClusterMetadata("c"), "", {"log.retention.ms": "10"}, replace_all=False)
    state = tr.alter_broker_config(state, "2", {"message.max.bytes": "2000"}, replace_all=False)
    state = tr.alter_broker_config(state, "", {"log.retention.ms": None}, replace_all=False)
    assert state.broker_configs == {"2": {"message.max.bytes": "2000"}}
    with pytest.raises(InvalidRequestError):
        tr.alter_broker_config(state, "", {"node.id": "1"}, replace_all=False)
    restored, _ = codec.decode_snapshot(codec.encode_snapshot(state, {}))
    assert restored.broker_configs == state.broker_configs
    old_state = {k: v for k, v in codec.state_to_json(ClusterMetadata("c")).items() if k != "broker_configs"}
    old_snapshot = codec.MAGIC_SNAPSHOT + b"\x01" + json.dumps({"state": old_state, "raft": {}}).encode()
    assert codec.decode_snapshot(old_snapshot)[0] == ClusterMetadata("c")
    old_command = codec.MAGIC_COMMAND + b"\x01" + json.dumps({"op": "barrier", "args": {}, "cluster_id": "c"}).encode()
    assert codec.decode_command(old_command) == ("barrier", {}, "c")


def test_unclean_leader_election_is_a_cluster_wide_dynamic_config_only() -> None:
    state = ClusterMetadata("c", topics={"t": TopicState("t", "0" * 32, {}, ())})
    assert not unclean_enabled(state.topics["t"], False, state)
    state = tr.alter_broker_config(state, "", {"unclean.leader.election.enable": "true"}, replace_all=False)
    assert unclean_enabled(state.topics["t"], False, state)
    own = TopicState("t", "0" * 32, {"unclean.leader.election.enable": "false"}, ())
    assert not unclean_enabled(own, False, state)  # the topic's own value wins
    with pytest.raises(InvalidRequestError, match="only at the cluster-wide level"):
        tr.alter_broker_config(state, "1", {"unclean.leader.election.enable": "true"}, replace_all=False)


def test_the_coordinators_settings_are_described_with_the_defaults_they_run_with() -> None:
    # the specs' defaults are what the coordinators' configs default to, so a node on defaults shows none as set
    assert broker_configs.coordinator_values(CoordinatorConfig(), TransactionConfig()) == {}
    assert broker_configs.coordinator_values(None, None) == {}
    changed = broker_configs.coordinator_values(
        CoordinatorConfig(consumer=ConsumerSettings(session_timeout_ms=30_000)), TransactionConfig(min_isr=1)
    )
    assert changed == {"group.consumer.session.timeout.ms": "30000", "transaction.state.log.min.isr": "1"}
    for name in ("group.max.size", "transactional.id.expiration.ms"):
        assert not BROKER_SPECS[name].dynamic
    with pytest.raises(InvalidRequestError, match=r"dynamically: group\.max\.size"):
        broker_configs.check_dynamic({"group.max.size": "3"})
