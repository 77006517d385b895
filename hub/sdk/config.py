"""Declarative connector configs: one definition gives a JSON Schema, a parser, and Connect's validate response.

A ``ConfigDef`` lists ``ConfigKey``s with Kafka Connect's types (BOOLEAN, STRING, INT, SHORT, LONG, DOUBLE,
LIST, CLASS, PASSWORD), defaults, documentation and constraints. ``parse()`` turns the string map users submit
(Connect configs travel as strings) into typed values in three steps: coerce each string to its type, validate
the typed map against the JSON Schema with jsonschema (every error at once), then run per-key validators and fill
defaults. Any problem raises ConfigError listing all of them, per key. PASSWORD values are marked secret
(``writeOnly`` in the JSON Schema, ``[hidden]`` in validate responses, wrapped in ``Password`` when parsed).

Options a connector knows from its reference implementation but does not implement are declared with
``unsupported()``; submitting one is an error naming it and why.

Immutable after construction; safe to share between threads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Final

import jsonschema

from hub.sdk.errors import ConfigError

HIDDEN: Final = "[hidden]"


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Final = _NoDefault()


class ConfigType(Enum):
    BOOLEAN = "BOOLEAN"
    STRING = "STRING"
    INT = "INT"
    SHORT = "SHORT"
    LONG = "LONG"
    DOUBLE = "DOUBLE"
    LIST = "LIST"
    CLASS = "CLASS"
    PASSWORD = "PASSWORD"


class Importance(Enum):
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class Width(Enum):
    NONE = "NONE"
    SHORT = "SHORT"
    MEDIUM = "MEDIUM"
    LONG = "LONG"


class Password:
    """A secret config value; ``str()`` and ``repr()`` never show it, ``.value`` does."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return HIDDEN

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Password) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


_INT_RANGES = {
    ConfigType.SHORT: (-(2**15), 2**15 - 1),
    ConfigType.INT: (-(2**31), 2**31 - 1),
    ConfigType.LONG: (-(2**63), 2**63 - 1),
}
_TRUE_FALSE = {"true": True, "false": False}


@dataclass(frozen=True, slots=True)
class ConfigKey:
    """One option: its type, default, constraints and the documentation Connect's REST API shows."""

    name: str
    type: ConfigType
    default: Any = NO_DEFAULT
    doc: str = ""
    importance: Importance = Importance.MEDIUM
    group: str | None = None
    order: int = -1
    width: Width = Width.NONE
    display_name: str | None = None
    dependents: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    case_insensitive_choices: bool = False
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    non_empty: bool = False
    validator: Callable[[Any], str | None] | None = None

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT

    @property
    def secret(self) -> bool:
        return self.type is ConfigType.PASSWORD

    def coerce(self, raw: Any) -> Any:
        """The typed value of a submitted value (string or native); ValueError with a message on failure."""
        if raw is None:
            return None
        kind = self.type
        if kind is ConfigType.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE_FALSE:
                return _TRUE_FALSE[text]
            raise ValueError("expected true or false")
        if kind in _INT_RANGES:
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError("expected an integer")
            try:
                number = int(str(raw).strip())
            except ValueError:
                raise ValueError("expected an integer") from None
            low, high = _INT_RANGES[kind]
            if not low <= number <= high:
                raise ValueError(f"does not fit in a {kind.value}")
            return number
        if kind is ConfigType.DOUBLE:
            try:
                if isinstance(raw, bool):
                    raise ValueError
                return float(str(raw).strip())
            except ValueError:
                raise ValueError("expected a number") from None
        if kind is ConfigType.LIST:
            if isinstance(raw, list | tuple):
                return [str(item).strip() for item in raw]
            text = str(raw).strip()
            return [item.strip() for item in text.split(",")] if text else []
        if kind is ConfigType.PASSWORD:
            return raw if isinstance(raw, Password) else Password(str(raw))
        return str(raw).strip()

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of this key's typed value."""
        kind = self.type
        schema: dict[str, Any]
        if kind is ConfigType.BOOLEAN:
            schema = {"type": "boolean"}
        elif kind in _INT_RANGES:
            low, high = _INT_RANGES[kind]
            schema = {"type": "integer", "minimum": low, "maximum": high}
        elif kind is ConfigType.DOUBLE:
            schema = {"type": "number"}
        elif kind is ConfigType.LIST:
            schema = {"type": "array", "items": {"type": "string"}}
        else:
            schema = {"type": "string"}
        if kind is ConfigType.PASSWORD:
            schema["writeOnly"] = True
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        item = schema["items"] if kind is ConfigType.LIST else schema
        if self.choices and not self.case_insensitive_choices:
            item["enum"] = list(self.choices)
        if self.pattern:
            item["pattern"] = self.pattern
        if self.non_empty:
            schema["minItems" if kind is ConfigType.LIST else "minLength"] = 1
        if self.doc:
            schema["description"] = self.doc
        if not self.required and self.default is not None:
            schema["default"] = self.default.value if isinstance(self.default, Password) else self.default
        return schema


@dataclass(frozen=True)
class ConfigDef:
    """An ordered set of ConfigKeys, plus the known-but-unsupported options of a connector's reference."""

    keys: tuple[ConfigKey, ...] = ()
    unsupported_keys: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [key.name for key in self.keys]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"config keys defined twice: {', '.join(duplicates)}")

    def define(
        self, name: str, type: ConfigType, default: Any = NO_DEFAULT, doc: str = "", **options: Any
    ) -> ConfigDef:
        """A new ConfigDef with one more key (chainable)."""
        return ConfigDef((*self.keys, ConfigKey(name, type, default, doc, **options)), self.unsupported_keys)

    def unsupported(self, name: str, reason: str) -> ConfigDef:
        """A new ConfigDef that rejects ``name`` with ``reason`` (an option Hub knows of but does not implement)."""
        return ConfigDef(self.keys, {**self.unsupported_keys, name: reason})

    def merge(self, other: ConfigDef) -> ConfigDef:
        """Keys of both; a key defined in both is an error."""
        return ConfigDef((*self.keys, *other.keys), {**self.unsupported_keys, **other.unsupported_keys})

    @property
    def names(self) -> list[str]:
        return [key.name for key in self.keys]

    def key(self, name: str) -> ConfigKey | None:
        for candidate in self.keys:
            if candidate.name == name:
                return candidate
        return None

    def json_schema(self) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) of the typed config; secrets are ``writeOnly``."""
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {key.name: key.json_schema() for key in self.keys},
            "required": [key.name for key in self.keys if key.required],
        }

    def errors(
        self, raw: Mapping[str, Any], shown: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Typed values (defaults filled) and every problem per key; never raises for bad input. A value that
        ``shown`` gives differently (e.g. the ``${provider:…}`` reference it was resolved from) is quoted, whole, as
        ``shown`` has it, never as ``raw`` has it nor any part of it."""
        quoted = raw if shown is None else shown

        def invalid(name: str, part: Any = None) -> str:
            if (self.key(name) or _NO_KEY).secret:
                return f"Invalid value {HIDDEN}"
            whole = part is None or quoted.get(name) != raw.get(name)
            return f"Invalid value {quoted.get(name) if whole else part!r}"

        problems: dict[str, list[str]] = {}
        typed: dict[str, Any] = {}
        for name, reason in self.unsupported_keys.items():
            if name in raw:
                problems.setdefault(name, []).append(f"'{name}' is not supported by this connector: {reason}")
        for key in self.keys:
            if key.name not in raw or raw[key.name] is None:
                continue
            try:
                typed[key.name] = key.coerce(raw[key.name])
            except ValueError as exc:
                problems.setdefault(key.name, []).append(f"{invalid(key.name)} for '{key.name}': {exc}")
        checkable = {name: value.value if isinstance(value, Password) else value for name, value in typed.items()}
        validator = jsonschema.Draft202012Validator(self.json_schema())
        for error in validator.iter_errors(checkable):
            if error.validator == "required":
                missing = re.findall(r"'([^']+)' is a required property", error.message)
                for name in missing:
                    problems.setdefault(name, []).append(
                        f"Missing required configuration '{name}' which has no default value."
                    )
                continue
            name = str(error.path[0]) if error.path else ""
            problems.setdefault(name, []).append(f"{invalid(name)} for '{name}': {_describe(error)}")
        for key in self.keys:
            if key.choices and key.case_insensitive_choices and key.name in typed:
                allowed = {choice.lower() for choice in key.choices}
                values = typed[key.name] if isinstance(typed[key.name], list) else [typed[key.name]]
                bad = [value for value in values if str(value).lower() not in allowed]
                if bad:
                    problems.setdefault(key.name, []).append(
                        f"{invalid(key.name, bad[0])} for '{key.name}': must be one of {', '.join(key.choices)}"
                    )
            if key.validator is not None and key.name in typed and key.name not in problems:
                message = key.validator(typed[key.name])
                if message:
                    problems.setdefault(key.name, []).append(f"Invalid value for '{key.name}': {message}")
        for key in self.keys:
            if key.name not in typed and not key.required:
                typed[key.name] = key.coerce(key.default) if key.default is not None else None
        return typed, problems

    def parse(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values with defaults filled; ConfigError listing every problem."""
        typed, problems = self.errors(raw)
        if problems:
            raise ConfigError(problems)
        return typed

    def key_infos(self) -> list[dict[str, Any]]:
        """Connect's ConfigKeyInfo list (``GET /connector-plugins/{plugin}/config``)."""
        return [_key_info(key) for key in self.keys]

    def validate_response(
        self, raw: Mapping[str, Any], *, connector_class: str, problems: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, Any]:
        """Connect's ConfigInfos: every defined key with its value and errors; unknown keys with a null definition.
        ``problems`` found by the caller replace those of ``errors(raw)``."""
        if problems is None:
            problems = self.errors(raw)[1]
        configs: list[dict[str, Any]] = []
        for key in self.keys:
            value = raw.get(key.name, None if key.required else key.default)
            configs.append({"definition": _key_info(key), "value": _value_info(key.name, value, key, problems)})
        for name in raw:
            if self.key(name) is None:
                configs.append({"definition": None, "value": _value_info(name, raw[name], None, problems)})
        groups = list(dict.fromkeys(key.group for key in self.keys if key.group))
        error_count = sum(len(messages) for messages in problems.values())
        return {"name": connector_class, "error_count": error_count, "groups": groups, "configs": configs}


_NO_KEY: Final = ConfigKey("", ConfigType.STRING)


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return "must be one of " + ", ".join(str(choice) for choice in error.validator_value)
    if error.validator == "minimum":
        return f"must be at least {_number(error.validator_value)}"
    if error.validator == "maximum":
        return f"must be at most {_number(error.validator_value)}"
    if error.validator == "pattern":
        return f"must match {error.validator_value}"
    if error.validator in ("minLength", "minItems"):
        return "must not be empty"
    return str(error.message)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _render(value: Any, key: ConfigKey | None) -> str | None:
    if value is None or value is NO_DEFAULT:
        return None
    if key is not None and key.secret:
        return HIDDEN
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _key_info(key: ConfigKey) -> dict[str, Any]:
    return {
        "name": key.name,
        "type": key.type.value,
        "required": key.required,
        "default_value": _render(key.default, None) if not key.secret else (None if key.required else HIDDEN),
        "importance": key.importance.value,
        "documentation": key.doc,
        "group": key.group,
        "order": key.order,
        "width": key.width.value,
        "display_name": key.display_name or key.name,
        "dependents": list(key.dependents),
    }


def _value_info(name: str, value: Any, key: ConfigKey | None, problems: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    return {
        "name": name,
        "value": _render(value, key),
        "recommended_values": list(key.choices) if key is not None else [],
        "errors": list(problems.get(name, [])),
        "visible": True,
    }


def config_def(keys: Iterable[ConfigKey]) -> ConfigDef:
    """A ConfigDef from keys, numbering ``order`` within each group when not given."""
    numbered: list[ConfigKey] = []
    counters: dict[str | None, int] = {}
    for key in keys:
        counters[key.group] = counters.get(key.group, 0) + 1
        if key.order < 0:
            key = replace(key, order=counters[key.group])
        numbered.append(key)
    return ConfigDef(tuple(numbered))
