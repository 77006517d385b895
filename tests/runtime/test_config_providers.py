"""Config providers and the worker config."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import pytest

from hub.runtime.config_providers import (
    AllowedPaths,
    ConfigResolver,
    DirectoryConfigProvider,
    EnvVarConfigProvider,
    FileConfigProvider,
    read_properties,
)
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.config_provider import ConfigProvider
from hub.sdk.errors import ConfigError


def test_references_resolve_through_env_file_and_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TEST_PASSWORD", "s3cret")
    (tmp_path / "db.properties").write_text("# comment\nuser = hub\npassword: p\\\n  w\n")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "token").write_text("tok")
    file, directory = FileConfigProvider(), DirectoryConfigProvider()
    file.configure({"allowed.paths": str(tmp_path)})
    directory.configure({"allowed.paths": f"{tmp_path}/secrets"})
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
    assert "is not allowed to be accessed" in str(raised.value)


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


def _provider(kind: type[FileConfigProvider | DirectoryConfigProvider], *allowed: Path) -> ConfigResolver:
    provider = kind()
    provider.configure({"allowed.paths": ",".join(map(str, allowed))} if allowed else {})
    return ConfigResolver({"p": provider})


def _problem(resolver: ConfigResolver, reference: str) -> str:
    with pytest.raises(ConfigError) as raised:
        resolver.resolve({"k": reference})
    return " ".join(raised.value.errors["k"])


def test_allowed_paths_are_absolute_existing_paths_normalised_as_kafka_does(tmp_path: Path) -> None:
    assert AllowedPaths(f"{tmp_path}/a/..,/", "file").roots == [str(tmp_path), "/"]
    for value, message in (
        (" /tmp", "Path  /tmp is not absolute"),
        ("relative/dir", "is not absolute"),
        (f"{tmp_path}/missing", f"Path {tmp_path}/missing does not exist"),
        (f"{tmp_path},", "Path  is not absolute"),
    ):
        with pytest.raises(ConfigError, match=message):
            AllowedPaths(value, "file")
    with pytest.raises(ConfigError) as raised:
        FileConfigProvider().configure({"allowed.paths": "etc"})
    assert raised.value.errors == {"allowed.paths": ["Path etc is not absolute"]}


def test_the_file_provider_reads_only_under_its_allowed_paths(tmp_path: Path) -> None:
    allowed, sibling = tmp_path / "allowed", tmp_path / "allowed-not"
    allowed.mkdir()
    sibling.mkdir()
    (allowed / "a.properties").write_text("k=v\n")
    (sibling / "a.properties").write_text("k=sibling\n")
    (allowed / "out").symlink_to(sibling)
    (allowed / "in").symlink_to(allowed)
    resolver = _provider(FileConfigProvider, allowed)
    assert resolver.resolve({"k": f"${{p:{allowed}/a.properties:k}}"}) == {"k": "v"}
    assert resolver.resolve({"k": f"${{p:{allowed}/./x/../a.properties:k}}"}) == {"k": "v"}
    assert resolver.resolve({"k": f"${{p:{allowed}/in/a.properties:k}}"}) == {"k": "v"}, "a link staying inside"
    refused = "is not allowed to be accessed"
    assert refused in _problem(resolver, f"${{p:{sibling}/a.properties:k}}"), "a sibling sharing the prefix"
    assert refused in _problem(resolver, f"${{p:{allowed}/../allowed-not/a.properties:k}}")
    assert refused in _problem(resolver, "${p:a.properties:k}"), "a relative path is never allowed"
    assert "symbolic link" in _problem(resolver, f"${{p:{allowed}/out/a.properties:k}}")
    assert "Could not read properties from file" in _problem(resolver, f"${{p:{allowed}/none.properties:k}}")
    assert "has no key 'x'" in _problem(resolver, f"${{p:{allowed}/a.properties:x}}")
    assert "needs a path" in _problem(resolver, f"${{p:{allowed}/a.properties}}")
    assert "reads no path until its allowed.paths" in _problem(
        _provider(FileConfigProvider), f"${{p:{allowed}/a.properties:k}}"
    ), "without allowed.paths, nothing is read"
    assert _provider(FileConfigProvider, Path("/")).resolve({"k": f"${{p:{sibling}/a.properties:k}}"}) == {
        "k": "sibling"
    }, "allowed.paths=/ reads anything, as Kafka does without allowed.paths"


def test_the_directory_provider_reads_regular_files_under_its_allowed_paths(tmp_path: Path) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "sub").mkdir(parents=True)
    outside.mkdir()
    (allowed / "token").write_text("tok\n")
    (allowed / "sub" / "nested").write_text("n")
    (outside / "token").write_text("outside")
    (allowed / "link").symlink_to(outside / "token")
    (allowed / "dirlink").symlink_to(outside)
    resolver = _provider(DirectoryConfigProvider, allowed)
    assert resolver.resolve({"k": f"${{p:{allowed}:token}}"}) == {"k": "tok\n"}, "the content as it is"
    assert "symbolic link" in _problem(resolver, f"${{p:{allowed}:link}}")
    assert "symbolic link" in _problem(resolver, f"${{p:{allowed}/dirlink:token}}")
    assert "is not allowed to be accessed" in _problem(resolver, f"${{p:{outside}:token}}")
    assert "is not allowed to be accessed" in _problem(resolver, f"${{p:{allowed}/..:outside}}")
    for key in ("sub/nested", "..", "sub", "missing"):
        assert f"has no file {key!r}" in _problem(resolver, f"${{p:{allowed}:{key}}}")
    assert "is not a directory" in _problem(resolver, f"${{p:{allowed}/token:x}}")
    assert "needs a path" in _problem(resolver, "${p:token}")


def test_the_env_provider_reads_variables_its_allowlist_matches_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PASSWORD", "pw")
    monkeypatch.setenv("XAPP_PASSWORD", "xapp-value-57")
    provider = EnvVarConfigProvider()
    provider.configure({"allowlist.pattern": "APP_.*"})
    resolver = ConfigResolver({"env": provider})
    assert resolver.resolve({"k": "${env:APP_PASSWORD}"}) == {"k": "pw"}
    assert "allowlist.pattern" in _problem(resolver, "${env:XAPP_PASSWORD}"), "the whole name must match"
    assert "'APP_UNSET' is not set" in _problem(resolver, "${env:APP_UNSET}")
    assert "Path is not supported for EnvVarConfigProvider" in _problem(resolver, "${env:/etc:APP_PASSWORD}")
    assert "names no key" in _problem(resolver, "${env:}"), "a malformed reference is a problem of its key"
    everything = ConfigResolver({"env": EnvVarConfigProvider()})
    assert everything.resolve({"k": "${env:XAPP_PASSWORD}"}) == {"k": "xapp-value-57"}, (
        "the default allows every variable"
    )
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        EnvVarConfigProvider().configure({"allowlist.pattern": "("})


def test_unknown_providers_and_text_that_is_no_reference_stay_as_written() -> None:
    resolver = ConfigResolver({"env": EnvVarConfigProvider()})
    config = {"a": "${vault:secret/db:password}", "b": "${env", "c": "$ {env:X}"}
    assert resolver.resolve(config) == config
    assert resolver.unknown_references(config) == {"a": ["${vault:secret/db:password}"]}


class _VaultLike(ConfigProvider):
    """A plugin's provider: answers nothing for 'missing', fails its own way for 'down'."""

    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        if path == "down":
            raise RuntimeError("vault is sealed")
        return {}


def test_a_plugin_provider_that_fails_or_has_no_value_is_a_problem_of_the_key() -> None:
    resolver = ConfigResolver({"vault": _VaultLike()})
    assert _problem(resolver, "${vault:missing:pw}") == "config provider 'vault' has no value for ${vault:missing:pw}"
    assert "failed on ${vault:down:pw}: vault is sealed" in _problem(resolver, "${vault:down:pw}")
