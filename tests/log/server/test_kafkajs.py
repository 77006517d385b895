"""Hub's Kafka listener with KafkaJS (Node.js), a client family with its own protocol code: producers (idempotent
or not, gzip, keys, headers), a consumer group of two members with commits and a resumed member, and the admin
client. Every run also checks the versions KafkaJS chose: the newest both sides know, and one Hub advertises.
Transactions are not covered here (Hub has none yet)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from tests.harness import kafkajs
from tests.harness.hub import HubServer
from tests.harness.kafkajs import BROKER_RESOURCE, TOPIC_RESOURCE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def _kafkajs_installed() -> None:
    kafkajs.require()


@pytest.fixture(scope="module")
def brokers(hub_server: HubServer) -> str:
    return hub_server.bootstrap


def _name(prefix: str = "js") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _admin(brokers: str, *steps: tuple[Any, ...]) -> list[dict[str, Any]]:
    steps_done: list[dict[str, Any]] = kafkajs.check_versions(kafkajs.admin(brokers, *steps, retries=1))["steps"]
    return steps_done


def _ok(step: dict[str, Any]) -> Any:
    assert "error" not in step, step["error"]
    return step["ok"]


def _produce(brokers: str, *sends: dict[str, Any], **producer: Any) -> list[list[dict[str, Any]]]:
    result = kafkajs.check_versions(
        kafkajs.run("produce", {"brokers": [brokers], "producer": producer, "sends": list(sends)})
    )
    results: list[list[dict[str, Any]]] = result["results"]
    assert all(isinstance(sent, list) for sent in results), results
    return results


def _consume(brokers: str, group: str, topic: str, expect: int, **spec: Any) -> dict[str, Any]:
    spec = {"brokers": [brokers], "groupId": group, "topics": [topic], "expect": expect, **spec}
    result = kafkajs.check_versions(kafkajs.run("consume", spec, timeout_s=90))
    assert not result["timedOut"], result
    assert result["crash"] is None, result["crash"]
    return result


def _create(brokers: str, topic: str, partitions: int, **configs: str) -> None:
    entries = [{"name": name.replace("_", "."), "value": value} for name, value in configs.items()]
    spec = {"topics": [{"topic": topic, "numPartitions": partitions, "configEntries": entries}]}
    assert _ok(_admin(brokers, ("createTopics", spec))[0]) is True


def _kafka_errors(step: dict[str, Any]) -> list[str]:
    return kafkajs.kafka_errors(step["error"])


def _offsets(steps_ok: Any) -> dict[int, int]:
    [topic] = steps_ok
    return {p["partition"]: int(p["offset"]) for p in topic["partitions"]}


def test_kafkajs_producers_keys_headers_gzip_and_idempotence(brokers: str) -> None:
    topic = _name()
    _create(brokers, topic, 3)
    keyed = [{"key": f"k{i % 4}", "value": f"idem-{i}", "headers": {"n": str(i), "src": "kafkajs"}} for i in range(40)]
    [idempotent] = _produce(brokers, {"topic": topic, "compression": "gzip", "messages": keyed}, idempotent=True)
    plain_sends = [
        {"topic": topic, "acks": 1, "messages": [{"key": "k1", "value": "plain-gzip"}], "compression": "gzip"},
        {"topic": topic, "acks": 1, "messages": [{"value": "no-key", "partition": 2}]},
        {"topic": topic, "acks": -1, "messages": [{"key": "k2", "value": "", "headers": {"empty": ""}}]},
    ]
    plain = _produce(brokers, *plain_sends)
    assert all(part["errorCode"] == 0 for send in [idempotent, *plain] for part in send)

    # Read back with confluent-kafka (librdkafka), an independent decoder of what Hub stored.
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": _name("g"), "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    records: list[tuple[int, bytes | None, bytes | None, dict[str, bytes]]] = []
    deadline = time.monotonic() + 30
    while len(records) < 43 and time.monotonic() < deadline:
        for message in consumer.consume(100, 0.5):
            assert message.error() is None, message.error()
            headers = dict(message.headers() or [])
            records.append((message.partition(), message.key(), message.value(), headers))
    consumer.close()
    assert len(records) == 43
    by_value = {value.decode(): (partition, key, headers) for partition, key, value, headers in records if value}
    for i in range(40):
        _partition, key, headers = by_value[f"idem-{i}"]
        assert key == f"k{i % 4}".encode()
        assert headers == {"n": str(i).encode(), "src": b"kafkajs"}
    partitions_of = {key: {p for p, k, _v, _h in records if k == key} for key in (b"k0", b"k1", b"k2", b"k3")}
    assert all(len(ps) == 1 for ps in partitions_of.values()), partitions_of  # one key, one partition
    assert by_value["plain-gzip"][0] in partitions_of[b"k1"]
    assert by_value["no-key"][:2] == (2, None)
    assert (partitions_of[b"k2"].pop(), b"k2", b"", {"empty": b""}) in records


def test_kafkajs_producer_errors_are_kafkas(brokers: str) -> None:
    compacted, small = _name(), _name()
    _create(brokers, compacted, 1, cleanup_policy="compact")
    _create(brokers, small, 1, max_message_bytes="2000")
    sends = [
        {"topic": compacted, "messages": [{"key": "gone", "value": None}]},  # a tombstone is a record
        {"topic": compacted, "messages": [{"value": "keyless"}]},
        {"topic": small, "messages": [{"value": "x" * 4000}]},
        {"topic": "__consumer_offsets", "messages": [{"value": "x"}]},
        {"topic": small, "messages": [{"value": "fits"}]},
    ]
    spec = {"brokers": [brokers], "producer": {"retry": {"retries": 0}}, "sends": sends}
    tombstone, keyless, large, internal, fits = kafkajs.check_versions(kafkajs.run("produce", spec))["results"]
    assert [part["errorCode"] for part in tombstone + fits] == [0, 0]
    assert _kafka_errors(keyless) == ["INVALID_RECORD"]
    assert _kafka_errors(large) == ["MESSAGE_TOO_LARGE"]
    assert _kafka_errors(internal) == ["INVALID_TOPIC_EXCEPTION"]


def test_kafkajs_group_shares_partitions_commits_and_resumes(brokers: str) -> None:
    topic, group = _name(), _name("g")
    _create(brokers, topic, 4)
    first = [{"key": f"k{i}", "value": f"first-{i}"} for i in range(24)]
    shared = _consume(
        brokers,
        group,
        topic,
        24,
        members=2,
        partitions=4,
        produce={"topic": topic, "messages": first},
        describeGroup=True,
    )
    owned: list[set[int]] = []
    for member in shared["members"]:
        mine = set(member["assignment"][topic])
        assert mine
        assert {m["partition"] for m in member["messages"]} <= mine
        owned.append(mine)
    assert owned[0].isdisjoint(owned[1])
    assert owned[0] | owned[1] == {0, 1, 2, 3}
    described = shared["group"]
    assert (described["state"], described["protocol"]) == ("Stable", "RoundRobinAssigner")
    assert sorted(sorted(m["assignment"][topic]) for m in described["members"]) == sorted(map(sorted, owned))
    assert {m["clientHost"] for m in described["members"]} == {"127.0.0.1"}
    got = {m["value"] for member in shared["members"] for m in member["messages"]}
    assert got == {f"first-{i}" for i in range(24)}

    # The members committed what they read: the group's offsets are the partitions' ends.
    fetched, ends = _admin(
        brokers, ("fetchOffsets", {"groupId": group, "topics": [topic]}), ("fetchTopicOffsets", topic)
    )
    assert _offsets(_ok(fetched)) == {p["partition"]: int(p["high"]) for p in _ok(ends)}
    assert sum(_offsets(_ok(fetched)).values()) == 24

    # A new member of the group starts at the committed offsets: it gets the new records only.
    later = [{"key": f"k{i}", "value": f"later-{i}"} for i in range(6)]
    _produce(brokers, {"topic": topic, "messages": later})
    resumed = _consume(brokers, group, topic, 6)
    assert sorted(m["value"] for m in resumed["members"][0]["messages"]) == sorted(m["value"] for m in later)


def test_kafkajs_admin_topics(brokers: str) -> None:
    topic, other = _name(), _name()
    create = {
        "topics": [
            {"topic": topic, "numPartitions": 3, "configEntries": [{"name": "retention.ms", "value": "60000"}]},
            {"topic": other, "numPartitions": 1, "configEntries": [{"name": "cleanup.policy", "value": "compact"}]},
        ]
    }
    describe = {
        "includeSynonyms": False,
        "resources": [{"type": TOPIC_RESOURCE, "name": topic, "configNames": ["retention.ms", "cleanup.policy"]}],
    }
    bad_factor = {"topics": [{"topic": _name(), "numPartitions": 1, "replicationFactor": 3}]}
    bad_name = {"topics": [{"topic": "no spaces!", "numPartitions": 1}]}
    bad_config = {"topics": [{"topic": _name(), "configEntries": [{"name": "retention.ms", "value": "soon"}]}]}
    # KafkaJS waits for a created topic's leaders unless told not to, which a validation never creates.
    validated = _name()
    validate = {"validateOnly": True, "waitForLeaders": False, "topics": [{"topic": validated, "numPartitions": 2}]}
    steps = _admin(
        brokers,
        ("createTopics", create),
        ("createTopics", {"topics": [{"topic": topic, "numPartitions": 3}]}),
        ("createTopics", bad_factor),
        ("createTopics", bad_name),
        ("createTopics", bad_config),
        ("createTopics", validate),
        ("listTopics",),
        ("fetchTopicMetadata", {"topics": [topic, other]}),
        ("describeConfigs", describe),
        ("createPartitions", {"topicPartitions": [{"topic": topic, "count": 5}]}),
        ("createPartitions", {"topicPartitions": [{"topic": topic, "count": 2}]}),
        ("fetchTopicMetadata", {"topics": [topic]}),
        ("deleteTopics", {"topics": [other]}),
        ("listTopics",),
    )
    (
        created,
        again,
        refused,
        misnamed,
        misconfigured,
        validation,
        listed,
        metadata,
        configs,
        grown,
        shrink,
        regrown,
        deleted,
        relisted,
    ) = steps
    assert _ok(created) is True
    assert _ok(again) is False  # KafkaJS reports TOPIC_ALREADY_EXISTS as "nothing created"
    assert _kafka_errors(refused) == ["INVALID_REPLICATION_FACTOR"]
    assert _kafka_errors(misnamed) == ["INVALID_TOPIC_EXCEPTION"]
    assert _kafka_errors(misconfigured) == ["INVALID_CONFIG"]
    assert _ok(validation) is True
    assert {topic, other} <= set(_ok(listed))
    assert validated not in _ok(listed)
    shapes = {
        t["name"]: [(p["partitionId"], p["leader"], p["replicas"]) for p in t["partitions"]]
        for t in _ok(metadata)["topics"]
    }
    assert shapes == {topic: [(p, 0, [0]) for p in range(3)], other: [(0, 0, [0])]}
    [resource] = _ok(configs)["resources"]
    entries = {e["configName"]: e for e in resource["configEntries"]}
    assert (entries["retention.ms"]["configValue"], entries["retention.ms"]["isDefault"]) == ("60000", False)
    assert (entries["cleanup.policy"]["configValue"], entries["cleanup.policy"]["isDefault"]) == ("delete", True)
    assert _ok(grown) is None
    assert _kafka_errors(shrink) == ["INVALID_PARTITIONS"]
    assert [p["partitionId"] for p in _ok(regrown)["topics"][0]["partitions"]] == [0, 1, 2, 3, 4]
    assert _ok(deleted) is None
    assert topic in _ok(relisted)
    assert other not in _ok(relisted)

    # confluent-kafka sees the same: the partition count, the compacted topic gone, retention.ms set.
    admin = AdminClient({"bootstrap.servers": brokers})
    listing = admin.list_topics(timeout=10)
    assert len(listing.topics[topic].partitions) == 5
    assert other not in listing.topics
    [described] = admin.describe_configs([ConfigResource("topic", topic)]).values()
    assert described.result(10)["retention.ms"].value == "60000"


def test_kafkajs_admin_cluster_and_broker_configs(brokers: str) -> None:
    names = ["num.partitions", "log.retention.ms", "message.max.bytes"]
    broker_configs = {
        "includeSynonyms": True,
        "resources": [{"type": BROKER_RESOURCE, "name": "0", "configNames": names}],
    }
    cluster, configs = _admin(brokers, ("describeCluster",), ("describeConfigs", broker_configs))
    described = _ok(cluster)
    host, port = brokers.rsplit(":", 1)
    assert described["brokers"] == [{"nodeId": 0, "host": host, "port": int(port)}]
    assert described["controller"] == 0
    admin = AdminClient({"bootstrap.servers": brokers})
    assert described["clusterId"] == admin.list_topics(timeout=10).cluster_id
    [resource] = _ok(configs)["resources"]
    entries = {e["configName"]: e for e in resource["configEntries"]}
    assert sorted(entries) == sorted(names)
    assert all(entry["configSynonyms"] for entry in entries.values())  # at least the entry's own source
    # confluent-kafka reads the same values.
    [theirs] = admin.describe_configs([ConfigResource("broker", "0")]).values()
    their_entries = theirs.result(10)
    assert {name: entries[name]["configValue"] for name in names} == {name: their_entries[name].value for name in names}


def test_kafkajs_admin_groups_and_offsets(brokers: str) -> None:
    topic, group = _name(), _name("g")
    _create(brokers, topic, 2)
    messages = [{"partition": i % 2, "value": f"v{i}"} for i in range(10)]
    _produce(brokers, {"topic": topic, "messages": messages})
    _consume(brokers, group, topic, 10)
    listed, described, fetched = _admin(
        brokers,
        ("listGroups",),
        ("describeGroups", [group]),
        ("fetchOffsets", {"groupId": group, "topics": [topic]}),
    )
    assert {"groupId": group, "protocolType": "consumer"} in _ok(listed)["groups"]
    [description] = _ok(described)["groups"]
    assert (description["errorCode"], description["state"], description["members"]) == (0, "Empty", [])
    assert _offsets(_ok(fetched)) == {0: 5, 1: 5}

    # setOffsets moves one partition back: the group reads partition 0 from offset 3 again.
    moved, refetched = _admin(
        brokers,
        ("setOffsets", {"groupId": group, "topic": topic, "partitions": [{"partition": 0, "offset": "3"}]}),
        ("fetchOffsets", {"groupId": group, "topics": [topic]}),
    )
    assert _ok(moved) is None
    assert _offsets(_ok(refetched)) == {0: 3, 1: 5}
    again = _consume(brokers, group, topic, 2)["members"][0]["messages"]
    assert [(m["partition"], m["offset"], m["value"]) for m in again] == [(0, 3, "v6"), (0, 4, "v8")]

    # resetOffsets to the earliest: the group reads everything again.
    [reset] = _admin(brokers, ("resetOffsets", {"groupId": group, "topic": topic, "earliest": True}))
    assert _ok(reset) is None
    everything = _consume(brokers, group, topic, 10)["members"][0]["messages"]
    assert sorted(m["value"] for m in everything) == sorted(m["value"] for m in messages)


def test_kafkajs_admin_delete_records(brokers: str) -> None:
    topic = _name()
    _create(brokers, topic, 1)
    _produce(brokers, {"topic": topic, "messages": [{"value": f"v{i}"} for i in range(10)]})
    _loaded, deleted, offsets, beyond = _admin(
        brokers,
        ("fetchTopicMetadata", {"topics": [topic]}),  # KafkaJS finds leaders in metadata it has loaded
        ("deleteTopicRecords", {"topic": topic, "partitions": [{"partition": 0, "offset": "4"}]}),
        ("fetchTopicOffsets", topic),
        ("deleteTopicRecords", {"topic": topic, "partitions": [{"partition": 0, "offset": "11"}]}),
    )
    assert _ok(deleted) is None
    assert [(p["low"], p["high"]) for p in _ok(offsets)] == [("4", "10")]
    assert _kafka_errors(beyond) == ["OFFSET_OUT_OF_RANGE"]
    rest = _consume(brokers, _name("g"), topic, 6)["members"][0]["messages"]
    assert [(m["offset"], m["value"]) for m in rest] == [(i, f"v{i}") for i in range(4, 10)]
    # confluent-kafka sees the new start of the log.
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": _name("g")})
    assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (4, 10)
    consumer.close()


def test_kafkajs_admin_delete_groups(brokers: str) -> None:
    topic, group = _name(), _name("g")
    _produce(brokers, {"topic": topic, "messages": [{"value": "one"}]})
    _consume(brokers, group, topic, 1)
    deleted, listed, unknown = _admin(
        brokers, ("deleteGroups", [group]), ("listGroups",), ("deleteGroups", [_name("never")])
    )
    assert [(g["groupId"], g["errorCode"]) for g in _ok(deleted)] == [(group, 0)]
    assert group not in {g["groupId"] for g in _ok(listed)["groups"]}
    assert _kafka_errors(unknown) == ["GROUP_ID_NOT_FOUND"]
    # The group's committed offsets went with it: a new member starts from the beginning again.
    assert [m["value"] for m in _consume(brokers, group, topic, 1)["members"][0]["messages"]] == ["one"]


def test_kafkajs_admin_alter_configs(brokers: str) -> None:
    topic = _name()
    _create(brokers, topic, 1, retention_ms="60000")

    def alter(validate_only: bool, **configs: str) -> dict[str, Any]:
        entries = [{"name": name.replace("_", "."), "value": value} for name, value in configs.items()]
        return {
            "validateOnly": validate_only,
            "resources": [{"type": TOPIC_RESOURCE, "name": topic, "configEntries": entries}],
        }

    names = ["retention.ms", "max.message.bytes"]
    describe = {"resources": [{"type": TOPIC_RESOURCE, "name": topic, "configNames": names}]}
    checked, unchanged, altered, bad, final = _admin(
        brokers,
        ("alterConfigs", alter(True, max_message_bytes="4096")),
        ("describeConfigs", describe),
        ("alterConfigs", alter(False, max_message_bytes="4096")),
        ("alterConfigs", alter(False, retention_ms="not-a-number")),
        ("describeConfigs", describe),
    )
    assert _ok(checked)["resources"][0]["errorCode"] == 0

    def values(step: dict[str, Any]) -> dict[str, tuple[str, bool]]:
        [resource] = _ok(step)["resources"]
        return {e["configName"]: (e["configValue"], e["isDefault"]) for e in resource["configEntries"]}

    assert values(unchanged)["max.message.bytes"][1] is True  # validateOnly changed nothing
    assert _ok(altered)["resources"][0]["errorCode"] == 0
    assert _kafka_errors(bad) == ["INVALID_CONFIG"]
    # AlterConfigs replaces the topic's whole set: retention.ms, not named, is back to its default.
    assert values(final)["max.message.bytes"] == ("4096", False)
    assert values(final)["retention.ms"][1] is True
    admin = AdminClient({"bootstrap.servers": brokers})
    [described] = admin.describe_configs([ConfigResource("topic", topic)]).values()
    assert described.result(10)["max.message.bytes"].value == "4096"


def test_kafkajs_admin_alter_broker_configs(brokers: str) -> None:
    topic = _name()
    _create(brokers, topic, 1)

    def broker(*entries: tuple[str, str]) -> dict[str, Any]:
        configs = [{"name": name, "value": value} for name, value in entries]
        return {"resources": [{"type": BROKER_RESOURCE, "name": "0", "configEntries": configs}]}

    describe = {
        "resources": [
            {"type": BROKER_RESOURCE, "name": "0", "configNames": ["log.index.interval.bytes"]},
            {"type": TOPIC_RESOURCE, "name": topic, "configNames": ["index.interval.bytes"]},
        ]
    }
    try:
        altered, static, changed = _admin(
            brokers,
            ("alterConfigs", broker(("log.index.interval.bytes", "8192"))),
            ("alterConfigs", broker(("num.partitions", "7"))),
            ("describeConfigs", describe),
        )
    finally:  # the listener is shared: AlterConfigs with no entries drops this broker's dynamic configs
        restored, back = _admin(brokers, ("alterConfigs", broker()), ("describeConfigs", describe))
    assert _ok(altered)["resources"][0]["errorCode"] == 0
    assert _kafka_errors(static) == ["INVALID_REQUEST"]  # Kafka's answer: not a dynamic config

    def sources(step: dict[str, Any]) -> list[tuple[str, str, int]]:
        entries = [entry for resource in _ok(step)["resources"] for entry in resource["configEntries"]]
        return [(e["configName"], e["configValue"], e["configSource"]) for e in entries]

    # 2 is DYNAMIC_BROKER_CONFIG: the topic, with no value of its own, takes the broker's.
    assert sources(changed) == [("log.index.interval.bytes", "8192", 2), ("index.interval.bytes", "8192", 2)]
    assert _ok(restored)["resources"][0]["errorCode"] == 0
    assert [value for _config, value, _source in sources(back)] == ["4096", "4096"]
