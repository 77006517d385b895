"""Values resolved from ``${env:…}``, ``${file:…}`` and ``${dir:…}`` references never reach a response body, a
status trace or a log line: every message shows the reference as written."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.sdk import ConfigDef, ConfigType, SourceConnector, SourceTask, hookimpl
from tests.harness.process import free_port
from tests.rest.conftest import local_api, start_hub, stop_hub
from tests.runtime.conftest import wait_for

MARKER = "TOPSECRET-9c1e"


class _QuotingSource(SourceConnector):
    """A careless connector: it fails with its options quoted in the message (as a driver quoting its URL does)."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("url", ConfigType.STRING, doc="Where to connect.").define("topic", ConfigType.STRING)

    def start(self, config: dict[str, str]) -> None:
        if config["url"].startswith("fail-connector"):
            raise ConnectionError(f"cannot connect to {config['url']}")
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return _QuotingTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class _QuotingTask(SourceTask):
    def start(self, config: dict[str, str]) -> None:
        logging.getLogger("tests.quoting").info("task connecting to %s", config["url"])
        raise ConnectionError(f"task cannot connect to {config['url']!r}")

    def poll(self) -> list[Any]:
        return []

    def stop(self) -> None:
        """Nothing to release."""


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [_QuotingSource]


@dataclass
class _Secrets:
    api: httpx.Client
    env: str
    file: str
    dir: str
    allowed: Path
    outside: Path


@pytest.fixture
def secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> Iterator[_Secrets]:
    caplog.set_level(logging.DEBUG)
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "dir").mkdir(parents=True)
    outside.mkdir()
    (allowed / "db.properties").write_text(f"word = {MARKER}-file\n")
    (allowed / "dir" / "word").write_text(f"{MARKER}-dir\n")
    (outside / "db.properties").write_text(f"word = {MARKER}-outside\n")
    (outside / "word").write_text(f"{MARKER}-outside\n")
    monkeypatch.setenv("HUB_TEST_WORD", f"{MARKER}-env")
    monkeypatch.setenv("HUB_OTHER_WORD", f"{MARKER}-not-allowed")
    worker = {
        "config.providers.file.param.allowed.paths": str(allowed),
        "config.providers.dir.param.allowed.paths": str(allowed),
        "config.providers.env.param.allowlist.pattern": "HUB_TEST_.*",
    }
    with local_api(tmp_path / "store", worker=worker, plugins=[_Plugin()]) as served:
        yield _Secrets(
            served.client,
            "${env:HUB_TEST_WORD}",
            f"${{file:{allowed}/db.properties:word}}",
            f"${{dir:{allowed}/dir:word}}",
            allowed,
            outside,
        )


def _assert_no_secret(text: str, caplog: pytest.LogCaptureFixture) -> None:
    assert MARKER not in text
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert MARKER not in logged, [line for line in logged.splitlines() if MARKER in line]


def _datagen(**options: str) -> dict[str, str]:
    return {"connector.class": "Datagen", "topic": "t", **options}


@pytest.mark.parametrize("provider", ["env", "file", "dir"])
def test_a_bad_value_from_a_reference_is_reported_as_the_reference(
    secrets: _Secrets, caplog: pytest.LogCaptureFixture, provider: str
) -> None:
    reference = getattr(secrets, provider)
    for config in (
        _datagen(rate=reference),
        _datagen(
            **{
                "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                "value.converter.schemas.enable": reference,
            }
        ),
        _datagen(
            **{
                "transforms": "f",
                "transforms.f.type": "org.apache.kafka.connect.transforms.Filter",
                "transforms.f.negate": reference,
                "transforms.f.predicate": "p",
                "predicates": "p",
                "predicates.p.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
                "predicates.p.pattern": reference + "[",
            }
        ),
        _datagen(**{"tasks.max": reference, "errors.tolerance": reference, "transforms": reference}),
    ):
        created = secrets.api.post("/connectors", json={"name": "g", "config": config})
        assert created.status_code == 400, created.text
        assert reference in created.text
        _assert_no_secret(created.text, caplog)
        replaced = secrets.api.put("/connectors/g/config", json=config)
        assert replaced.status_code == 400, replaced.text
        _assert_no_secret(replaced.text, caplog)
        validated = secrets.api.put("/connector-plugins/Datagen/config/validate", json={**config, "name": "g"})
        assert validated.status_code == 200
        assert validated.json()["error_count"] > 0
        assert reference in validated.text
        _assert_no_secret(validated.text, caplog)
    assert secrets.api.get("/connectors").json() == []


def test_every_failing_reference_is_a_clear_400_without_the_value(
    secrets: _Secrets, caplog: pytest.LogCaptureFixture
) -> None:
    allowed, outside = secrets.allowed, secrets.outside
    (allowed / "escape").symlink_to(outside)
    (allowed / "dir" / "escape").symlink_to(outside / "word")
    cases = {
        "${env:HUB_OTHER_WORD}": "allowlist.pattern",
        "${env:HUB_TEST_UNSET}": "is not set",
        "${env:/x:HUB_TEST_WORD}": "Path is not supported",
        f"${{file:{allowed}/missing.properties:word}}": "Could not read properties from file",
        f"${{file:{allowed}/db.properties:nokey}}": "has no key 'nokey'",
        f"${{file:{outside}/db.properties:word}}": "is not allowed to be accessed",
        f"${{file:{allowed}/../outside/db.properties:word}}": "is not allowed to be accessed",
        f"${{file:{allowed}/escape/db.properties:word}}": "symbolic link",
        "${file:db.properties:word}": "is not allowed to be accessed",
        f"${{file:{allowed}/db.properties}}": "needs a path",
        f"${{dir:{outside}:word}}": "is not allowed to be accessed",
        f"${{dir:{allowed}/dir:..}}": "has no file '..'",
        f"${{dir:{allowed}:dir/word}}": "has no file 'dir/word'",
        f"${{dir:{allowed}/dir:escape}}": "symbolic link",
        f"${{dir:{allowed}/escape:word}}": "symbolic link",
        f"${{dir:{allowed}/db.properties:word}}": "is not a directory",
    }
    for reference, expected in cases.items():
        config = _datagen(rate="1", topic=reference)
        created = secrets.api.post("/connectors", json={"name": "g", "config": config})
        assert created.status_code == 400, (reference, created.text)
        assert expected in created.json()["message"], (reference, created.text)
        _assert_no_secret(created.text, caplog)
        validated = secrets.api.put("/connector-plugins/Datagen/config/validate", json={**config, "name": "g"})
        problems = {item["value"]["name"]: item["value"]["errors"] for item in validated.json()["configs"]}
        assert any(expected in message for message in problems["topic"]), (reference, problems)
        _assert_no_secret(validated.text, caplog)
    assert secrets.api.get("/connectors").json() == []


def test_an_unknown_provider_is_left_as_written_with_a_warning(secrets: _Secrets) -> None:
    config = _datagen(rate="1", topic="${vault:secret/db:topic}")
    validated = secrets.api.put("/connector-plugins/Datagen/config/validate", json={**config, "name": "g"}).json()
    assert validated["error_count"] == 0
    assert any("vault" in warning for warning in validated["warnings"])


def test_failures_of_a_started_connector_and_task_never_show_resolved_values(
    secrets: _Secrets, caplog: pytest.LogCaptureFixture
) -> None:
    for name, prefix in (("c", "fail-connector"), ("t", "fail-task")):
        config = {"connector.class": "_QuotingSource", "topic": "t", "url": f"{prefix}:{secrets.env}/{secrets.dir}"}
        assert secrets.api.post("/connectors", json={"name": name, "config": config}).status_code == 201

    def failed() -> bool:
        connector = secrets.api.get("/connectors/c/status").json()["connector"]
        tasks = secrets.api.get("/connectors/t/status").json()["tasks"]
        return connector["state"] == "FAILED" and bool(tasks) and tasks[0]["state"] == "FAILED"

    wait_for(failed, what="the connector and the task to fail")
    for name in ("c", "t"):
        status = secrets.api.get(f"/connectors/{name}/status")
        assert "cannot connect to" in status.text
        assert "${env:HUB_TEST_WORD}" in status.text
        _assert_no_secret(status.text, caplog)
    assert any("task connecting to" in record.getMessage() for record in caplog.records)
    _assert_no_secret("", caplog)


@pytest.mark.integration
def test_hub_start_reads_files_only_from_its_secrets_directory(tmp_path: Path) -> None:
    hub = start_hub(tmp_path)
    try:
        secrets = tmp_path / "data" / "secrets"
        assert secrets.is_dir()
        assert secrets.stat().st_mode & 0o077 == 0, "created private to its owner"
        (secrets / "db.properties").write_text("topic=from-file\n")
        (tmp_path / "elsewhere.properties").write_text(f"topic={MARKER}\n")
        with httpx.Client(base_url=hub.url, timeout=30) as api:
            inside = _datagen(rate="1", topic=f"${{file:{secrets}/db.properties:topic}}")
            assert api.post("/connectors", json={"name": "in", "config": inside}).status_code == 201
            outside = _datagen(rate="1", topic=f"${{file:{tmp_path}/elsewhere.properties:topic}}")
            refused = api.post("/connectors", json={"name": "out", "config": outside})
            assert refused.status_code == 400
            assert "is not allowed to be accessed" in refused.json()["message"]
            assert MARKER not in refused.text
    finally:
        stop_hub(hub)


def test_hub_start_refuses_a_bad_allowed_path_with_a_clear_error(tmp_path: Path) -> None:
    worker = tmp_path / "worker.properties"
    worker.write_text("config.providers.file.param.allowed.paths=relative/secrets\n")
    result = CliRunner().invoke(
        cli,
        [
            "start",
            "--data-dir",
            str(tmp_path / "data"),
            "--config",
            str(worker),
            "--rest-listener",
            f"127.0.0.1:{free_port()}",
            "--kafka-listener",
            f"127.0.0.1:{free_port()}",
        ],
    )
    assert result.exit_code == 1
    assert "config.providers.file.param.allowed.paths" in result.output
    assert "Path relative/secrets is not absolute" in result.output
