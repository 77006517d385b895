"""The hooks through which plugins (and Hub's built-ins) register what they provide.

A plugin is a module (or object) named by an entry point in the group ``hub``; its functions decorated with
``hub.sdk.hookimpl`` return the classes they provide, either as a list (each class answers to its own name,
its dotted path, and its ``aliases``) or as a mapping of extra names to classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pluggy

from hub.sdk.plugin import PROJECT_NAME

hookspec = pluggy.HookspecMarker(PROJECT_NAME)

Provided = Sequence[type[Any]] | Mapping[str, type[Any]]


@hookspec
def hub_register_connectors() -> Provided:  # type: ignore[empty-body]
    """Connector classes (subclasses of SourceConnector or SinkConnector)."""


@hookspec
def hub_register_converters() -> Provided:  # type: ignore[empty-body]
    """Converter and HeaderConverter classes."""


@hookspec
def hub_register_transforms() -> Provided:  # type: ignore[empty-body]
    """Transformation classes."""


@hookspec
def hub_register_predicates() -> Provided:  # type: ignore[empty-body]
    """Predicate classes."""


@hookspec
def hub_register_config_providers() -> Provided:  # type: ignore[empty-body]
    """ConfigProvider classes."""
