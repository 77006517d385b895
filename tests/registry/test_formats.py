"""The formats' parsers: what each accepts and keeps, and a clear refusal when a format's library is missing."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from hub.registry import formats
from hub.registry.formats import SchemaParseError, parse
from hub.registry.formats.protobuf import ProtobufSchema
from hub.registry.service import SchemaRegistry


def test_avro_and_json_keep_the_text_without_insignificant_whitespace() -> None:
    avro = parse("AVRO", '{ "type" : "enum", "name": "E", "symbols": ["A"] }')
    schema = parse("JSON", '{ "type": "object",\n "properties": {} }')

    assert avro.canonical() == '{"type":"enum","name":"E","symbols":["A"]}'
    assert schema.canonical() == '{"type":"object","properties":{}}'


def test_protobuf_text_and_its_base64_descriptor_are_the_same_schema() -> None:
    text = parse("PROTOBUF", 'syntax = "proto3"; package p; message M { string a = 1; }')
    assert isinstance(text, ProtobufSchema)
    descriptor = parse("PROTOBUF", text.serialized())

    assert descriptor.normalized() == text.normalized()
    assert text.canonical().startswith("syntax")


@pytest.mark.parametrize(
    ("schema_type", "text", "named"),
    [
        ("AVRO", '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "nope"}]}', "nope"),
        ("PROTOBUF", 'syntax = "proto3"; message M { strin a = 1; }', "strin"),
        ("PROTOBUF", 'syntax = "proto3"; import "missing.proto"; message M {}', "missing.proto"),
        ("JSON", json.dumps({"type": "object", "properties": {"a": {"type": "text"}}}), "text"),
        ("JSON", json.dumps({"$ref": "other.json"}), "other.json"),
    ],
)
def test_an_invalid_schema_is_refused_naming_the_problem(schema_type: str, text: str, named: str) -> None:
    with pytest.raises(SchemaParseError, match=named):
        parse(schema_type, text)


def test_a_format_whose_library_is_missing_is_refused_and_not_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec

    def without_avro(name: str, *args: Any) -> Any:
        return None if name == "avro" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_avro)

    assert not formats.available("AVRO")
    with pytest.raises(SchemaParseError, match=r"pip install 'hub\[registry\]'"):
        parse("AVRO", '"string"')
    assert SchemaRegistry.schema_types() == ["PROTOBUF", "JSON"]


def test_protobuf_imports_confluents_clients_take_for_granted_are_built_in() -> None:
    text = (
        'syntax = "proto3";\nimport "google/type/date.proto";\nimport "confluent/meta.proto";\n'
        'message M { google.type.Date day = 1; string s = 2 [(confluent.field_meta).doc = "a doc"]; }'
    )
    parsed = parse("PROTOBUF", text)
    assert isinstance(parsed, ProtobufSchema)

    assert list(parsed.file.dependency) == ["google/type/date.proto", "confluent/meta.proto"]
    assert parse("PROTOBUF", parsed.serialized()).normalized() == parsed.normalized()
