"""Kafka's config providers (``env``, ``file``, ``dir``) and the resolver of ``${provider:path:key}`` references.

Hub enables the three built-in providers under the names ``env``, ``file`` and ``dir`` unless the worker config
lists its own ``config.providers``; Kafka's class names select them too. Paths may be limited with the
``allowed.paths`` parameter (file, dir) and environment variables with ``allowlist.pattern`` (env), as in Kafka.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from hub.sdk.config_provider import ConfigProvider
from hub.sdk.errors import ConfigError

#: ``${provider:path:key}`` or ``${provider:key}``, as Kafka's ConfigTransformer reads them.
REFERENCE = re.compile(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}")


class _PathLimited(ConfigProvider):
    def __init__(self) -> None:
        self.allowed: list[Path] = []  # empty: any path

    def configure(self, params: Mapping[str, str]) -> None:
        allowed = params.get("allowed.paths", "")
        self.allowed = [Path(p.strip()).resolve() for p in allowed.split(",") if p.strip()]

    def _check(self, path: str) -> Path:
        resolved = Path(path).resolve()
        if self.allowed and not any(resolved == root or root in resolved.parents for root in self.allowed):
            raise ConfigError({"": [f"path {path!r} is outside the config provider's allowed.paths"]})
        return resolved


class FileConfigProvider(_PathLimited):
    """``${file:PATH:KEY}``: the value of KEY in the properties file PATH."""

    aliases = ("org.apache.kafka.common.config.provider.FileConfigProvider",)

    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        properties = read_properties(self._check(path))
        missing = [key for key in keys if key not in properties]
        if missing:
            raise ConfigError({"": [f"{path} has no key {', '.join(repr(k) for k in missing)}"]})
        return {key: properties[key] for key in keys}


class DirectoryConfigProvider(_PathLimited):
    """``${dir:DIR:FILE}``: the content of the file FILE in the directory DIR (e.g. mounted secrets)."""

    aliases = ("org.apache.kafka.common.config.provider.DirectoryConfigProvider",)

    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        directory = self._check(path)
        values: dict[str, str] = {}
        for key in keys:
            file = directory / key
            if "/" in key or not file.is_file():
                raise ConfigError({"": [f"directory {path} has no file {key!r}"]})
            values[key] = file.read_text()
        return values


class EnvVarConfigProvider(ConfigProvider):
    """``${env:NAME}``: the environment variable NAME."""

    aliases = ("org.apache.kafka.common.config.provider.EnvVarConfigProvider",)

    def __init__(self) -> None:
        self.allowlist = re.compile(".*")

    def configure(self, params: Mapping[str, str]) -> None:
        self.allowlist = re.compile(params.get("allowlist.pattern", ".*"))

    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        if path:
            raise ConfigError({"": [f"the env config provider takes no path, got {path!r}"]})
        values: dict[str, str] = {}
        for key in keys:
            if not self.allowlist.fullmatch(key):
                raise ConfigError({"": [f"environment variable {key!r} is not allowed by allowlist.pattern"]})
            if key not in os.environ:
                hint = "export it in the shell that starts Hub, then restart Hub"
                raise ConfigError(
                    {"": [f"environment variable {key!r} is not set in the Hub server's environment ({hint})"]}
                )
            values[key] = os.environ[key]
        return values


BUILTIN_PROVIDERS: dict[str, type[ConfigProvider]] = {
    "env": EnvVarConfigProvider,
    "file": FileConfigProvider,
    "dir": DirectoryConfigProvider,
}


def read_properties(path: Path) -> dict[str, str]:
    """A Java-style properties file (``key=value`` or ``key: value``, ``#``/``!`` comments, ``\\`` continuations)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError({"": [f"cannot read {path}: {exc.strerror}"]}) from exc
    properties: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        match = re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)$", logical)
        if match:
            properties[_unescape(match.group(1))] = _unescape(match.group(2))
        elif logical:
            properties[_unescape(logical)] = ""
        logical = ""
    return properties


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), text)


class ConfigResolver:
    """Resolves ``${provider:path:key}`` references in config values with the configured providers."""

    def __init__(self, providers: Mapping[str, ConfigProvider]) -> None:
        self.providers = dict(providers)

    def resolve(self, config: Mapping[str, str]) -> dict[str, str]:
        """The config with every reference replaced; ConfigError naming each key whose reference failed."""
        problems: dict[str, list[str]] = {}
        resolved: dict[str, str] = {}
        for key, value in config.items():
            try:
                resolved[key] = self._resolve_value(value) if isinstance(value, str) and "${" in value else value
            except ConfigError as exc:
                problems.setdefault(key, []).extend(m for ms in exc.errors.values() for m in ms)
        if problems:
            raise ConfigError(problems)
        return resolved

    def _resolve_value(self, value: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name, path, key = match.group(1), match.group(3) or "", match.group(4)
            provider = self.providers.get(name)
            if provider is None:
                return match.group(0)  # as Kafka: an unknown provider leaves the text alone
            return provider.get(path, [key])[key]

        return REFERENCE.sub(replace, value)

    def close(self) -> None:
        for provider in self.providers.values():
            provider.close()


def has_reference(value: Any) -> bool:
    return isinstance(value, str) and REFERENCE.search(value) is not None
