"""Config providers and the worker config."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.runtime.config_providers import (
    ConfigResolver,
    DirectoryConfigProvider,
    EnvVarConfigProvider,
    FileConfigProvider,
    read_properties,
)
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.errors import ConfigError


def test_references_resolve_through_env_file_and_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TEST_PASSWORD", "s3cret")
    (tmp_path / "db.properties").write_text("# comment\nuser = hub\npassword: p\\\n  w\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("tok")
    file, directory = FileConfigProvider(), DirectoryConfigProvider()
    file.configure({"allowed.paths": str(tmp_path)})
    directory.configure({})
    resolver = ConfigResolver({"env": EnvVarConfigProvider(), "file": file, "dir": directory})
    resolved = resolver.resolve(
        {
            "a": "${env:HUB_TEST_PASSWORD}",
            "b": f"${{file:{tmp_path}/db.properties:user}}/${{file:{tmp_path}/db.properties:password}}",
            "c": f"${{dir:{tmp_path}/secrets:token}}",
            "d": "${vault:x}",
        }
    )
    assert resolved == {"a": "s3cret", "b": "hub/pw", "c": "tok", "d": "${vault:x}"}
    with pytest.raises(ConfigError) as raised:
        resolver.resolve({"x": "${env:HUB_TEST_UNSET_VARIABLE}", "y": "${file:/etc/hostname:k}"})
    assert set(raised.value.errors) == {"x", "y"}
    assert "outside the config provider's allowed.paths" in str(raised.value)


def test_properties_files_follow_javas_syntax(tmp_path: Path) -> None:
    path = tmp_path / "w.properties"
    path.write_text("a=1\n! comment\nb : two words\nc\\=d=3\nempty\n")
    assert read_properties(path) == {"a": "1", "b": "two words", "c=d": "3", "empty": ""}


def test_worker_config_has_connects_defaults_and_rejects_unknown_keys() -> None:
    config = WorkerConfig.parse({"value.converter.schemas.enable": "false", "producer.linger.ms": "1"})
    assert config["key.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert config["offset.storage.topic"] == "connect-offsets"
    assert config.prefixed("producer.") == {"linger.ms": "1"}
    with pytest.raises(ConfigError) as raised:
        WorkerConfig.parse({"ofset.flush.interval.ms": "1", "plugin.path": "/x", "status.storage.partitions": "0"})
    assert set(raised.value.errors) == {"ofset.flush.interval.ms", "plugin.path", "status.storage.partitions"}


def test_validation_checks_resolved_values_and_shows_the_references(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.runtime.connector_config import validate
    from hub.runtime.plugins import Plugins

    monkeypatch.setenv("HUB_TEST_BATCH", "5")
    monkeypatch.delenv("HUB_TEST_MISSING", raising=False)
    resolver = ConfigResolver({"env": EnvVarConfigProvider()})
    config = {"name": "src", "connector.class": "FileStreamSource", "topic": "t", "batch.size": "${env:HUB_TEST_BATCH}"}
    checked = validate(Plugins.discover(), config, resolver)
    assert checked.problems == {}, "an integer option given by a reference is checked with its resolved value"
    shown = {item["value"]["name"]: item["value"]["value"] for item in checked.response["configs"]}
    assert shown["batch.size"] == "${env:HUB_TEST_BATCH}", "the response shows the reference, not the value"
    missing = validate(Plugins.discover(), {**config, "topic": "${env:HUB_TEST_MISSING}"}, resolver)
    assert "HUB_TEST_MISSING" in " ".join(missing.problems["topic"])
    assert "not set in the Hub server's environment" in " ".join(missing.problems["topic"])
