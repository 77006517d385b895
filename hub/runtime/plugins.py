"""Plugins: discovers what plugins provide (entry-point group ``hub`` plus Hub's built-ins) and looks it up by name.

Every class answers to its class name, its dotted path (``package.module.Class``), its ``aliases`` and any
extra name its plugin registered it under; a connector also answers to its class name without the trailing
``Connector``, as in Kafka Connect. A plugin that fails to load is logged with its entry point and listed by
``hub plugins`` with the error; it does not stop the others.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy

from hub.runtime import builtin_plugins, hookspecs
from hub.sdk.config_provider import ConfigProvider
from hub.sdk.connector import Connector, SinkConnector, SourceConnector, package_version
from hub.sdk.converter import Converter, HeaderConverter
from hub.sdk.errors import ConfigError
from hub.sdk.plugin import PROJECT_NAME
from hub.sdk.transform import Predicate, Transformation

log = logging.getLogger("hub.runtime.plugins")

ENTRY_POINT_GROUP = "hub"


@dataclass(frozen=True)
class PluginInfo:
    """One plugin class as ``hub plugins`` and ``GET /connector-plugins`` list it."""

    kind: str  # source, sink, converter, header_converter, transformation, predicate, config_provider
    class_name: str
    version: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class PluginFailure:
    entry_point: str
    error: str


def _dotted(kind: type[Any]) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


class _Table:
    def __init__(self, what: str) -> None:
        self.what = what
        self.by_name: dict[str, type[Any]] = {}
        self.classes: dict[type[Any], list[str]] = {}

    def add(self, kind: type[Any], extra: Iterable[str] = ()) -> None:
        names = [kind.__name__, _dotted(kind), *getattr(kind, "aliases", ()), *extra]
        if issubclass(kind, Connector) and kind.__name__.endswith("Connector") and kind.__name__ != "Connector":
            names.append(kind.__name__[: -len("Connector")])
        known = self.classes.setdefault(kind, [])
        for name in names:
            other = self.by_name.get(name)
            if other is not None and other is not kind:
                log.warning("%s name %r is taken by %s; %s keeps only its other names", self.what, name, other, kind)
                continue
            self.by_name[name] = kind
            if name not in known and name != _dotted(kind):
                known.append(name)

    def get(self, name: str) -> type[Any]:
        found = self.by_name.get(name.strip())
        if found is None:
            raise ConfigError({"": [self.unknown(name)]})
        return found

    def unknown(self, name: str) -> str:
        """The message for a name nothing answers to: the closest names first, then what each class answers to
        (short names and other projects' class names, not Hub's module paths)."""
        typed = {known.lower(): (known, kind) for kind, names in self.classes.items() for known in names}
        close: dict[type[Any], str] = {}  # one suggestion per class
        for match in difflib.get_close_matches(name.strip().lower(), list(typed), n=6):
            known, kind = typed[match]
            close.setdefault(kind, known)
        suggestions = list(close.values())[:3]
        message = f"unknown {self.what} {name!r}"
        if suggestions:
            message += f"; did you mean {' or '.join(suggestions)}?"
        listed = sorted(_shown(names) for names in self.classes.values())
        return message + f" Installed: {', '.join(listed)}" if listed else message + " Nothing is installed."


class Plugins:
    """What every plugin provides, by name (see the module docstring)."""

    def __init__(self, manager: pluggy.PluginManager, failures: Iterable[PluginFailure] = ()) -> None:
        self.manager = manager
        self.failures = list(failures)
        self.connectors = _Table("connector class")
        self.converters = _Table("converter")
        self.transforms = _Table("transform")
        self.predicates = _Table("predicate")
        self.config_providers = _Table("config provider")
        hook = manager.hook
        for table, results in (
            (self.connectors, hook.hub_register_connectors()),
            (self.converters, hook.hub_register_converters()),
            (self.transforms, hook.hub_register_transforms()),
            (self.predicates, hook.hub_register_predicates()),
            (self.config_providers, hook.hub_register_config_providers()),
        ):
            for provided in results:
                _add_all(table, provided)

    @classmethod
    def discover(cls, *, entry_points: bool = True, extra: Iterable[object] = ()) -> Plugins:
        """Built-ins, then every entry point of the group ``hub``, then ``extra`` plugin objects (tests)."""
        manager = pluggy.PluginManager(PROJECT_NAME)
        manager.add_hookspecs(hookspecs)
        manager.register(builtin_plugins, name="hub.builtin")
        failures: list[PluginFailure] = []
        if entry_points:
            for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
                try:
                    if manager.get_plugin(entry.name) is None:
                        manager.register(entry.load(), name=entry.name)
                except Exception as exc:
                    log.error("plugin %s (%s) failed to load: %s", entry.name, entry.value, exc)
                    failures.append(PluginFailure(f"{entry.name} = {entry.value}", f"{type(exc).__name__}: {exc}"))
        for plugin in extra:
            manager.register(plugin)
        return cls(manager, failures)

    # --- lookups -----------------------------------------------------------------------------------------------

    def connector_class(self, name: str) -> type[Connector]:
        kind = self.connectors.get(name)
        if not issubclass(kind, SourceConnector | SinkConnector):
            raise ConfigError({"": [f"{name!r} is neither a source nor a sink connector"]})
        return kind

    def converter(self, name: str, *, header: bool = False) -> Converter | HeaderConverter:
        kind = self.converters.get(name)
        wanted = HeaderConverter if header else Converter
        if not issubclass(kind, wanted):
            raise ConfigError({"": [f"{name!r} is not a {'header ' if header else ''}converter"]})
        instance: Converter | HeaderConverter = kind()
        return instance

    def transform_table(self) -> Mapping[str, type[Transformation]]:
        return self.transforms.by_name

    def predicate_table(self) -> Mapping[str, type[Predicate]]:
        return self.predicates.by_name

    def config_provider(self, name: str) -> ConfigProvider:
        provider: ConfigProvider = self.config_providers.get(name)()
        return provider

    def infos(self) -> list[PluginInfo]:
        """Every plugin class, connectors first, each kind sorted by class name."""
        found: list[PluginInfo] = []
        for table in (self.connectors, self.converters, self.transforms, self.predicates, self.config_providers):
            for kind, names in sorted(table.classes.items(), key=lambda item: _dotted(item[0])):
                found.append(PluginInfo(_kind_of(kind), _dotted(kind), _version_of(kind), tuple(names)))
        return found


def _shown(names: list[str]) -> str:
    """A class as people name it: its shortest plain name, with the class names of other projects it stands for."""
    plain = sorted((name for name in names if "." not in name and "$" not in name), key=len)
    foreign = [name for name in names if "." in name]
    if not plain:
        return ", ".join(foreign)
    return f"{plain[0]} ({', '.join(foreign)})" if foreign else plain[0]


def _add_all(table: _Table, provided: Any) -> None:
    if isinstance(provided, Mapping):
        for name, kind in provided.items():
            table.add(kind, [name])
    else:
        for kind in provided or ():
            table.add(kind)


def _kind_of(kind: type[Any]) -> str:
    for base, label in (
        (SourceConnector, "source"),
        (SinkConnector, "sink"),
        (Converter, "converter"),
        (HeaderConverter, "header_converter"),
        (Transformation, "transformation"),
        (Predicate, "predicate"),
        (ConfigProvider, "config_provider"),
    ):
        if issubclass(kind, base):
            return label
    return "unknown"


def _version_of(kind: type[Any]) -> str:
    if issubclass(kind, Connector):
        try:
            return kind().version()  # connectors take no constructor arguments, as in Connect
        except Exception:
            return "unknown"
    return package_version(kind)
