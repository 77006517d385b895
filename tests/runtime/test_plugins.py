"""Plugin discovery: built-ins and entry points through the same hooks, names and aliases, broken plugins."""

from __future__ import annotations

from typing import Any

import pytest

from hub.runtime.converters import JsonConverter
from hub.runtime.plugins import Plugins
from hub.sdk import hookimpl
from hub.sdk.errors import ConfigError


def test_connectors_answer_to_their_names_aliases_and_connect_class_names() -> None:
    plugins = Plugins.discover()
    source = plugins.connector_class("org.apache.kafka.connect.file.FileStreamSourceConnector")
    assert plugins.connector_class("FileStreamSource") is source
    assert plugins.connector_class("connectors.file.source.FileStreamSourceConnector") is source
    assert plugins.converter("org.apache.kafka.connect.json.JsonConverter").__class__ is JsonConverter
    with pytest.raises(ConfigError, match="unknown connector class 'Nope'"):
        plugins.connector_class("Nope")


def test_the_example_package_is_installed_and_found_through_its_entry_point() -> None:
    plugins = Plugins.discover()
    found = plugins.connector_class("CsvSource")
    assert found.__module__ == "hub_csv_source.connector"
    assert any(info.class_name.endswith("CsvSourceConnector") and info.version == "0.1.0" for info in plugins.infos())


def test_a_plugin_object_registers_through_the_same_hooks() -> None:
    class Upper(JsonConverter):
        pass

    class Extra:
        @hookimpl
        def hub_register_converters(self) -> dict[str, type[Any]]:
            return {"upper": Upper}

    plugins = Plugins.discover(entry_points=False, extra=[Extra()])
    assert isinstance(plugins.converter("upper"), Upper)
    with pytest.raises(ConfigError):
        plugins.connector_class("FileStreamSource")  # entry points were not loaded
