"""Request/response framing: header versions, size prefix, zero-copy parts."""

from __future__ import annotations

import pytest

from hub.log.protocol import (
    FRAME_SIZE,
    ProtocolDecodeError,
    UnsupportedVersionError,
    decode_request,
    decode_request_header,
    decode_response,
    encode_request,
    encode_response,
    encode_response_parts,
    request_header_version,
    response_header_version,
    split_frame,
)


@pytest.mark.parametrize(
    ("api_key", "version", "request_header", "response_header"),
    [
        (0, 8, 1, 0),  # Produce v8: not flexible
        (0, 9, 2, 1),  # Produce v9: first flexible
        (1, 11, 1, 0),
        (1, 12, 2, 1),
        (18, 2, 1, 0),
        (18, 3, 2, 0),  # ApiVersions responses always use header v0
        (18, 4, 2, 0),
        (17, 1, 1, 0),  # SaslHandshake is never flexible
        (37, 1, 1, 0),  # CreatePartitions: flexible from v2
        (37, 2, 2, 1),
        (35, 1, 1, 0),  # DescribeLogDirs: flexible from v2
        (35, 4, 2, 1),
        (43, 1, 1, 0),  # ElectLeaders: flexible from v2
        (43, 2, 2, 1),
        (45, 0, 2, 1),  # AlterPartitionReassignments, ListPartitionReassignments, DescribeQuorum, DescribeCluster:
        (46, 0, 2, 1),  # flexible in every version, so even v0 uses the new headers
        (55, 0, 2, 1),
        (60, 0, 2, 1),
    ],
)
def test_header_versions_follow_flexible_versions(
    api_key: int, version: int, request_header: int, response_header: int
) -> None:
    assert request_header_version(api_key, version) == request_header
    assert response_header_version(api_key, version) == response_header


def test_request_frame_round_trip_with_header_v1() -> None:
    frame = encode_request(12, 3, 77, "client-1", {"group_id": "g", "generation_id": 2, "member_id": "m"})
    assert FRAME_SIZE.unpack_from(frame)[0] == len(frame) - 4
    payload = split_frame(frame)
    assert bytes(payload[:10]) == b"\x00\x0c\x00\x03\x00\x00\x00\x4d\x00\x08"  # key, version, correlation, len
    header, body = decode_request(payload)
    assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (12, 3, 77, "client-1")
    assert header.header_version == 1
    assert (body["group_id"], body["generation_id"], body["member_id"], body["group_instance_id"]) == (
        "g",
        2,
        "m",
        None,
    )


def test_request_header_v2_keeps_an_int16_client_id_and_adds_tags() -> None:
    frame = encode_request(18, 3, 1, "c", {"client_software_name": "hub", "client_software_version": "0"})
    payload = split_frame(frame)
    assert bytes(payload[8:12]) == b"\x00\x01c\x00"  # int16 length 1, "c", empty tag section
    header, body = decode_request(payload)
    assert header.header_version == 2
    assert body["client_software_name"] == "hub"


def test_null_client_id() -> None:
    header, _ = decode_request(split_frame(encode_request(3, 1, 5, None, {"topics": None})))
    assert header.client_id is None


def test_header_of_an_api_versions_probe_above_the_known_versions_is_readable() -> None:
    # A future client probes ApiVersions v9: flexible, so header v2; the body cannot be decoded here.
    payload = b"\x00\x12\x00\x09\x00\x00\x00\x2a\x00\x03abc\x00" + b"future-body"
    header, offset = decode_request_header(payload)
    assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (18, 9, 42, "abc")
    assert payload[offset:] == b"future-body"
    with pytest.raises(UnsupportedVersionError):
        decode_request(payload)


def test_truncated_request_header_is_a_decode_error() -> None:
    with pytest.raises(ProtocolDecodeError, match="RequestHeader"):
        decode_request_header(b"\x00\x03\x00")
    with pytest.raises(ProtocolDecodeError) as info:
        decode_request_header(b"\x00\x03\x00\x01\x00\x00\x00\x01\x00\x05ab")
    assert info.value.field == "client_id"


def test_response_frames_round_trip_for_flexible_and_classic_versions() -> None:
    for version in (7, 12):
        body = {"session_id": 9, "responses": [{"topic": "t", "partitions": [{"partition_index": 0, "records": b"r"}]}]}
        frame = encode_response(1, version, 31, body)
        correlation_id, decoded = decode_response(1, version, split_frame(frame))
        assert correlation_id == 31
        assert decoded["session_id"] == 9
        assert bytes(decoded["responses"][0]["partitions"][0]["records"]) == b"r"


def test_describe_cluster_v0_frames_use_request_header_v2_and_response_header_v1() -> None:
    frame = encode_request(60, 0, 11, "admin", {"include_cluster_authorized_operations": True})
    # size | key 60 | version 0 | correlation 11 | int16-length client id | empty header tags | body
    assert frame[4:12] == b"\x00\x3c\x00\x00\x00\x00\x00\x0b"
    assert frame[12:20] == b"\x00\x05admin\x00"
    assert frame[20:] == b"\x01\x00"  # include_cluster_authorized_operations, empty body tags
    header, body = decode_request(split_frame(frame))
    assert (header.header_version, body["include_cluster_authorized_operations"]) == (2, True)
    response = encode_response(60, 0, 11, {"cluster_id": "c", "controller_id": 1, "brokers": []})
    assert response[4:9] == b"\x00\x00\x00\x0b\x00"  # correlation id, then the header's empty tag section
    correlation_id, decoded = decode_response(60, 0, split_frame(response))
    assert (correlation_id, decoded["cluster_id"], decoded["controller_id"]) == (11, "c", 1)


def test_api_versions_v3_response_frame_has_a_v0_header() -> None:
    frame = encode_response(18, 3, 5, {"api_keys": []})
    assert frame[4:8] == b"\x00\x00\x00\x05"
    assert frame[8:10] == b"\x00\x00"  # error_code follows the correlation id directly: no header tag section


def test_response_parts_pass_records_through_and_carry_the_total_size() -> None:
    records = [bytes(2000), b"small", memoryview(bytes(5000))]
    body = {"responses": [{"topic": "t", "partitions": [{"partition_index": 0, "records": records}]}]}
    parts = encode_response_parts(1, 11, 8, body)
    assert any(p is records[0] for p in parts)
    assert any(p is records[2] for p in parts)
    joined = b"".join(parts)
    assert FRAME_SIZE.unpack_from(joined)[0] == len(joined) - 4
    _, decoded = decode_response(1, 11, split_frame(joined))
    assert bytes(decoded["responses"][0]["partitions"][0]["records"]) == bytes(2000) + b"small" + bytes(5000)


def test_split_frame_checks_the_size_prefix() -> None:
    with pytest.raises(ProtocolDecodeError, match="size prefix 10 but 3"):
        split_frame(b"\x00\x00\x00\x0aabc")
    with pytest.raises(ProtocolDecodeError, match="truncated"):
        split_frame(b"\x00\x00")
