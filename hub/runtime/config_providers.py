"""Kafka's config providers (``env``, ``file``, ``dir``) and the resolver of ``${provider:path:key}`` references.

The worker config names the providers (``config.providers``, default ``env,file,dir``; Kafka's class names select
them too) and their options (``config.providers.NAME.param.*``):

- ``file`` and ``dir`` read only under ``allowed.paths`` (KIP-993): a comma-separated list of absolute paths that
  exist. A referenced path is normalised (``.`` and ``..`` removed, as Kafka does) and must lie under one of them;
  a relative path never does. Hub also resolves symbolic links and refuses a path whose real location leaves the
  allowed paths (Kafka compares the text only). Without ``allowed.paths`` they read nothing, where Kafka reads
  anything: list ``/`` to allow every path.
- ``env`` reads the variables whose whole name matches ``allowlist.pattern`` (KIP-887), default every one.

A reference that cannot be resolved is a problem of its config key (Kafka leaves it unresolved and logs), with
messages that name the reference, never a value. A reference to a provider the worker does not have is left as
written, as in Kafka. Every resolved value is registered with ``hub.runtime.redaction``, which keeps it out of
messages and log lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.runtime.redaction import SECRETS
from hub.sdk.config_provider import ConfigProvider
from hub.sdk.errors import ConfigError

if TYPE_CHECKING:
    from hub.runtime.plugins import Plugins
    from hub.runtime.worker_config import WorkerConfig

#: ``${provider:path:key}`` or ``${provider:key}``, as Kafka's ConfigTransformer reads them.
REFERENCE = re.compile(r"\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}")


def _refused(message: str) -> ConfigError:
    return ConfigError({"": [message]})


class AllowedPaths:
    """Kafka's ``allowed.paths`` of the file and directory providers (see the module docstring). Immutable."""

    def __init__(self, value: str | None, provider: str) -> None:
        self.provider = provider
        self.roots: list[str] | None = None
        if value:
            self.roots = []
            for entry in value.split(","):
                root = _normalise(entry)
                if not os.path.isabs(root):
                    raise ConfigError({"allowed.paths": [f"Path {root} is not absolute"]})
                if not os.path.exists(root):
                    raise ConfigError({"allowed.paths": [f"Path {root} does not exist"]})
                self.roots.append(root)

    def check(self, path: str) -> Path:
        """The normalised ``path``; ConfigError when it, or the file it leads to, is outside the allowed paths."""
        refused = f"The path {path} is not allowed to be accessed"
        if self.roots is None:
            raise _refused(
                f"{refused}: the {self.provider} config provider reads no path until its allowed.paths "
                f"lists the directories it may read"
            )
        normal = _normalise(path)
        if not any(_within(normal, root) for root in self.roots):
            raise _refused(f"{refused} (it is outside the {self.provider} config provider's allowed.paths)")
        real = os.path.realpath(normal)
        if not any(_within(real, os.path.realpath(root)) for root in self.roots):
            raise _refused(
                f"{refused}: a symbolic link leads outside the {self.provider} config provider's allowed.paths"
            )
        return Path(normal)


def _normalise(path: str) -> str:
    normal = os.path.normpath(path) if path else path
    return "/" + normal.lstrip("/") if normal.startswith("//") else normal


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class _PathLimited(ConfigProvider):
    kind = ""

    def __init__(self) -> None:
        self.allowed = AllowedPaths(None, self.kind)

    def configure(self, params: Mapping[str, str]) -> None:
        self.allowed = AllowedPaths(params.get("allowed.paths"), self.kind)

    def _path(self, path: str, key: str) -> Path:
        if not path:
            raise _refused(f"the {self.kind} config provider needs a path: ${{{self.kind}:PATH:{key}}}")
        return self.allowed.check(path)


class FileConfigProvider(_PathLimited):
    """``${file:PATH:KEY}``: the value of KEY in the properties file PATH."""

    aliases = ("org.apache.kafka.common.config.provider.FileConfigProvider",)
    kind = "file"

    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        properties = read_properties(self._path(path, next(iter(keys), "KEY")))
        missing = [key for key in keys if key not in properties]
        if missing:
            raise _refused(f"{path} has no key {', '.join(repr(k) for k in missing)}")
        return {key: properties[key] for key in keys}


class DirectoryConfigProvider(_PathLimited):
    """``${dir:DIR:FILE}``: the content of the regular file FILE in the directory DIR (e.g. mounted secrets)."""

    aliases = ("org.apache.kafka.common.config.provider.DirectoryConfigProvider",)
    kind = "dir"

    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        directory = self._path(path, next(iter(keys), "FILE"))
        if not directory.is_dir():
            raise _refused(f"The path {path} is not a directory")
        values: dict[str, str] = {}
        for key in keys:
            if key in ("", ".", "..") or "/" in key or not directory.joinpath(key).is_file():
                raise _refused(f"directory {path} has no file {key!r}")
            file = self.allowed.check(str(directory / key))
            try:
                values[key] = file.read_bytes().decode()
            except (OSError, UnicodeDecodeError) as exc:
                raise _refused(f"Could not read file {file} for property {key}: {_reason(exc)}") from None
        return values


class EnvVarConfigProvider(ConfigProvider):
    """``${env:NAME}``: the environment variable NAME, when ``allowlist.pattern`` matches the whole name."""

    aliases = ("org.apache.kafka.common.config.provider.EnvVarConfigProvider",)

    def __init__(self) -> None:
        self.allowlist = re.compile(".*")

    def configure(self, params: Mapping[str, str]) -> None:
        try:
            self.allowlist = re.compile(params.get("allowlist.pattern", ".*"))
        except re.error as exc:
            raise ConfigError({"allowlist.pattern": [f"not a valid regular expression: {exc}"]}) from None

    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        if path:
            raise _refused(f"Path is not supported for EnvVarConfigProvider, invalid value {path!r}")
        values: dict[str, str] = {}
        for key in keys:
            if not self.allowlist.fullmatch(key):
                raise _refused(
                    f"environment variable {key!r} is not allowed by the env config provider's allowlist.pattern"
                )
            if key not in os.environ:
                raise _refused(
                    f"environment variable {key!r} is not set in the Hub server's environment (export "
                    "it in the shell that starts Hub, then restart Hub)"
                )
            values[key] = os.environ[key]
        return values


def _reason(exc: Exception) -> str:
    return exc.strerror or str(exc) if isinstance(exc, OSError) else "not UTF-8 text"


BUILTIN_PROVIDERS: dict[str, type[ConfigProvider]] = {
    "env": EnvVarConfigProvider,
    "file": FileConfigProvider,
    "dir": DirectoryConfigProvider,
}


def read_properties(path: Path) -> dict[str, str]:
    """A Java-style properties file (``key=value`` or ``key: value``, ``#``/``!`` comments, ``\\`` continuations)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise _refused(f"Could not read properties from file {path}: {_reason(exc)}") from None
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
    """Resolves ``${provider:path:key}`` references in config values with the configured providers.

    Thread-safe as long as the providers are (the built-in ones are)."""

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
            reference, name, path, key = match.group(0), match.group(1), match.group(3) or "", match.group(4)
            provider = self.providers.get(name)
            if provider is None:
                return reference  # as Kafka: an unknown provider leaves the text alone
            if not key:
                raise _refused(f"{reference} names no key (expected ${{{name}:PATH:KEY}} or ${{{name}:KEY}})")
            try:
                found = provider.get(path, [key]).get(key)
            except ConfigError:
                raise
            except Exception as exc:  # a plugin's provider failing its own way
                raise _refused(f"config provider {name!r} failed on {reference}: {exc}") from None
            if found is None:
                raise _refused(f"config provider {name!r} has no value for {reference}")
            SECRETS.register(found, reference)
            return found

        resolved = REFERENCE.sub(replace, value)
        SECRETS.register(resolved, value)
        return resolved

    def unknown_references(self, config: Mapping[str, str]) -> dict[str, list[str]]:
        """Per key, the references naming a provider this resolver does not have (they stay as written)."""
        unknown: dict[str, list[str]] = {}
        for key, value in config.items():
            if isinstance(value, str):
                for match in REFERENCE.finditer(value):
                    if match.group(1) not in self.providers:
                        unknown.setdefault(key, []).append(match.group(0))
        return unknown

    def close(self) -> None:
        for provider in self.providers.values():
            provider.close()


def has_reference(value: Any) -> bool:
    return isinstance(value, str) and REFERENCE.search(value) is not None


def build_resolver(plugins: Plugins, config: WorkerConfig) -> ConfigResolver:
    """The config providers the worker config names, configured with their ``param.*`` options."""
    providers = {}
    for name in config["config.providers"] or []:
        class_name = config.raw.get(f"config.providers.{name}.class", name)
        params = f"config.providers.{name}.param."
        try:
            provider = plugins.config_provider(class_name)
            provider.configure(config.prefixed(params))
        except ConfigError as exc:  # named as the worker config names them
            raise ConfigError(
                {
                    params + key if key else f"config.providers.{name}.class": messages
                    for key, messages in exc.errors.items()
                }
            ) from None
        providers[name] = provider
    return ConfigResolver(providers)
