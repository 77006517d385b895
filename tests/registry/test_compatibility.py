"""Compatibility tables: for each format, schema pairs (earlier, new) with whether the new one may follow the
earlier one under BACKWARD, FORWARD and FULL (NONE accepts every pair), and the transitive levels checked against
every earlier version rather than the latest only."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from hub.registry.compatibility import LEVELS, check
from hub.registry.formats import parse


def _avro(*fields: dict[str, Any], name: str = "User") -> tuple[str, str]:
    return "AVRO", json.dumps({"type": "record", "name": name, "fields": list(fields)})


def _proto(body: str, package: str = "shop") -> tuple[str, str]:
    return "PROTOBUF", f'syntax = "proto3"; package {package}; {body}'


def _json(schema: dict[str, Any]) -> tuple[str, str]:
    return "JSON", json.dumps(schema)


def _object(properties: dict[str, Any], *, required: Sequence[str] = (), closed: bool = False) -> tuple[str, str]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return _json(schema)


NAME = {"name": "name", "type": "string"}
AGE_DEFAULT = {"name": "age", "type": "int", "default": 0}
AGE = {"name": "age", "type": "int"}
STRING = {"type": "string"}

# (case, earlier, new, backward, forward): backward — the new schema reads what the earlier one wrote; forward —
# the earlier schema reads what the new one writes.
PAIRS: list[tuple[str, tuple[str, str], tuple[str, str], bool, bool]] = [
    # --- Avro ---
    ("avro: same schema", _avro(NAME), _avro(NAME), True, True),
    ("avro: field with default added", _avro(NAME), _avro(NAME, AGE_DEFAULT), True, True),
    ("avro: field without default added", _avro(NAME), _avro(NAME, AGE), False, True),
    ("avro: field with default removed", _avro(NAME, AGE_DEFAULT), _avro(NAME), True, True),
    ("avro: field without default removed", _avro(NAME, AGE), _avro(NAME), True, False),
    (
        "avro: int widened to long",
        _avro({"name": "n", "type": "int"}),
        _avro({"name": "n", "type": "long"}),
        True,
        False,
    ),
    ("avro: string became int", _avro(NAME), _avro({"name": "name", "type": "int"}), False, False),
    (
        "avro: enum symbol added",
        ("AVRO", json.dumps({"type": "enum", "name": "E", "symbols": ["A"]})),
        ("AVRO", json.dumps({"type": "enum", "name": "E", "symbols": ["A", "B"]})),
        True,
        False,
    ),
    ("avro: record renamed", _avro(NAME), _avro(NAME, name="Person"), False, False),
    (
        "avro: optional union gained null",
        _avro(NAME),
        _avro({"name": "name", "type": ["null", "string"], "default": None}),
        True,
        False,
    ),
    # --- Protobuf ---
    ("protobuf: same schema", _proto("message M { string a = 1; }"), _proto("message M { string a = 1; }"), True, True),
    (
        "protobuf: field added",
        _proto("message M { string a = 1; }"),
        _proto("message M { string a = 1; int64 b = 2; }"),
        True,
        True,
    ),
    (
        "protobuf: field removed",
        _proto("message M { string a = 1; int64 b = 2; }"),
        _proto("message M { string a = 1; }"),
        True,
        True,
    ),
    (
        "protobuf: field renamed",
        _proto("message M { string a = 1; }"),
        _proto("message M { string z = 1; }"),
        True,
        True,
    ),
    (
        "protobuf: int32 to int64",
        _proto("message M { int32 a = 1; }"),
        _proto("message M { int64 a = 1; }"),
        True,
        True,
    ),
    (
        "protobuf: string to bytes",
        _proto("message M { string a = 1; }"),
        _proto("message M { bytes a = 1; }"),
        True,
        True,
    ),
    (
        "protobuf: int32 to string",
        _proto("message M { int32 a = 1; }"),
        _proto("message M { string a = 1; }"),
        False,
        False,
    ),
    (
        "protobuf: int32 to sint32",
        _proto("message M { int32 a = 1; }"),
        _proto("message M { sint32 a = 1; }"),
        False,
        False,
    ),
    (
        "protobuf: scalar to message",
        _proto("message M { string a = 1; } message N { string b = 1; }"),
        _proto("message M { N a = 1; } message N { string b = 1; }"),
        False,
        False,
    ),
    (
        "protobuf: message removed",
        _proto("message M { string a = 1; } message N { string b = 1; }"),
        _proto("message M { string a = 1; }"),
        False,
        True,
    ),
    (
        "protobuf: package changed",
        _proto("message M { string a = 1; }"),
        _proto("message M { string a = 1; }", package="other"),
        False,
        False,
    ),
    (
        "protobuf: two fields moved into a oneof",
        _proto("message M { string a = 1; string b = 2; }"),
        _proto("message M { oneof choice { string a = 1; string b = 2; } }"),
        False,
        True,
    ),
    (
        "protobuf: numeric field became repeated",
        _proto("message M { int32 a = 1; }"),
        _proto("message M { repeated int32 a = 1; }"),
        False,
        False,
    ),
    # --- JSON Schema ---
    ("json: same schema", _object({"a": STRING}), _object({"a": STRING}), True, True),
    ("json: property added to an open model", _object({"a": STRING}), _object({"a": STRING, "b": STRING}), False, True),
    (
        "json: property added to a closed model",
        _object({"a": STRING}, closed=True),
        _object({"a": STRING, "b": STRING}, closed=True),
        True,
        False,
    ),
    (
        "json: property removed from a closed model",
        _object({"a": STRING, "b": STRING}, closed=True),
        _object({"a": STRING}, closed=True),
        False,
        True,
    ),
    (
        "json: required property added",
        _object({"a": STRING}, closed=True),
        _object({"a": STRING, "b": STRING}, required=["b"], closed=True),
        False,
        False,
    ),
    (
        "json: required property with a default added",
        _object({"a": STRING}, closed=True),
        _object({"a": STRING, "b": {"type": "string", "default": "x"}}, required=["b"], closed=True),
        True,
        False,
    ),
    ("json: type widened to a union", _json(STRING), _json({"type": ["string", "null"]}), True, False),
    ("json: integer to number", _json({"type": "integer"}), _json({"type": "number"}), True, False),
    ("json: string to integer", _json(STRING), _json({"type": "integer"}), False, False),
    ("json: maxLength added", _json(STRING), _json({"type": "string", "maxLength": 5}), False, True),
    (
        "json: maxLength raised",
        _json({"type": "string", "maxLength": 5}),
        _json({"type": "string", "maxLength": 9}),
        True,
        False,
    ),
    ("json: enum extended", _json({"enum": ["a"]}), _json({"enum": ["a", "b"]}), True, False),
    (
        "json: minimum raised",
        _json({"type": "number", "minimum": 0}),
        _json({"type": "number", "minimum": 1}),
        False,
        True,
    ),
    ("json: oneOf extended", _json({"oneOf": [STRING]}), _json({"oneOf": [STRING, {"type": "integer"}]}), True, False),
    (
        "json: a dependentRequired added",
        _json({"type": "object"}),
        _json({"type": "object", "dependentRequired": {"a": ["b"]}}),
        False,
        True,
    ),
    (
        "json: a patternProperties schema narrowed",
        _json({"type": "object", "patternProperties": {"^x": {"type": "number"}}}),
        _json({"type": "object", "patternProperties": {"^x": {"type": "integer"}}}),
        False,
        True,
    ),
    (
        "json: a prefixItems item widened",
        _json({"type": "array", "prefixItems": [{"type": "integer"}]}),
        _json({"type": "array", "prefixItems": [{"type": "number"}]}),
        True,
        False,
    ),
]

EXPECTED = {
    "NONE": lambda backward, forward: True,
    "BACKWARD": lambda backward, forward: backward,
    "FORWARD": lambda backward, forward: forward,
    "FULL": lambda backward, forward: backward and forward,
}


def _parse(schema: tuple[str, str]) -> Any:
    return parse(*schema)


@pytest.mark.parametrize("level", list(EXPECTED))
@pytest.mark.parametrize(("case", "earlier", "new", "backward", "forward"), PAIRS, ids=[p[0] for p in PAIRS])
def test_a_pair_is_accepted_or_refused_as_its_level_says(
    level: str, case: str, earlier: tuple[str, str], new: tuple[str, str], backward: bool, forward: bool
) -> None:
    problems = check(level, _parse(new), [_parse(earlier)])

    assert (not problems) is EXPECTED[level](backward, forward), problems
    assert all(isinstance(problem, str) and problem for problem in problems)


# Three versions where the last follows the second but not the first: only the transitive level looks that far.
# (JSON Schema has no such chain under Confluent's rules, which for it amount to "accepts at least as much".)
CHAINS = [
    ("AVRO", _avro(NAME, AGE_DEFAULT), _avro(NAME), _avro(NAME, {"name": "age", "type": "string", "default": ""})),
    (
        "PROTOBUF",
        _proto("message M { int32 a = 1; }"),
        _proto("message M { string b = 2; }"),
        _proto("message M { string a = 1; string b = 2; }"),
    ),
]


@pytest.mark.parametrize(("kind", "first", "second", "third"), CHAINS, ids=[c[0] for c in CHAINS])
@pytest.mark.parametrize("base", ["BACKWARD", "FULL"])
def test_transitive_levels_check_every_earlier_version(
    kind: str, first: tuple[str, str], second: tuple[str, str], third: tuple[str, str], base: str
) -> None:
    earlier = [_parse(first), _parse(second)]
    latest = check(base, _parse(third), earlier)
    transitive = check(base + "_TRANSITIVE", _parse(third), earlier)
    assert latest == []
    assert transitive != []


def test_forward_transitive_checks_every_earlier_version() -> None:
    first, second, third = _avro(NAME), _avro(NAME, AGE), _avro(NAME, AGE, {"name": "x", "type": "int"})
    earlier = [_parse(first), _parse(second)]
    # FORWARD: the earlier schemas read what the new one writes; both the latest and the first can
    assert check("FORWARD", _parse(third), earlier) == []
    assert check("FORWARD_TRANSITIVE", _parse(third), earlier) == []
    assert check("FORWARD_TRANSITIVE", _parse(_avro({"name": "other", "type": "int"})), earlier) != []


def test_every_level_is_known() -> None:
    assert set(LEVELS) == {
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
    }


def test_schemas_of_different_types_are_incompatible() -> None:
    assert check("BACKWARD", _parse(_json(STRING)), [_parse(_avro(NAME))]) != []
