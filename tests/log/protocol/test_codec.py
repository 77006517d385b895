"""Round trips of every message at every version, encoder/decoder behaviour and error reporting."""

from __future__ import annotations

import contextlib
import random
import uuid
from typing import Any

import pytest

from hub.log.protocol import (
    API_SPECS,
    ZERO_COPY_MIN_BYTES,
    ProtocolDecodeError,
    ProtocolEncodeError,
    UnsupportedVersionError,
    data_codec,
    decode_data,
    encode_data,
    header_codec,
    request_codec,
    response_codec,
)
from hub.log.protocol.codec import MessageCodec
from hub.log.protocol.messages import APIS, DATA, HEADERS
from tests.log.protocol.sample_messages import expected, sample

REQUIRED_APIS = {
    "ApiVersions",
    "Metadata",
    "Produce",
    "Fetch",
    "ListOffsets",
    "FindCoordinator",
    "JoinGroup",
    "SyncGroup",
    "Heartbeat",
    "LeaveGroup",
    "OffsetCommit",
    "OffsetFetch",
    "InitProducerId",
    "CreateTopics",
    "DeleteTopics",
    "DescribeConfigs",
    "DescribeGroups",
    "ListGroups",
    "CreatePartitions",
    "ElectLeaders",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "DescribeLogDirs",
    "DescribeCluster",
    "DescribeQuorum",
}


def _all_cases() -> list[tuple[str, int, Any]]:
    cases: list[tuple[str, int, Any]] = []
    for key, entry in APIS.items():
        low, high = entry["valid_versions"]
        for version in range(low, high + 1):
            cases.append((entry["request"]["name"], version, lambda k=key, v=version: request_codec(k, v)))
            cases.append((entry["response"]["name"], version, lambda k=key, v=version: response_codec(k, v)))
    for name, schema in {**DATA, **HEADERS}.items():
        low, high = schema["valid_versions"]
        for version in range(low, high + 1):
            lookup = data_codec if name in DATA else header_codec
            cases.append((name, version, lambda n=name, v=version, f=lookup: f(n, v)))
    return cases


def _schema(name: str) -> dict[str, Any]:
    for entry in APIS.values():
        for kind in ("request", "response"):
            if entry[kind]["name"] == name:
                return dict(entry[kind])
    return dict({**DATA, **HEADERS}[name])


CASES = _all_cases()


def test_generated_schemas_cover_the_required_apis() -> None:
    assert {spec.name for spec in API_SPECS.values()} >= REQUIRED_APIS
    assert {"ConsumerProtocolSubscription", "ConsumerProtocolAssignment"} <= set(DATA)
    assert {"RequestHeader", "ResponseHeader"} <= set(HEADERS)


@pytest.mark.parametrize(("name", "version", "lookup"), CASES, ids=[f"{n}-v{v}" for n, v, _ in CASES])
def test_round_trip_of_every_message_at_every_version(name: str, version: int, lookup: Any) -> None:
    codec: MessageCodec = lookup()
    fields = _schema(name)["fields"]
    message = sample(fields, version)
    encoded = codec.encode(message)
    decoded = codec.decode(encoded)
    assert decoded == expected(fields, version, message)
    assert codec.encode(decoded) == encoded
    assert b"".join(codec.encode_to_parts(message)) == encoded


@pytest.mark.parametrize(("name", "version", "lookup"), CASES, ids=[f"{n}-v{v}" for n, v, _ in CASES])
def test_every_truncation_is_a_decode_error(name: str, version: int, lookup: Any) -> None:
    codec: MessageCodec = lookup()
    encoded = codec.encode(sample(_schema(name)["fields"], version))
    for cut in range(len(encoded)):
        with pytest.raises(ProtocolDecodeError) as info:
            codec.decode(encoded[:cut])
        assert info.value.message == name
        assert info.value.version == version


def test_random_corruption_decodes_or_raises_decode_error() -> None:
    rng = random.Random(7)
    for key, version in [(1, 11), (1, 12), (0, 9), (3, 12), (11, 7), (18, 3)]:
        for codec in (request_codec(key, version), response_codec(key, version)):
            encoded = bytearray(codec.encode(sample(_schema(codec.name)["fields"], version)))
            for _ in range(200):
                mutated = bytearray(encoded)
                for _ in range(rng.randint(1, 4)):
                    mutated[rng.randrange(len(mutated))] = rng.randrange(256)
                with contextlib.suppress(ProtocolDecodeError):
                    codec.decode(bytes(mutated))


def test_decode_error_names_field_and_position() -> None:
    codec = request_codec(3, 4)  # Metadata v4: topics (int32 count, int16-length names), allow_auto_topic_creation
    data = codec.encode({"topics": [{"name": "abc"}], "allow_auto_topic_creation": True})
    with pytest.raises(ProtocolDecodeError) as info:
        codec.decode(data[:8])
    err = info.value
    assert (err.message, err.version, err.field, err.position) == ("MetadataRequest", 4, "topics[].name", 6)
    assert "MetadataRequest v4" in str(err)
    assert "topics[].name" in str(err)


def test_trailing_bytes_are_rejected_by_decode_but_not_by_decode_from() -> None:
    codec = request_codec(12, 0)
    data = codec.encode({"group_id": "g", "generation_id": 1, "member_id": "m"}) + b"xx"
    with pytest.raises(ProtocolDecodeError, match="2 trailing bytes"):
        codec.decode(data)
    message, end = codec.decode_from(data)
    assert (message["group_id"], end) == ("g", len(data) - 2)


def test_null_in_non_nullable_field_is_a_decode_error() -> None:
    codec = request_codec(12, 0)  # Heartbeat v0: group_id is a non-nullable string
    with pytest.raises(ProtocolDecodeError, match="non-nullable") as info:
        codec.decode(b"\xff\xff" + b"\x00\x00\x00\x01" + b"\x00\x01m")
    assert info.value.field == "group_id"


def test_negative_length_and_oversized_array_are_decode_errors() -> None:
    codec = request_codec(3, 1)
    with pytest.raises(ProtocolDecodeError, match="exceeds"):
        codec.decode(b"\x7f\xff\xff\xff")
    with pytest.raises(ProtocolDecodeError, match="negative length"):
        codec.decode(b"\x00\x00\x00\x01\xff\xfe")


def test_invalid_utf8_is_a_decode_error() -> None:
    with pytest.raises(ProtocolDecodeError, match="UTF-8"):
        request_codec(3, 1).decode(b"\x00\x00\x00\x01\x00\x02\xff\xfe")


def test_over_long_varint_is_a_decode_error() -> None:
    with pytest.raises(ProtocolDecodeError, match="varint"):
        request_codec(3, 9).decode(b"\xff\xff\xff\xff\xff\x01")


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"group_id": 5}, "group_id"),
        ({"generation_id": "1"}, "generation_id"),
        ({"generation_id": 1 << 40}, "generation_id"),
        ({"member_id": None}, "member_id"),
        ({"group_id": b"bytes"}, "group_id"),
    ],
)
def test_wrong_value_type_is_an_encode_error_naming_the_field(message: dict[str, Any], field: str) -> None:
    with pytest.raises(ProtocolEncodeError) as info:
        request_codec(12, 3).encode(message)
    assert info.value.field == field
    assert field in str(info.value)


def test_encode_errors_in_nested_structs_name_the_path() -> None:
    codec = response_codec(1, 11)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"responses": [{"partitions": [{"records": "text"}]}]}, "responses[].partitions[].records"),
        (
            {"responses": [{"partitions": [{"aborted_transactions": [{"producer_id": 1.5}]}]}]},
            "responses[].partitions[].aborted_transactions[].producer_id",
        ),
        ({"responses": "x"}, "responses"),
        ({"responses": ["x"]}, "responses[]"),
    ]
    for message, field in bad:
        with pytest.raises(ProtocolEncodeError) as info:
            codec.encode(message)
        assert info.value.field == field


def test_bool_and_uuid_fields_check_their_type() -> None:
    with pytest.raises(ProtocolEncodeError, match="expected bool"):
        request_codec(3, 4).encode({"allow_auto_topic_creation": 1})
    with pytest.raises(ProtocolEncodeError, match="expected uuid"):
        request_codec(3, 10).encode({"topics": [{"topic_id": "not-a-uuid", "name": "t"}]})


def test_missing_keys_encode_defaults_and_absent_fields_decode_to_defaults() -> None:
    codec = response_codec(1, 4)
    decoded = codec.decode(codec.encode({"responses": [{"topic": "t", "partitions": [{"partition_index": 3}]}]}))
    partition = decoded["responses"][0]["partitions"][0]
    assert partition["partition_index"] == 3
    assert partition["last_stable_offset"] == -1  # default of a v4 field not given
    assert partition["log_start_offset"] == -1  # field of v5+, absent in v4
    assert partition["preferred_read_replica"] == -1  # v11+
    assert partition["records"] is None
    assert decoded["session_id"] == 0
    assert decoded["responses"][0]["topic_id"] == uuid.UUID(int=0)


def test_fields_absent_from_a_version_are_not_written() -> None:
    codec = request_codec(12, 0)
    base = {"group_id": "g", "generation_id": 1, "member_id": "m"}
    assert codec.encode({**base, "group_instance_id": "instance"}) == codec.encode(base)


def test_version_dependent_nullability() -> None:
    # Metadata topics: nullable from v1; v0 rejects null.
    assert request_codec(3, 1).encode({"topics": None}) == b"\xff\xff\xff\xff"
    with pytest.raises(ProtocolEncodeError, match="non-nullable"):
        request_codec(3, 0).encode({"topics": None})
    assert request_codec(3, 1).decode(b"\xff\xff\xff\xff")["topics"] is None
    with pytest.raises(ProtocolDecodeError, match="non-nullable"):
        request_codec(3, 0).decode(b"\xff\xff\xff\xff")


def test_compact_encodings_in_flexible_versions() -> None:
    codec = request_codec(18, 3)
    data = codec.encode({"client_software_name": "hub", "client_software_version": "1.0"})
    assert data == b"\x04hub\x041.0\x00"
    assert request_codec(3, 9).encode({"topics": None}) == b"\x00\x01\x00\x00\x00"


def test_tagged_fields_are_written_only_when_not_default_in_ascending_tag_order() -> None:
    codec = response_codec(18, 3)
    plain = codec.encode({"api_keys": []})
    assert plain == b"\x00\x00\x01\x00\x00\x00\x00\x00"  # error, empty compact array, throttle, zero tags
    tagged = codec.encode({"api_keys": [], "zk_migration_ready": True, "finalized_features_epoch": 5})
    assert tagged[7:] == b"\x02" + b"\x01\x08" + (5).to_bytes(8, "big") + b"\x03\x01\x01"
    decoded = codec.decode(tagged)
    assert (decoded["zk_migration_ready"], decoded["finalized_features_epoch"]) == (True, 5)


def test_unknown_tagged_fields_are_skipped() -> None:
    codec = response_codec(18, 3)
    plain = codec.encode({"error_code": 0, "api_keys": [{"api_key": 0, "min_version": 0, "max_version": 9}]})
    # Replace the final empty tag section with two unknown tags (9 and 200, varint-encoded) and a known one (3).
    with_unknown = plain[:-1] + b"\x03" + b"\x03\x01\x01" + b"\x09\x02ab" + b"\xc8\x01\x03xyz"
    decoded = codec.decode(with_unknown)
    assert decoded["zk_migration_ready"] is True
    assert decoded["api_keys"] == [{"api_key": 0, "min_version": 0, "max_version": 9}]


def test_tagged_field_size_mismatch_is_a_decode_error() -> None:
    codec = response_codec(18, 3)
    plain = codec.encode({})
    with pytest.raises(ProtocolDecodeError, match="tagged field"):
        codec.decode(plain[:-1] + b"\x01" + b"\x01\x09" + (5).to_bytes(8, "big") + b"\x00")


def test_records_decode_as_views_and_large_records_are_passed_through_as_parts() -> None:
    codec = response_codec(1, 11)
    big = bytes(range(256)) * (ZERO_COPY_MIN_BYTES // 256 + 1)
    small = b"tiny"
    message = {
        "responses": [
            {
                "topic": "t",
                "partitions": [
                    {"partition_index": 0, "records": big},
                    {"partition_index": 1, "records": small},
                    {"partition_index": 2, "records": [memoryview(big), small, big]},
                ],
            }
        ]
    }
    parts = codec.encode_to_parts(message)
    assert sum(1 for p in parts if p is big) == 2
    assert any(isinstance(p, memoryview) and p.obj is big for p in parts)
    joined = b"".join(parts)
    assert joined == codec.encode(message)
    decoded = codec.decode(joined)
    records = [p["records"] for p in decoded["responses"][0]["partitions"]]
    assert isinstance(records[0], memoryview)
    assert records[0].obj is not None
    assert [bytes(r) for r in records] == [big, small, big + small + big]


def test_records_list_is_rejected_for_plain_bytes_fields() -> None:
    with pytest.raises(ProtocolEncodeError, match="bytes-like"):
        request_codec(14, 0).encode({"assignments": [{"member_id": "m", "assignment": [b"a"]}]})


def test_unknown_versions_and_keys_raise_unsupported_version() -> None:
    with pytest.raises(UnsupportedVersionError, match="no version 99"):
        request_codec(1, 99)
    with pytest.raises(UnsupportedVersionError, match="unknown API key"):
        response_codec(1000, 0)
    with pytest.raises(UnsupportedVersionError):
        data_codec("NoSuchThing", 0)


def test_codecs_are_cached() -> None:
    assert request_codec(0, 8) is request_codec(0, 8)


def test_data_schemas_carry_their_version_prefix() -> None:
    value = {"assigned_partitions": [{"topic": "t", "partitions": [0, 2]}], "user_data": b"u"}
    data = encode_data("ConsumerProtocolAssignment", 1, value)
    assert data[:2] == b"\x00\x01"
    version, decoded = decode_data("ConsumerProtocolAssignment", data)
    assert version == 1
    assert decoded["assigned_partitions"] == [{"topic": "t", "partitions": [0, 2]}]
    assert decoded["user_data"] == b"u"


def test_newer_data_versions_are_read_with_the_newest_known_layout() -> None:
    value = {"topics": ["a"], "user_data": None, "owned_partitions": [], "generation_id": 4, "rack_id": "r1"}
    newest = encode_data("ConsumerProtocolSubscription", 3, value)
    future = b"\x00\x07" + newest[2:] + b"appended-by-a-future-version"
    version, decoded = decode_data("ConsumerProtocolSubscription", future)
    assert version == 7
    assert (decoded["topics"], decoded["generation_id"], decoded["rack_id"]) == (["a"], 4, "r1")


def test_data_without_version_prefix_is_a_decode_error() -> None:
    with pytest.raises(ProtocolDecodeError, match="version prefix"):
        decode_data("ConsumerProtocolAssignment", b"\x00")


def test_types_no_current_definition_uses() -> None:
    fields = (
        {"name": "u16", "type": "uint16", "versions": (0, 32767), "default": 0},
        {"name": "u32", "type": "uint32", "versions": (0, 32767), "default": 0},
        {"name": "f", "type": "float64", "versions": (0, 32767), "default": 0.0},
        {"name": "ids", "type": "[]uuid", "versions": (0, 32767), "default": ()},
        {"name": "flags", "type": "[]bool", "versions": (0, 32767), "default": ()},
        {"name": "blob", "type": "bytes", "versions": (0, 32767), "nullable_versions": (0, 32767), "default": None},
    )
    message = {"u16": 65535, "u32": 4294967295, "f": -2.5, "ids": [uuid.UUID(int=1)], "flags": [True, False]}
    for flexible in (False, True):
        codec = MessageCodec("Synthetic", 0, fields, flexible)
        encoded = codec.encode(message)
        assert codec.decode(encoded) == {**message, "blob": None}
    assert MessageCodec("Synthetic", 0, fields, False).encode(message)[:14] == (
        b"\xff\xff" + b"\xff\xff\xff\xff" + b"\xc0\x04\x00\x00\x00\x00\x00\x00"
    )
    with pytest.raises(ProtocolEncodeError) as info:
        MessageCodec("Synthetic", 0, fields, False).encode({"u16": -1})
    assert info.value.field == "u16"
