"""Every advertised version of every API the listener serves gets a real answer from `hub log serve` (over raw
protocol requests, one per version), and what changed between versions behaves as in Kafka 4.1: topic ids, batched
FindCoordinator and OffsetFetch, ListGroups filters, DescribeGroups v6, ListOffsets' special timestamps, ApiVersions
v3-4, DescribeTopicPartitions paging, Produce 0-2, unknown tagged fields. The cluster admin APIs are in
test_cluster_admin_raw; DescribeConfigs has tests of its own."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from hub.log.error_codes import ErrorCode
from hub.log.protocol import decode_response, encode_request
from hub.log.protocol.messages import APIS
from hub.log.records import NewRecord, encode_batch
from hub.log.server.versions import ADVERTISED
from tests.harness.hub import HubServer
from tests.log.protocol.sample_messages import sample
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration

ZERO = uuid.UUID(int=0)
SOFTWARE = {"client_software_name": "raw-test", "client_software_version": "1.0"}


@pytest.fixture
def raw(hub_server: HubServer) -> Iterator[RawKafkaConnection]:
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        yield connection


def _versions(api_key: int) -> range:
    low, high = ADVERTISED[api_key]
    return range(low, high + 1)


def _create(raw: RawKafkaConnection, partitions: int = 1) -> tuple[str, uuid.UUID]:
    name = f"v-{uuid.uuid4().hex[:8]}"
    topic = {"name": name, "num_partitions": partitions, "replication_factor": -1, "assignments": [], "configs": []}
    (created,) = raw.request(19, 7, {"topics": [topic], "timeout_ms": 10_000})["topics"]
    assert created["error_code"] == ErrorCode.NONE
    assert created["topic_id"] != ZERO
    return name, created["topic_id"]


def _batch() -> bytes:
    return encode_batch([NewRecord(b"k", b"v", timestamp=1000)])


def test_produce_fetch_list_offsets_and_metadata_at_every_version(raw: RawKafkaConnection) -> None:
    name, topic_id = _create(raw)
    for version in _versions(0)[3:]:
        topic = {"name": name, "topic_id": topic_id, "partition_data": [{"index": 0, "records": _batch()}]}
        body = {"transactional_id": None, "acks": -1, "timeout_ms": 10_000, "topic_data": [topic]}
        (answer,) = raw.request(0, version, body)["responses"]
        assert (answer["name"], answer["topic_id"]) == ((name, ZERO) if version < 13 else ("", topic_id))
        partition = answer["partition_responses"][0]
        assert (partition["error_code"], partition["base_offset"]) == (ErrorCode.NONE, version - 3)
    produced = len(_versions(0)) - 3
    for version in _versions(1):
        request = {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20, "last_fetched_epoch": -1}
        body = {
            "max_wait_ms": 0,
            "min_bytes": 0,
            "max_bytes": 1 << 20,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [{"topic": name, "topic_id": topic_id, "partitions": [request]}],
        }
        response = raw.request(1, version, body)
        assert (response["error_code"], response["session_id"]) == (ErrorCode.NONE, 0)
        (answer,) = response["responses"]
        assert answer["topic_id"] == (topic_id if version >= 13 else ZERO)
        assert answer["partitions"][0]["high_watermark"] == produced
        assert len(answer["partitions"][0]["records"]) == produced * len(_batch())
    for version in _versions(2):
        body = {"replica_id": -1, "topics": [{"name": name, "partitions": [{"partition_index": 0, "timestamp": -1}]}]}
        (answer,) = raw.request(2, version, body)["topics"][0]["partitions"]
        assert (answer["error_code"], answer["offset"]) == (ErrorCode.NONE, produced)
    for version in _versions(3):
        body = {"topics": [{"name": name, "topic_id": ZERO}], "allow_auto_topic_creation": False}
        response = raw.request(3, version, body)
        (topic,) = response["topics"]
        assert (topic["error_code"], topic["name"], len(topic["partitions"])) == (ErrorCode.NONE, name, 1)
        assert topic["topic_id"] == (topic_id if version >= 10 else ZERO)
        assert response["error_code"] == ErrorCode.NONE


def test_metadata_asks_by_topic_id_from_version_12(raw: RawKafkaConnection) -> None:
    name, topic_id = _create(raw)
    unknown = uuid.uuid4()
    for version in (12, 13):
        body = {"topics": [{"name": None, "topic_id": topic_id}, {"name": None, "topic_id": unknown}]}
        topics = raw.request(3, version, body)["topics"]
        assert [(t["error_code"], t["name"], t["topic_id"]) for t in topics] == [
            (ErrorCode.NONE, name, topic_id),
            (ErrorCode.UNKNOWN_TOPIC_ID, None, unknown),
        ]
    for version in (10, 11):
        response = raw.request(3, version, {"topics": [{"name": name, "topic_id": topic_id}]})
        assert [t["error_code"] for t in response["topics"]] == [ErrorCode.INVALID_REQUEST]


def test_unknown_topic_ids_are_answered_unknown_topic_id_by_produce_fetch_and_delete(raw: RawKafkaConnection) -> None:
    unknown = uuid.uuid4()
    body = {
        "acks": 1,
        "timeout_ms": 1000,
        "topic_data": [{"topic_id": unknown, "partition_data": [{"index": 0, "records": _batch()}]}],
    }
    produced = raw.request(0, 13, body)["responses"][0]["partition_responses"][0]
    assert produced["error_code"] == ErrorCode.UNKNOWN_TOPIC_ID
    body = {
        "max_wait_ms": 5000,
        "min_bytes": 1,
        "topics": [{"topic_id": unknown, "partitions": [{"partition": 0, "partition_max_bytes": 1000}]}],
    }
    fetched = raw.request(1, 13, body)["responses"][0]
    assert (fetched["topic_id"], fetched["partitions"][0]["error_code"]) == (unknown, ErrorCode.UNKNOWN_TOPIC_ID)
    (deleted,) = raw.request(20, 6, {"topics": [{"name": None, "topic_id": unknown}], "timeout_ms": 1000})["responses"]
    assert deleted["error_code"] == ErrorCode.UNKNOWN_TOPIC_ID


def test_fetch_sessions_are_not_kept_as_on_a_kafka_broker_without_room_for_them(raw: RawKafkaConnection) -> None:
    name, _ = _create(raw)
    partitions = [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1000}]
    body: dict[str, Any] = {"max_wait_ms": 0, "topics": [{"topic": name, "partitions": partitions}]}
    new_session = raw.request(1, 12, {**body, "session_id": 0, "session_epoch": 0})
    assert (new_session["error_code"], new_session["session_id"], len(new_session["responses"])) == (0, 0, 1)
    incremental = raw.request(1, 12, {**body, "session_id": 7, "session_epoch": 1})
    assert (incremental["error_code"], incremental["responses"]) == (ErrorCode.FETCH_SESSION_ID_NOT_FOUND, [])


def test_a_fetch_from_a_diverged_epoch_is_answered_with_where_it_diverged(raw: RawKafkaConnection) -> None:
    name, _ = _create(raw)
    raw.request(0, 9, {"acks": 1, "timeout_ms": 1000, "topic_data": [{"name": name, "partition_data": [
        {"index": 0, "records": _batch()}]}]})  # fmt: skip
    request = {"partition": 0, "fetch_offset": 5, "last_fetched_epoch": 3, "partition_max_bytes": 1000}
    body = {"max_wait_ms": 5000, "min_bytes": 1, "topics": [{"topic": name, "partitions": [request]}]}
    (answer,) = raw.request(1, 12, body)["responses"][0]["partitions"]
    assert answer["diverging_epoch"] == {"epoch": 0, "end_offset": 1}
    assert answer["records"] in (None, b"")


def test_list_offsets_special_timestamps_need_their_version(raw: RawKafkaConnection) -> None:
    name, _ = _create(raw)
    records = encode_batch([NewRecord(b"a", b"1", timestamp=5000), NewRecord(b"b", b"2", timestamp=9000)])
    raw.request(0, 9, {"acks": 1, "timeout_ms": 1000, "topic_data": [{"name": name, "partition_data": [
        {"index": 0, "records": records}]}]})  # fmt: skip

    def ask(version: int, timestamp: int) -> tuple[int, int, int]:
        body = {"topics": [{"name": name, "partitions": [{"partition_index": 0, "timestamp": timestamp}]}]}
        (answer,) = raw.request(2, version, body)["topics"][0]["partitions"]
        return answer["error_code"], answer["offset"], answer["timestamp"]

    assert ask(7, -3) == (ErrorCode.NONE, 1, 9000)
    assert ask(6, -3)[0] == ErrorCode.UNSUPPORTED_VERSION
    assert ask(8, -4) == (ErrorCode.NONE, 0, -1)
    assert ask(7, -4)[0] == ErrorCode.UNSUPPORTED_VERSION
    assert ask(9, -5) == (ErrorCode.NONE, -1, -1)
    assert ask(10, -6)[0] == ErrorCode.UNSUPPORTED_VERSION
    assert ask(10, 6000) == (ErrorCode.NONE, 1, 9000)


def test_group_apis_at_every_version(raw: RawKafkaConnection) -> None:
    name, _ = _create(raw)
    group = f"g-{uuid.uuid4().hex[:8]}"
    for version in _versions(10):
        body = {"key": group, "key_type": 0, "coordinator_keys": [group, "other"]}
        response = raw.request(10, version, body)
        answers = response["coordinators"] if version >= 4 else [response]
        assert [(a["error_code"], a["node_id"]) for a in answers] == [(ErrorCode.NONE, 0)] * (2 if version >= 4 else 1)
    for version in _versions(8):
        partitions = [{"partition_index": 0, "committed_offset": version, "committed_metadata": "m"}]
        body = {"group_id": group, "generation_id_or_member_epoch": -1, "member_id": "", "topics": [
            {"name": name, "partitions": partitions}]}  # fmt: skip
        (answer,) = raw.request(8, version, body)["topics"]
        assert answer["partitions"][0]["error_code"] == ErrorCode.NONE
    committed = ADVERTISED[8][1]
    for version in _versions(9):
        topics = [{"name": name, "partition_indexes": [0]}]
        body = {"group_id": group, "topics": topics, "groups": [{"group_id": group, "topics": topics}]}
        response = raw.request(9, version, body)
        found = response["groups"][0]["topics"] if version >= 8 else response["topics"]
        assert [(t["name"], [p["committed_offset"] for p in t["partitions"]]) for t in found] == [(name, [committed])]
    for version in _versions(11):
        body = {"group_id": group, "session_timeout_ms": 1, "member_id": "", "protocol_type": "consumer",
                "protocols": [{"name": "range", "metadata": b""}], "reason": "test"}  # fmt: skip
        assert raw.request(11, version, body)["error_code"] == ErrorCode.INVALID_SESSION_TIMEOUT
    member = {"group_id": group, "generation_id": 1, "member_id": "nobody", "assignments": []}
    for api_key in (12, 14):
        codes = {raw.request(api_key, version, member)["error_code"] for version in _versions(api_key)}
        assert codes == {ErrorCode.UNKNOWN_MEMBER_ID}
    for version in _versions(13):
        body = {"group_id": group, "member_id": "nobody", "members": [{"member_id": "nobody", "reason": "done"}]}
        response = raw.request(13, version, body)
        code = response["members"][0]["error_code"] if version >= 3 else response["error_code"]
        assert code == ErrorCode.UNKNOWN_MEMBER_ID
    for version in _versions(15):
        (described,) = raw.request(15, version, {"groups": [group]})["groups"]
        assert (described["error_code"], described["group_state"]) == (ErrorCode.NONE, "Empty")
        (unknown,) = raw.request(15, version, {"groups": ["no-such-group"]})["groups"]
        assert unknown["error_code"] == (ErrorCode.GROUP_ID_NOT_FOUND if version >= 6 else ErrorCode.NONE)
    for version in _versions(16):
        listed = raw.request(16, version, {})["groups"]
        assert group in [g["group_id"] for g in listed]
        if version >= 4:
            filtered = raw.request(16, version, {"states_filter": ["EMPTY"]})["groups"]
            assert group in [g["group_id"] for g in filtered]
            stable = raw.request(16, version, {"states_filter": ["Stable"]})["groups"]
            assert group not in [g["group_id"] for g in stable]
        if version >= 5:
            assert {g["group_id"]: g["group_type"] for g in listed}[group] == "classic"
            consumer = raw.request(16, version, {"types_filter": ["consumer"]})["groups"]
            assert group not in [g["group_id"] for g in consumer]
            assert {g["group_type"] for g in consumer} <= {"consumer"}
            assert group in [g["group_id"] for g in raw.request(16, version, {"types_filter": ["Classic"]})["groups"]]


def test_offset_fetch_answers_many_groups_from_version_8(raw: RawKafkaConnection) -> None:
    name, _ = _create(raw)
    groups = [f"g-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for offset, group in enumerate(groups):
        partitions = [{"partition_index": 0, "committed_offset": offset + 10}]
        body = {"group_id": group, "topics": [{"name": name, "partitions": partitions}]}
        raw.request(8, 9, body)
    wanted = [{"group_id": g, "member_id": None, "member_epoch": -1, "topics": None} for g in groups]
    answers = raw.request(9, 9, {"groups": wanted})["groups"]
    assert [(a["group_id"], a["error_code"], a["topics"][0]["partitions"][0]["committed_offset"]) for a in answers] == [
        (groups[0], ErrorCode.NONE, 10),
        (groups[1], ErrorCode.NONE, 11),
    ]


def test_topic_and_producer_apis_at_every_version(raw: RawKafkaConnection) -> None:
    for version in _versions(19):
        name = f"c-{uuid.uuid4().hex[:8]}"
        topic = {"name": name, "num_partitions": 2, "replication_factor": -1, "assignments": [],
                 "configs": [{"name": "retention.ms", "value": "60000"}]}  # fmt: skip
        (created,) = raw.request(19, version, {"topics": [topic], "timeout_ms": 10_000})["topics"]
        assert created["error_code"] == ErrorCode.NONE
        if version >= 5:
            assert (created["num_partitions"], created["replication_factor"]) == (2, 1)
            configs = {c["name"]: (c["value"], c["config_source"]) for c in created["configs"]}
            assert configs["retention.ms"] == ("60000", 1)
        assert (created["topic_id"] != ZERO) == (version >= 7)
        response = raw.request(3, 12, {"topics": [{"name": name}]})
        topic_id = response["topics"][0]["topic_id"]
        body = {"topic_names": [name], "topics": [{"name": None, "topic_id": topic_id}], "timeout_ms": 10_000}
        (deleted,) = raw.request(20, min(version, ADVERTISED[20][1]), body)["responses"]
        assert deleted["error_code"] == ErrorCode.NONE
        if version >= 6:
            assert (deleted["name"], deleted["topic_id"]) == (name, topic_id)
    (both,) = raw.request(20, 6, {"topics": [{"name": "x", "topic_id": uuid.uuid4()}], "timeout_ms": 1000})["responses"]
    assert both["error_code"] == ErrorCode.INVALID_REQUEST
    for version in _versions(22):
        answer = raw.request(22, version, {"transactional_id": None, "transaction_timeout_ms": 1000})
        assert (answer["error_code"], answer["producer_epoch"]) == (ErrorCode.NONE, 0)
        assert answer["producer_id"] >= 0
    bumped = raw.request(22, 3, {"transactional_id": None, "producer_id": 4, "producer_epoch": 1})
    assert (bumped["error_code"], bumped["producer_epoch"]) == (ErrorCode.NONE, 0)
    half = raw.request(22, 3, {"transactional_id": None, "producer_id": 4, "producer_epoch": -1})
    assert half["error_code"] == ErrorCode.INVALID_REQUEST
    name, _ = _create(raw)
    raw.request(0, 9, {"acks": 1, "timeout_ms": 1000, "topic_data": [{"name": name, "partition_data": [
        {"index": 0, "records": _batch()}]}]})  # fmt: skip
    for version in _versions(23):
        partitions = [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]
        body = {"replica_id": -1, "topics": [{"topic": name, "partitions": partitions}]}
        (answer,) = raw.request(23, version, body)["topics"][0]["partitions"]
        assert (answer["error_code"], answer["leader_epoch"], answer["end_offset"]) == (ErrorCode.NONE, 0, 1)


def test_api_versions_at_every_version(raw: RawKafkaConnection) -> None:
    for version in _versions(18):
        answer = raw.request(18, version, SOFTWARE)
        assert answer["error_code"] == ErrorCode.NONE
        assert {k["api_key"]: (k["min_version"], k["max_version"]) for k in answer["api_keys"]} == ADVERTISED
        features = {f["name"] for f in answer["supported_features"]}
        assert features == ({"group.version", "transaction.version"} if version >= 4 else set())
        if version >= 3:
            assert answer["finalized_features"] == [
                {"name": "group.version", "min_version_level": 1, "max_version_level": 1}
            ]
        assert answer["zk_migration_ready"] is False
    refused = raw.request(18, 3, {"client_software_name": "bad name!", "client_software_version": "1"})
    assert (refused["error_code"], refused["api_keys"]) == (ErrorCode.INVALID_REQUEST, [])


def test_describe_topic_partitions_pages_with_its_cursor(raw: RawKafkaConnection) -> None:
    (first, first_id), (second, _) = sorted([_create(raw, 3), _create(raw, 3)])
    body: dict[str, Any] = {"topics": [{"name": second}, {"name": first}, {"name": "no-such"}]}
    seen: list[tuple[str, int]] = []
    cursor = None
    for _ in range(5):
        answer = raw.request(75, 0, {**body, "response_partition_limit": 2, "cursor": cursor})
        for topic in answer["topics"]:
            if topic["name"] == "no-such":
                assert topic["error_code"] == ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            seen += [(topic["name"], p["partition_index"]) for p in topic["partitions"]]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert seen == [(first, 0), (first, 1), (first, 2), (second, 0), (second, 1), (second, 2)]
    whole = raw.request(75, 0, {"topics": [{"name": first}], "response_partition_limit": 2000, "cursor": None})
    assert (whole["topics"][0]["topic_id"], whole["next_cursor"]) == (first_id, None)
    refused = raw.request(75, 0, {"topics": [{"name": first}], "cursor": {"topic_name": second, "partition_index": 0}})
    assert refused["topics"][0]["error_code"] == ErrorCode.INVALID_REQUEST


def test_produce_below_version_3_closes_the_connection_as_kafka_4_does(hub_server: HubServer) -> None:
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        header = struct.pack(">hhih", 0, 2, 1, 3) + b"old"
        body = struct.pack(">hii", 1, 1000, 0)  # acks, timeout, no topics
        frame = header + body
        connection.send_frame(struct.pack(">i", len(frame)) + frame)
        with pytest.raises(ConnectionError):
            connection.read_frame()


def test_unknown_tagged_fields_are_skipped_at_every_level(hub_server: HubServer) -> None:
    """A Metadata v12 request with unknown tags in the header, the body and a topic entry is answered."""
    name = f"tags-{uuid.uuid4().hex[:8]}"
    tag = b"\x01" + b"\x63\x03abc"  # one tagged field: tag 99, three bytes
    header = struct.pack(">hhi", 3, 12, 5) + struct.pack(">h", 3) + b"raw" + tag
    topic = b"\x00" * 16 + bytes([len(name) + 1]) + name.encode() + tag
    body = b"\x02" + topic + b"\x01" + b"\x00" + tag  # topics, allow auto-create, topic auth ops, tags
    frame = header + body
    with RawKafkaConnection("127.0.0.1", hub_server.port) as connection:
        connection.send_frame(struct.pack(">i", len(frame)) + frame)
        correlation_id, response = decode_response(3, 12, connection.read_frame())
    assert correlation_id == 5
    assert [(t["name"], t["error_code"]) for t in response["topics"]] == [(name, ErrorCode.NONE)]
    assert encode_request(3, 12, 5, "raw", {"topics": [{"name": name}]})  # the layout above is Metadata v12's


def test_a_static_leader_back_in_a_stable_group_skips_the_assignment(raw: RawKafkaConnection) -> None:
    group = f"s-{uuid.uuid4().hex[:8]}"
    protocols = [{"name": "range", "metadata": b"m"}]

    def join(version: int) -> dict[str, Any]:
        body = {"group_id": group, "session_timeout_ms": 10_000, "rebalance_timeout_ms": 10_000, "member_id": "",
                "group_instance_id": "instance-1", "protocol_type": "consumer", "protocols": protocols}  # fmt: skip
        answer = raw.request(11, version, body)
        assert answer["error_code"] == ErrorCode.NONE
        return answer

    first = join(9)
    assert (first["leader"], first["skip_assignment"]) == (first["member_id"], False)
    assignment = [{"member_id": first["member_id"], "assignment": b"a"}]
    body = {"group_id": group, "generation_id": first["generation_id"], "member_id": first["member_id"],
            "group_instance_id": "instance-1", "assignments": assignment}  # fmt: skip
    assert raw.request(14, 5, body)["error_code"] == ErrorCode.NONE
    again = join(9)
    assert (again["leader"], again["skip_assignment"]) == (again["member_id"], True)
    assert [m["group_instance_id"] for m in again["members"]] == ["instance-1"]
    assert again["generation_id"] == first["generation_id"]
    older = join(8)
    assert (older["leader"], older["skip_assignment"], older["members"]) == (older["member_id"], False, [])


#: Sample values that would make a request wait (long polls, rebalances) or go unanswered (acks=0).
_PROMPT = {
    0: {"acks": 1, "timeout_ms": 1000},
    1: {"max_wait_ms": 0, "min_bytes": 0},
    11: {"session_timeout_ms": 1},
    14: {"generation_id": -1},
    68: {"rebalance_timeout_ms": 1000},
}


@pytest.mark.parametrize("api_key", sorted(ADVERTISED))
def test_every_advertised_version_answers_a_request_of_made_up_values(hub_server: HubServer, api_key: int) -> None:
    """Every advertised version of every API answers a request whose fields all hold made-up values (one each,
    from the schema) with a response of that version, whatever it refuses: no version closes the connection or
    fails inside the server (Produce 0-2 excepted, closed as in Kafka 4)."""
    low, high = ADVERTISED[api_key]
    fields = APIS[api_key]["request"]["fields"]
    for version in range(max(low, 3) if api_key == 0 else low, high + 1):
        body = {**sample(fields, version), **_PROMPT.get(api_key, {})}
        with RawKafkaConnection("127.0.0.1", hub_server.port, timeout_s=30) as connection:
            connection.send_frame(encode_request(api_key, version, 42, "made-up", body))
            correlation_id, _ = decode_response(api_key, version, connection.read_frame())
        assert correlation_id == 42, (api_key, version)
    assert "Traceback" not in hub_server.log_path.read_text(errors="replace")
