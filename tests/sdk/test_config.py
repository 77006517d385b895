"""Declarative configs: typed parsing, every error at once, JSON Schema, Connect's validate response."""

from __future__ import annotations

import jsonschema
import pytest

from hub.sdk.config import HIDDEN, ConfigDef, ConfigKey, ConfigType, Importance, Password, config_def
from hub.sdk.errors import ConfigError

DEF = config_def(
    [
        ConfigKey(
            "connection.url",
            ConfigType.STRING,
            doc="Database URL.",
            importance=Importance.HIGH,
            group="Conn",
            non_empty=True,
        ),
        ConfigKey("connection.password", ConfigType.PASSWORD, default=None, group="Conn"),
        ConfigKey("batch.max.rows", ConfigType.INT, default=100, minimum=1, group="Poll"),
        ConfigKey("mode", ConfigType.STRING, default="bulk", choices=("bulk", "incrementing"), group="Poll"),
        ConfigKey("validate.non.null", ConfigType.BOOLEAN, default=True, group="Poll"),
        ConfigKey("table.whitelist", ConfigType.LIST, default=[], group="Poll"),
        ConfigKey("ratio", ConfigType.DOUBLE, default=0.5, maximum=1.0),
        ConfigKey(
            "timestamp.column.name",
            ConfigType.STRING,
            default=None,
            validator=lambda value: None if value.isidentifier() else "must be a column name",
        ),
    ]
).unsupported("quote.sql.identifiers", "identifiers are always quoted")


def test_parse_coerces_strings_and_fills_defaults() -> None:
    parsed = DEF.parse(
        {
            "connection.url": "jdbc:sqlite:x.db",
            "batch.max.rows": " 500 ",
            "validate.non.null": "FALSE",
            "table.whitelist": "a, b",
            "connection.password": "s3cret",
        }
    )
    assert parsed["batch.max.rows"] == 500
    assert parsed["validate.non.null"] is False
    assert parsed["table.whitelist"] == ["a", "b"]
    assert parsed["mode"] == "bulk"
    assert parsed["ratio"] == 0.5
    assert parsed["timestamp.column.name"] is None
    assert parsed["connection.password"] == Password("s3cret")
    assert "s3cret" not in repr(parsed)


def test_every_error_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        DEF.parse(
            {
                "batch.max.rows": "0",
                "mode": "fast",
                "validate.non.null": "maybe",
                "ratio": "2",
                "timestamp.column.name": "not a column",
                "quote.sql.identifiers": "always",
            }
        )
    errors = caught.value.errors
    assert set(errors) == {
        "connection.url",
        "batch.max.rows",
        "mode",
        "validate.non.null",
        "ratio",
        "timestamp.column.name",
        "quote.sql.identifiers",
    }
    assert "Missing required configuration 'connection.url'" in errors["connection.url"][0]
    assert "must be at least 1" in errors["batch.max.rows"][0]
    assert "must be one of bulk, incrementing" in errors["mode"][0]
    assert "expected true or false" in errors["validate.non.null"][0]
    assert "must be at most 1" in errors["ratio"][0]
    assert "must be a column name" in errors["timestamp.column.name"][0]
    assert "identifiers are always quoted" in errors["quote.sql.identifiers"][0]
    assert str(caught.value).startswith("7 config errors: ")


def test_json_schema_is_valid_and_marks_secrets() -> None:
    schema = DEF.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["connection.password"]["writeOnly"] is True
    assert schema["required"] == ["connection.url"]
    assert schema["properties"]["mode"]["enum"] == ["bulk", "incrementing"]


def test_validate_response_has_connects_shape_and_hides_secrets() -> None:
    response = DEF.validate_response(
        {"connection.url": "", "connection.password": "s3cret", "unknown.key": "x"}, connector_class="JdbcSource"
    )
    assert response["name"] == "JdbcSource"
    assert response["groups"] == ["Conn", "Poll"]
    assert response["error_count"] == 1
    by_name = {entry["value"]["name"]: entry for entry in response["configs"]}
    assert by_name["connection.password"]["value"]["value"] == HIDDEN
    assert by_name["connection.url"]["value"]["errors"] == ["Invalid value '' for 'connection.url': must not be empty"]
    assert by_name["unknown.key"]["definition"] is None
    definition = by_name["batch.max.rows"]["definition"]
    assert definition == {
        "name": "batch.max.rows",
        "type": "INT",
        "required": False,
        "default_value": "100",
        "importance": "MEDIUM",
        "documentation": "",
        "group": "Poll",
        "order": 1,
        "width": "NONE",
        "display_name": "batch.max.rows",
        "dependents": [],
    }
    assert by_name["mode"]["value"]["recommended_values"] == ["bulk", "incrementing"]
    assert "s3cret" not in repr(response)


def test_keys_defined_twice_are_refused() -> None:
    with pytest.raises(ValueError, match="defined twice: a"):
        ConfigDef().define("a", ConfigType.STRING).define("a", ConfigType.INT)


def test_out_of_range_integers_name_the_type() -> None:
    with pytest.raises(ConfigError, match="does not fit in a INT"):
        ConfigDef().define("n", ConfigType.INT).parse({"n": str(2**31)})
