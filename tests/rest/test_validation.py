"""Validation through the REST API: unknown options are warnings with the closest known names, an unknown
``connector.class`` lists the names people type, and a connector's ``validate_connection`` problems refuse a config
(never as a 500, never showing a password)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.runtime import connection_check
from hub.sdk import ConfigDef, ConfigType, SourceConnector, SourceTask, hookimpl
from tests.rest.conftest import local_api

SECRET = "correct-horse-battery-staple"
_released = threading.Event()  # ends the checks that hang


class _CheckedSource(SourceConnector):
    """Its connection check does what ``check`` says: refuse quoting the password, raise, hang, or pass."""

    calls = 0

    def config_def(self) -> ConfigDef:
        return (
            ConfigDef()
            .define("check", ConfigType.STRING, "pass", choices=("pass", "refuse", "raise", "hang"))
            .define("password", ConfigType.PASSWORD, None, "Password of the external system.")
            .define("topic", ConfigType.STRING)
        )

    def validate_connection(self, config: dict[str, str]) -> dict[str, list[str]]:
        type(self).calls += 1
        check = config.get("check", "pass")
        if check == "refuse":
            return {"password": [f"login refused with password {config['password']!r} ({config['password']})"]}
        if check == "raise":
            raise RuntimeError(f"driver crashed while using {config['password']}")
        if check == "hang":
            _released.wait(30)
        return {}

    def start(self, config: dict[str, str]) -> None:
        self.config = config

    def task_class(self) -> type[SourceTask]:
        raise NotImplementedError("never started here")

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return []

    def stop(self) -> None:
        """Nothing to release."""


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [_CheckedSource]


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[httpx.Client]:
    monkeypatch.setenv("HUB_TEST_CHECKED_PASSWORD", SECRET)
    _released.clear()
    worker = {"config.providers.env.param.allowlist.pattern": "HUB_TEST_.*"}
    try:
        with local_api(tmp_path / "store", worker=worker, plugins=[_Plugin()]) as served:
            yield served.client
    finally:
        _released.set()


def _validate(api: httpx.Client, config: dict[str, str]) -> dict[str, Any]:
    answer = api.put(f"/connector-plugins/{config['connector.class']}/config/validate", json=config)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _errors(validated: dict[str, Any]) -> dict[str, list[str]]:
    listed = {item["value"]["name"]: item["value"]["errors"] for item in validated["configs"]}
    return {key: errors for key, errors in listed.items() if errors}


def test_unknown_options_are_warnings_with_the_closest_names(api: httpx.Client) -> None:
    config = {
        "name": "typos",
        "connector.class": "Datagen",
        "topic": "t",
        "rte": "5",
        "value.converter.schemas.enable": "false",
        "key.converter": "JsonConverter",
        "key.converter.schemas.enabled": "false",
        "transforms": "route",
        "transforms.route.type": "RegexRouter",
        "transforms.route.regex": "t",
        "transforms.route.replacment": "u",
        "transforms.route.predicate": "isT",
        "transforms.route.negate": "true",
        "transforms.other.type": "RegexRouter",
        "predicates": "isT",
        "predicates.isT.type": "TopicNameMatches",
        "predicates.isT.pattern": "t",
        "predicates.isT.patern": "t",
        "producer.override.linger.ms": "5",
        "consumer.override.anything.at.all": "1",
        "admin.override.whatever": "x",
        "topic.creation.default.partitions": "1",
    }
    validated = _validate(api, config)
    assert validated["error_count"] == 1  # transforms.route.replacement is required; the typo does not give it
    assert validated["warnings"] == [
        "unknown configuration 'rte' is ignored; did you mean 'rate'?",
        "unknown configuration 'value.converter.schemas.enable' is ignored (the connector sets no "
        "'value.converter', so the worker's converter and its options apply)",
        "unknown configuration 'key.converter.schemas.enabled' is ignored; did you mean "
        "'key.converter.schemas.enable'?",
        "unknown configuration 'transforms.route.replacment' is ignored; did you mean 'transforms.route.replacement'?",
        "unknown configuration 'transforms.other.type' is ignored ('other' is not listed in 'transforms')",
        "unknown configuration 'predicates.isT.patern' is ignored; did you mean 'predicates.isT.pattern'?",
    ]


def test_a_connector_created_with_unknown_options_is_accepted_and_the_warnings_logged(
    api: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.runtime.herder")
    created = api.post(
        "/connectors", json={"name": "typo", "config": {"connector.class": "Datagen", "topic": "t", "rte": "5"}}
    )
    assert created.status_code == 201, created.text
    assert "connector typo: unknown configuration 'rte' is ignored; did you mean 'rate'?" in caplog.text


def test_an_unknown_connector_class_lists_the_names_people_type_closest_first(api: httpx.Client) -> None:
    answer = api.post("/connectors", json={"name": "x", "config": {"connector.class": "JdbcSorce"}})
    assert answer.status_code == 400, answer.text
    message = answer.json()["message"]
    assert "unknown connector class 'JdbcSorce'; did you mean JdbcSource" in message
    assert "JdbcSource (io.confluent.connect.jdbc.JdbcSourceConnector)" in message
    assert "PostgresCdcSource (io.debezium.connector.postgresql.PostgresConnector)" in message
    assert "connectors.jdbc" not in message, "internal module paths are not what people type"
    validated = _validate(api, {"connector.class": "io.confluent.connect.jdbc.JdbcSinkConector"})
    [problem] = _errors(validated)["connector.class"]
    assert problem.startswith(
        "unknown connector class 'io.confluent.connect.jdbc.JdbcSinkConector'; did you mean "
        "io.confluent.connect.jdbc.JdbcSinkConnector"
    )


@pytest.mark.parametrize("password", [SECRET, "${env:HUB_TEST_CHECKED_PASSWORD}"])
def test_connection_problems_refuse_the_config_without_showing_the_password(api: httpx.Client, password: str) -> None:
    config = {"name": "c", "connector.class": "_CheckedSource", "topic": "t", "check": "refuse", "password": password}
    validated = _validate(api, config)
    assert list(_errors(validated)) == ["password"]
    created = api.post("/connectors", json={"name": "c", "config": config})
    assert created.status_code == 400
    assert "login refused with password" in created.json()["message"]
    for text in (str(validated), created.text):
        assert SECRET not in text
    assert api.get("/connectors").json() == []


def test_a_connection_check_that_raises_is_a_problem_of_the_connector_class(api: httpx.Client) -> None:
    config = {"name": "c", "connector.class": "_CheckedSource", "topic": "t", "check": "raise", "password": SECRET}
    created = api.post("/connectors", json={"name": "c", "config": config})
    assert created.status_code == 400, created.text
    assert (
        "connector.class: _CheckedSource failed to check its connection: RuntimeError: driver crashed"
        in (created.json()["message"])
    )
    assert SECRET not in created.text


def test_a_connection_check_that_hangs_is_cut_short(api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection_check, "CONNECTION_CHECK_TIMEOUT_S", 0.5)
    validated = _validate(api, {"name": "c", "connector.class": "_CheckedSource", "topic": "t", "check": "hang"})
    assert _errors(validated) == {
        "connector.class": ["_CheckedSource did not finish checking its connection within 0.5 s"]
    }


def test_the_connection_is_not_checked_while_options_are_wrong(api: httpx.Client) -> None:
    before = _CheckedSource.calls
    validated = _validate(api, {"name": "c", "connector.class": "_CheckedSource", "check": "refuse", "tasks.max": "0"})
    assert set(_errors(validated)) == {"topic", "tasks.max"}
    assert _CheckedSource.calls == before
    assert _validate(api, {"name": "c", "connector.class": "_CheckedSource", "topic": "t"})["error_count"] == 0
    assert _CheckedSource.calls == before + 1
