"""Cross-checks against kafka-python's protocol implementations (an independent codebase).

Two of them: the JSON-driven message classes of ``kafka.protocol`` (its own generator, its own bundled copies of the
definitions) at every version both sides support, and the hand-written structs of ``kafka.protocol.old`` for a
few classic versions. Bytes must be identical in both directions.
"""

from __future__ import annotations

from typing import Any

import kafka.protocol.admin as kp_admin
import kafka.protocol.consumer as kp_consumer
import kafka.protocol.metadata as kp_metadata
import kafka.protocol.producer as kp_producer
import kafka.protocol.sasl as kp_sasl
import pytest
from kafka.protocol.old.fetch import FetchResponse_v4
from kafka.protocol.old.group import JoinGroupRequest_v0, JoinGroupResponse_v0
from kafka.protocol.old.produce import ProduceRequest_v3

from hub.log.protocol import (
    decode_data,
    decode_request,
    encode_data,
    encode_response,
    request_codec,
    response_codec,
    split_frame,
)
from hub.log.protocol.messages import APIS
from tests.log.protocol.sample_messages import expected, sample

_MODULES = (kp_consumer, kp_metadata, kp_producer, kp_admin, kp_sasl)


def _kafka_python_class(name: str) -> Any:
    for module in _MODULES:
        if hasattr(module, name):
            return getattr(module, name)
    return None


def _cases() -> list[tuple[int, str, int]]:
    cases = []
    for key, entry in APIS.items():
        for kind in ("request", "response"):
            theirs = _kafka_python_class(entry[kind]["name"])
            if theirs is None:
                continue
            low = max(theirs.valid_versions[0], entry["valid_versions"][0])
            high = min(theirs.valid_versions[1], entry["valid_versions"][1])
            cases.extend((key, kind, version) for version in range(low, high + 1))
    return cases


def _normalize(value: Any) -> Any:
    """Plain comparable data; authorized-operations fields are dropped (kafka-python turns them into sets)."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items() if not k.endswith("authorized_operations")}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    return value


def _present(fields: Any, version: int, message: dict[str, Any]) -> dict[str, Any]:
    """Only the fields present in ``version`` (kafka-python's to_dict leaves absent fields out)."""
    out = {}
    for spec in fields:
        low, high = spec["versions"]
        if not low <= version <= high:
            continue
        value = message[spec["name"]]
        if spec["type"] == "struct" and value is not None:
            value = _present(spec["fields"], version, value)
        elif spec["type"] == "[]struct" and value is not None:
            value = [_present(spec["fields"], version, v) for v in value]
        out[spec["name"]] = value
    return out


CASES = _cases()


def test_kafka_python_cases_include_flexible_versions_of_the_core_apis() -> None:
    flexible = {(key, kind) for key, kind, version in CASES if version >= (APIS[key]["flexible_versions"] or (99,))[0]}
    assert {(0, "request"), (1, "response"), (3, "request"), (18, "response"), (11, "request")} <= flexible
    assert len(CASES) > 250
    cluster_apis = {35, 37, 43, 45, 46, 55, 60}  # the cluster admin APIs, all cross-checked at every common version
    assert {(key, kind) for key, kind, _ in CASES if key in cluster_apis} == {
        (key, kind) for key in cluster_apis for kind in ("request", "response")
    }


@pytest.mark.parametrize(("key", "kind", "version"), CASES, ids=[f"{APIS[k][c]['name']}-v{v}" for k, c, v in CASES])
def test_ours_and_kafka_python_agree_byte_for_byte(key: int, kind: str, version: int) -> None:
    schema = APIS[key][kind]
    theirs_class = _kafka_python_class(schema["name"])
    codec = (request_codec if kind == "request" else response_codec)(key, version)
    message = sample(schema["fields"], version)
    if schema["name"] == "ApiVersionsResponse":
        message["error_code"] = 0  # kafka-python reads any error response as v0
    ours = codec.encode(message)

    theirs = theirs_class.decode(ours, version=version)
    want = _present(schema["fields"], version, expected(schema["fields"], version, message))
    assert _normalize(theirs.to_dict(json=False)) == _normalize(want)

    theirs._header = None  # kafka-python's decode leaves the attribute unset; encode reads it
    theirs_bytes = bytes(theirs.encode(version=version))
    assert theirs_bytes == ours
    assert _normalize(codec.decode(theirs_bytes)) == _normalize(codec.decode(ours))


def test_framed_metadata_request_from_kafka_python_flexible_version() -> None:
    request = kp_metadata.MetadataRequest[12](
        topics=[kp_metadata.MetadataRequest.MetadataRequestTopic(name="orders")],
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=True,
    )
    request.with_header(correlation_id=42, client_id="kp-client")
    header, body = decode_request(split_frame(bytes(request.encode(header=True, framed=True))))
    assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (3, 12, 42, "kp-client")
    assert header.header_version == 2
    assert [t["name"] for t in body["topics"]] == ["orders"]
    assert body["allow_auto_topic_creation"] is False
    assert body["include_topic_authorized_operations"] is True


def test_framed_describe_cluster_v0_both_ways_with_flexible_headers() -> None:
    request = kp_admin.DescribeClusterRequest[0](include_cluster_authorized_operations=False)
    request.with_header(correlation_id=9, client_id="kp")
    header, body = decode_request(split_frame(bytes(request.encode(header=True, framed=True))))
    assert (header.api_key, header.api_version, header.correlation_id, header.header_version) == (60, 0, 9, 2)
    assert body["include_cluster_authorized_operations"] is False
    response = {
        "cluster_id": "abc",
        "controller_id": 1,
        "brokers": [{"broker_id": 1, "host": "127.0.0.1", "port": 9092, "rack": None}],
    }
    decoded = kp_admin.DescribeClusterResponse.decode(
        encode_response(60, 0, 9, response), version=0, header=True, framed=True
    )
    assert decoded.header.correlation_id == 9
    assert (decoded.cluster_id, decoded.controller_id) == ("abc", 1)
    assert [(b.broker_id, b.host, b.port, b.rack) for b in decoded.brokers] == [(1, "127.0.0.1", 9092, None)]


def test_framed_api_versions_v3_response_is_read_by_kafka_python_with_a_v0_header() -> None:
    body = {"error_code": 0, "api_keys": [{"api_key": 18, "min_version": 0, "max_version": 3}], "throttle_time_ms": 0}
    frame = encode_response(18, 3, correlation_id=7, body=body)
    response = kp_metadata.ApiVersionsResponse.decode(frame, version=3, header=True, framed=True)
    assert response.header.correlation_id == 7
    assert [(k.api_key, k.min_version, k.max_version) for k in response.api_keys] == [(18, 0, 3)]


def test_framed_fetch_v12_response_with_records_is_read_by_kafka_python() -> None:
    records = bytes(range(256)) * 8
    body = {
        "responses": [{"topic": "t", "partitions": [{"partition_index": 0, "high_watermark": 9, "records": records}]}]
    }
    frame = encode_response(1, 12, correlation_id=3, body=body)
    response = kp_consumer.FetchResponse.decode(frame, version=12, header=True, framed=True)
    assert response.header.correlation_id == 3
    partition = response.responses[0].partitions[0]
    assert (partition.high_watermark, bytes(partition.records)) == (9, records)


def test_produce_v3_from_kafka_pythons_hand_written_struct() -> None:
    batch = b"batch-bytes" * 10
    request = ProduceRequest_v3(transactional_id=None, required_acks=-1, timeout=1500, topics=[("t", [(2, batch)])])
    body = request_codec(0, 3).decode(request.encode())
    assert (body["transactional_id"], body["acks"], body["timeout_ms"]) == (None, -1, 1500)
    partition = body["topic_data"][0]["partition_data"][0]
    assert (body["topic_data"][0]["name"], partition["index"], bytes(partition["records"])) == ("t", 2, batch)


def test_fetch_v4_response_read_by_kafka_pythons_hand_written_struct() -> None:
    body = {
        "throttle_time_ms": 5,
        "responses": [
            {
                "topic": "t",
                "partitions": [
                    {
                        "partition_index": 1,
                        "error_code": 0,
                        "high_watermark": 10,
                        "last_stable_offset": 8,
                        "aborted_transactions": [{"producer_id": 4, "first_offset": 6}],
                        "records": b"xyz",
                    }
                ],
            }
        ],
    }
    decoded = FetchResponse_v4.decode(response_codec(1, 4).encode(body))
    assert decoded.throttle_time_ms == 5
    topic, partitions = decoded.responses[0]
    assert topic == "t"
    assert tuple(partitions[0]) == (1, 0, 10, 8, [(4, 6)], b"xyz")


def test_join_group_v0_both_directions_with_hand_written_structs() -> None:
    request = JoinGroupRequest_v0(
        group="g", session_timeout=10000, member_id="", protocol_type="consumer", group_protocols=[("range", b"meta")]
    )
    body = request_codec(11, 0).decode(request.encode())
    assert (body["group_id"], body["session_timeout_ms"], body["protocol_type"]) == ("g", 10000, "consumer")
    assert body["protocols"] == [{"name": "range", "metadata": b"meta"}]

    response = {
        "error_code": 0,
        "generation_id": 3,
        "protocol_name": "range",
        "leader": "m1",
        "member_id": "m1",
        "members": [{"member_id": "m1", "metadata": b"sub"}],
    }
    decoded = JoinGroupResponse_v0.decode(response_codec(11, 0).encode(response))
    assert (decoded.generation_id, decoded.leader, decoded.member_id) == (3, "m1", "m1")
    assert [tuple(m) for m in decoded.members] == [("m1", b"sub")]


def test_consumer_protocol_data_agrees_with_kafka_python() -> None:
    subscription = kp_consumer.ConsumerProtocolSubscription(
        version=1,
        topics=["a", "b"],
        user_data=b"ud",
        owned_partitions=[kp_consumer.ConsumerProtocolSubscription.TopicPartition(topic="a", partitions=[0, 1])],
    )
    theirs = bytes(subscription.encode(version=1))
    version, ours = decode_data("ConsumerProtocolSubscription", theirs)
    assert version == 1
    assert ours["topics"] == ["a", "b"]
    assert ours["owned_partitions"] == [{"topic": "a", "partitions": [0, 1]}]
    assert encode_data("ConsumerProtocolSubscription", 1, ours) == theirs
