"""The options every connector takes (Kafka Connect's common, sink and error-handling options) and the
validation of a whole connector config: common options, the connector's own, converters, transforms.

Keys under the prefixes that belong to other parts (``key.converter.*``, ``transforms.*``,
``producer.override.*``…) are checked by their owners. Keys nobody recognises are not errors (Connect accepts
them) but are listed as warnings with the closest known names (``hub.runtime.unknown_options``), so a typo does
not pass unnoticed. Once every option passed its checks, the connector tries its external system
(``Connector.validate_connection``, see ``hub.runtime.connection_check``); what it reports refuses the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.runtime.config_providers import ConfigResolver
from hub.runtime.connection_check import connection_problems
from hub.runtime.exactly_once_config import OFFSETS_TOPIC_UNSUPPORTED, SOURCE_KEYS, check_source
from hub.runtime.options import prefixed
from hub.runtime.plugins import Plugins
from hub.runtime.redaction import redact
from hub.runtime.transforms import TransformationChain
from hub.runtime.unknown_options import unknown_option_warnings
from hub.sdk.config import ConfigDef, ConfigKey, ConfigType, Importance, config_def
from hub.sdk.connector import Connector, SinkConnector
from hub.sdk.errors import ConfigError

COMMON_GROUP = "Common"
TRANSFORMS_GROUP = "Transforms"
PREDICATES_GROUP = "Predicates"
ERRORS_GROUP = "Error Handling"

_COMMON_KEYS = [
    ConfigKey("name", ConfigType.STRING, doc="Globally unique name of the connector.", importance=Importance.HIGH,
              group=COMMON_GROUP, non_empty=True, pattern=r"^[^/\s]([^/]*[^/\s])?$"),
    ConfigKey("connector.class", ConfigType.STRING, doc="Class name or alias of the connector.",
              importance=Importance.HIGH, group=COMMON_GROUP),
    ConfigKey("tasks.max", ConfigType.INT, 1, "Maximum number of tasks for this connector.",
              importance=Importance.HIGH, group=COMMON_GROUP, minimum=1),
    ConfigKey("tasks.max.enforce", ConfigType.BOOLEAN, True,
              "Fail the connector when it returns more task configs than tasks.max.", group=COMMON_GROUP),
    ConfigKey("key.converter", ConfigType.CLASS, None, "Converter for record keys (default: the worker's).",
              group=COMMON_GROUP),
    ConfigKey("value.converter", ConfigType.CLASS, None, "Converter for record values (default: the worker's).",
              group=COMMON_GROUP),
    ConfigKey("header.converter", ConfigType.CLASS, None, "Converter for header values (default: the worker's).",
              group=COMMON_GROUP),
    ConfigKey("config.action.reload", ConfigType.STRING, "restart",
              "What to do when a config provider says a value changed.", group=COMMON_GROUP,
              choices=("none", "restart"), case_insensitive_choices=True),
    ConfigKey("transforms", ConfigType.LIST, "", "Aliases of the transformations to apply, in order.",
              group=TRANSFORMS_GROUP),
    ConfigKey("predicates", ConfigType.LIST, "", "Aliases of the predicates transforms may refer to.",
              group=PREDICATES_GROUP),
    ConfigKey("errors.retry.timeout", ConfigType.LONG, 0,
              "Total time in ms to retry a failed operation; -1 retries forever.", group=ERRORS_GROUP, minimum=-1),
    ConfigKey("errors.retry.delay.max.ms", ConfigType.LONG, 60_000, "Longest wait between two retries, in ms.",
              group=ERRORS_GROUP, minimum=1),
    ConfigKey("errors.tolerance", ConfigType.STRING, "none",
              "none: an error fails the task; all: records that fail are skipped (and sent to the DLQ if set).",
              group=ERRORS_GROUP, choices=("none", "all"), case_insensitive_choices=True),
    ConfigKey("errors.log.enable", ConfigType.BOOLEAN, False, "Log every error with its context.",
              group=ERRORS_GROUP),
    ConfigKey("errors.log.include.messages", ConfigType.BOOLEAN, False,
              "Include the failing record in error logs (may show sensitive data).", group=ERRORS_GROUP),
]  # fmt: skip

_SINK_KEYS = [
    ConfigKey("topics", ConfigType.LIST, "", "Topics to consume (or use topics.regex).", importance=Importance.HIGH,
              group=COMMON_GROUP),
    ConfigKey("topics.regex", ConfigType.STRING, "", "Consume every topic whose whole name matches this regex.",
              group=COMMON_GROUP),
    ConfigKey("errors.deadletterqueue.topic.name", ConfigType.STRING, "",
              "Topic receiving records that failed (with errors.tolerance=all).", group=ERRORS_GROUP),
    ConfigKey("errors.deadletterqueue.topic.replication.factor", ConfigType.SHORT, 3,
              "Replication factor of the dead letter topic when Hub creates it (a single node uses 1).",
              group=ERRORS_GROUP),
    ConfigKey("errors.deadletterqueue.context.headers.enable", ConfigType.BOOLEAN, False,
              "Add __connect.errors.* headers describing the error to dead-letter records.", group=ERRORS_GROUP),
]  # fmt: skip

COMMON = config_def(_COMMON_KEYS)
SINK = config_def(_COMMON_KEYS + _SINK_KEYS)
SOURCE = config_def(_COMMON_KEYS + SOURCE_KEYS).unsupported(*OFFSETS_TOPIC_UNSUPPORTED)


def common_def(connector: type[Connector]) -> ConfigDef:
    return SINK if issubclass(connector, SinkConnector) else SOURCE


@dataclass
class Validation:
    """The outcome of validating a connector config: problems per key, warnings, and Connect's response."""

    connector_class: str
    problems: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    response: dict[str, Any] = field(default_factory=dict)

    def raise_for_problems(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


def validate(
    plugins: Plugins,
    config: Mapping[str, str],
    resolver: ConfigResolver | None = None,
    *,
    exactly_once: bool = False,
) -> Validation:
    """Check everything in a connector config; never raises for bad input. ``exactly_once``: whether this worker has
    exactly-once source support enabled (``hub.runtime.exactly_once_config``). With a ``resolver``, values are checked
    with their ``${provider:…}`` references resolved (a reference that fails is a problem of its key), while every
    value, problem and warning shows the references as written: messages about a value quote it as written, and
    any resolved value a plugin's message quotes is redacted (``hub.runtime.redaction``)."""
    validation = _validate(plugins, config, resolver, exactly_once)
    validation.problems = _redacted(validation.problems)
    validation.warnings = [redact(warning) for warning in validation.warnings]
    validation.response = _redacted_response(validation.response)
    return validation


def _validate(
    plugins: Plugins, config: Mapping[str, str], resolver: ConfigResolver | None, exactly_once: bool
) -> Validation:
    class_name = str(config.get("connector.class") or "")
    if not class_name:
        problems = {"connector.class": ["Missing required configuration 'connector.class' which has no default value."]}
        return Validation("", problems, [], _bare_response("", problems))
    try:
        connector_class = plugins.connector_class(class_name)
    except ConfigError as exc:
        problems = {"connector.class": [m for ms in exc.errors.values() for m in ms]}
        return Validation(class_name, problems, [], _bare_response(class_name, problems))
    try:
        own = connector_class().config_def()
    except Exception as exc:
        problems = {"connector.class": [f"{class_name} failed to describe its options: {exc}"]}
        return Validation(class_name, problems, [], _bare_response(class_name, problems))
    definition = common_def(connector_class).merge(own)
    checked, unresolved = _resolved(config, resolver)
    _, problems = definition.errors(checked, shown=config)
    for key, messages in unresolved.items():
        problems.setdefault(key, []).extend(messages)
    if issubclass(connector_class, SinkConnector):
        _check_sink_topics(checked, problems)
    check_source(connector_class, checked, problems, worker_enabled=exactly_once)
    _check_plugins(plugins, checked, problems)
    if not problems:  # as Debezium: the server is tried only with options that are otherwise valid
        secret_keys = [key.name for key in definition.keys if key.secret]
        problems = connection_problems(connector_class, checked, secret_keys)
    dotted = f"{connector_class.__module__}.{connector_class.__qualname__}"
    response = definition.validate_response(config, connector_class=dotted, problems=problems)
    _add_problems(response, problems)
    warnings = unknown_option_warnings(plugins, definition, config)
    if resolver is not None:
        for name, references in resolver.unknown_references(config).items():
            warnings.extend(
                f"{name!r}: {reference} names no config provider of this worker; the text is used as written"
                for reference in references
            )
    response["warnings"] = warnings
    return Validation(class_name, problems, warnings, response)


def _redacted(problems: Mapping[str, list[str]]) -> dict[str, list[str]]:
    redacted: dict[str, list[str]] = {}
    for key, messages in problems.items():
        redacted.setdefault(redact(key), []).extend(redact(message) for message in messages)
    return redacted


def _redacted_response(response: dict[str, Any]) -> dict[str, Any]:
    """The response with every name, value and message redacted (a plugin's key may be built from a value)."""
    for item in response["configs"]:
        shown = item.get("value")
        if shown:
            shown["name"] = redact(shown["name"])
            shown["value"] = redact(shown["value"]) if isinstance(shown["value"], str) else shown["value"]
            shown["errors"] = [redact(message) for message in shown["errors"]]
    response["warnings"] = [redact(warning) for warning in response.get("warnings", [])]
    return response


def _resolved(
    config: Mapping[str, str], resolver: ConfigResolver | None
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The config with references resolved (keys whose reference failed left out), and those keys' problems."""
    if resolver is None:
        return dict(config), {}
    try:
        return resolver.resolve(config), {}
    except ConfigError as exc:
        failed = {key: list(messages) for key, messages in exc.errors.items()}
        kept = {key: value for key, value in config.items() if key not in failed}
        return resolver.resolve(kept), failed


def _check_sink_topics(config: Mapping[str, str], problems: dict[str, list[str]]) -> None:
    topics = [t.strip() for t in str(config.get("topics") or "").split(",") if t.strip()]
    regex = str(config.get("topics.regex") or "").strip()
    if topics and regex:
        problems.setdefault("topics", []).append("set either 'topics' or 'topics.regex', not both")
    elif not topics and not regex:
        problems.setdefault("topics", []).append("a sink connector needs 'topics' or 'topics.regex'")
    dlq = str(config.get("errors.deadletterqueue.topic.name") or "").strip()
    if dlq and dlq in topics:
        problems.setdefault("errors.deadletterqueue.topic.name", []).append(
            f"the dead letter topic {dlq!r} must not be one of the connector's topics"
        )


def _check_plugins(plugins: Plugins, config: Mapping[str, str], problems: dict[str, list[str]]) -> None:
    for kind in ("key.converter", "value.converter", "header.converter"):
        name = config.get(kind)
        if not name:
            continue
        try:
            converter = plugins.converter(name, header=kind == "header.converter")
            converter.configure(prefixed(config, kind + "."), is_key=kind == "key.converter")
        except ConfigError as exc:
            for key, messages in exc.errors.items():
                problems.setdefault(f"{kind}.{key}" if key else kind, []).extend(messages)
        except Exception as exc:
            problems.setdefault(kind, []).append(f"{name} cannot be configured: {exc}")
    try:
        TransformationChain.from_config(config, plugins.transform_table(), plugins.predicate_table()).close()
    except ConfigError as exc:
        for key, messages in exc.errors.items():
            problems.setdefault(key, []).extend(messages)
    except Exception as exc:
        problems.setdefault("transforms", []).append(f"the transformations cannot be configured: {exc}")


def _add_problems(response: dict[str, Any], problems: Mapping[str, list[str]]) -> None:
    """Put problems found outside the ConfigDef (plugins, topics) into Connect's response."""
    listed = {item["value"]["name"]: item for item in response["configs"] if item.get("value")}
    for name, messages in problems.items():
        item = listed.get(name)
        if item is None:
            item = {
                "definition": None,
                "value": {"name": name, "value": None, "recommended_values": [], "errors": [], "visible": True},
            }
            response["configs"].append(item)
            listed[name] = item
        for message in messages:
            if message not in item["value"]["errors"]:
                item["value"]["errors"].append(message)
    response["error_count"] = sum(len(item["value"]["errors"]) for item in response["configs"] if item.get("value"))


def _bare_response(class_name: str, problems: Mapping[str, list[str]]) -> dict[str, Any]:
    response: dict[str, Any] = {"name": class_name, "error_count": 0, "groups": [], "configs": [], "warnings": []}
    _add_problems(response, problems)
    return response


def parse_common(connector: type[Connector], config: Mapping[str, str]) -> dict[str, Any]:
    """The typed common options of a (validated) connector config."""
    typed, _ = common_def(connector).errors(config)
    return typed


def connector_type(connector: type[Connector]) -> str:
    return "sink" if issubclass(connector, SinkConnector) else "source"


__all__ = ["COMMON", "SINK", "SOURCE", "Validation", "connector_type", "parse_common", "validate"]
