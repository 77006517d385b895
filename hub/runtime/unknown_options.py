"""Warnings for the options of a connector config that nothing declares, with "did you mean" suggestions.

Connect accepts keys it does not know (users pass extra ones), so these are warnings, never errors. Checked: the
connector's own keys against the common options and the connector's; ``key.converter.*``, ``value.converter.*`` and
``header.converter.*`` against the options of the converter the connector names (without one, the worker's
converter and options apply, as in Connect, so those keys are ignored); ``transforms.<alias>.*`` and
``predicates.<alias>.*`` against their plugin's options plus ``type`` (and ``predicate``, ``negate`` for
transforms). Client overrides (``producer.override.*``, ``consumer.override.*``, ``admin.override.*``) and
``topic.creation.*`` take open-ended options and are left alone. A plugin that cannot be found or made is reported
by validation itself; its keys get no warning here.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from hub.runtime.plugins import Plugins
from hub.sdk.config import ConfigDef

_CONVERTERS = ("key.converter", "value.converter", "header.converter")
_OPEN_PREFIXES = ("producer.override.", "consumer.override.", "admin.override.", "topic.creation.")
_TRANSFORM_KEYS = ("type", "predicate", "negate")
_PREDICATE_KEYS = ("type",)
#: How alike (difflib's ratio) a known name must be to be suggested: ``rte`` → ``rate`` is 0.86.
SUGGESTION_CUTOFF = 0.75


def unknown_option_warnings(plugins: Plugins, definition: ConfigDef, config: Mapping[str, str]) -> list[str]:
    """One warning per key of ``config`` nothing declares (see the module docstring), in the config's order."""
    known = set(definition.names) | set(definition.unsupported_keys)
    owned: dict[str, list[str] | None] = {}  # prefix → the full keys declared under it (None: anything goes)
    for kind in _CONVERTERS:
        owned[kind + "."] = _converter_keys(plugins, kind, config)
    owned.update(_plugin_keys(config, "transforms", plugins.transform_table(), _TRANSFORM_KEYS))
    owned.update(_plugin_keys(config, "predicates", plugins.predicate_table(), _PREDICATE_KEYS))
    longest_first = sorted(owned, key=len, reverse=True)
    warnings: list[str] = []
    for name in config:
        if name in known or name.startswith(_OPEN_PREFIXES):
            continue
        prefix = next((p for p in longest_first if name.startswith(p)), None)
        if prefix is None:
            warnings.append(_unknown(name, known))
            continue
        declared = owned[prefix]
        if declared is not None and name not in declared:
            warnings.append(_unknown(name, declared, prefix, _why_ignored(prefix, name, config)))
    return warnings


def _unknown(name: str, candidates: Iterable[str], prefix: str = "", why: str = "") -> str:
    """The warning for ``name``; names under ``prefix`` are compared without it, so the prefix they share does not
    make every option of a plugin look close."""
    warning = f"unknown configuration {name!r} is ignored{why}"
    options = {candidate[len(prefix) :]: candidate for candidate in candidates}
    close = difflib.get_close_matches(name[len(prefix) :], list(options), n=3, cutoff=SUGGESTION_CUTOFF)
    if close:
        warning += "; did you mean " + " or ".join(repr(options[match]) for match in close) + "?"
    return warning


def _why_ignored(prefix: str, name: str, config: Mapping[str, str]) -> str:
    kind = prefix.rstrip(".")
    if kind in _CONVERTERS and not config.get(kind):
        return f" (the connector sets no {kind!r}, so the worker's converter and its options apply)"
    if kind in ("transforms", "predicates"):
        alias = name[len(prefix) :].split(".", 1)[0]
        return f" ({alias!r} is not listed in {kind!r})"
    return ""


def _converter_keys(plugins: Plugins, kind: str, config: Mapping[str, str]) -> list[str] | None:
    name = config.get(kind)
    if not name:
        return []
    try:
        converter = plugins.converter(name, header=kind == "header.converter")
    except Exception:
        return None
    return _declared(converter, kind + ".")


def _plugin_keys(
    config: Mapping[str, str], section: str, table: Mapping[str, type[Any]], reserved: tuple[str, ...]
) -> dict[str, list[str] | None]:
    """For each alias listed in ``section`` (``transforms`` or ``predicates``), the keys its plugin declares; keys
    under ``section.`` of an alias not listed are owned by nobody: every one is unknown."""
    owned: dict[str, list[str] | None] = {f"{section}.": []}
    for alias in (item.strip() for item in str(config.get(section) or "").split(",")):
        if not alias:
            continue
        prefix = f"{section}.{alias}."
        kind = table.get(str(config.get(prefix + "type") or "").strip())
        if kind is None:
            owned[prefix] = None
            continue
        try:
            declared = _declared(kind(), prefix)
        except Exception:
            declared = None
        owned[prefix] = None if declared is None else declared + [prefix + key for key in reserved]
    return owned


def _declared(plugin: object, prefix: str) -> list[str] | None:
    """``prefix`` + each option the plugin declares; None for a plugin that declares nothing it takes."""
    describe = getattr(plugin, "config_def", None)
    if describe is None:
        return None
    definition = describe()
    return [prefix + name for name in (*definition.names, *definition.unsupported_keys)]
