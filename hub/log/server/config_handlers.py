"""ConfigHandlers: Kafka's config APIs — DescribeConfigs, AlterConfigs and IncrementalAlterConfigs — for topics
(resource type 2), brokers (4: ``""`` the cluster-wide dynamic defaults, or this broker's node id) and this
broker's log levels (8, ``logger_configs``).

DescribeConfigs gives what Kafka's broker gives: each config's value, source (the topic's own value, the broker's
dynamic value, the cluster-wide dynamic default, the store's static setting, the default), Kafka's synonyms in
Kafka's order (by source, then ``log.retention.ms`` before ``.minutes`` before ``.hours``), type, documentation,
and whether it is read-only or sensitive (a sensitive value is never shown). Asked for ``""``, a broker resource
lists only the cluster-wide dynamic configs, as Kafka's.

Altering a topic changes its own overrides (on a cluster through the metadata quorum); altering a broker changes
the dynamic broker configs (hub.log.broker_configs), which take effect at once for topics without their own value
and persist (a single node's in its data directory, a cluster's in its metadata quorum). Kafka's errors: a bad
topic config or value is INVALID_CONFIG, an unknown, read-only or bad broker config INVALID_REQUEST (as Kafka
answers those), as are a resource named twice, a config named twice, another broker's id, an unknown resource type
or operation; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION. ``validate_only`` checks without changing anything.

Safe for one event loop; store and quorum calls that block run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hub.log import broker_configs
from hub.log.broker import Broker
from hub.log.broker_configs import BROKER_SPECS, CLUSTER_DEFAULT
from hub.log.config import BROKER_SYNONYMS, CONFIG_TYPE_IDS, SPECS, TopicConfig, parse_configs
from hub.log.error_codes import ErrorCode, error_code_for
from hub.log.errors import InvalidConfigError, InvalidRequestError, UnknownTopicOrPartitionError
from hub.log.server.context import Body, RequestContext
from hub.log.server.logger_configs import (
    RESOURCE_BROKER_LOGGER,
    SOURCE_BROKER_LOGGER,
    alter_loggers,
    describe_loggers,
)

log = logging.getLogger("hub.log.server")

RESOURCE_TOPIC = 2
RESOURCE_BROKER = 4
SOURCE_TOPIC = 1
SOURCE_DYNAMIC_BROKER = 2
SOURCE_DYNAMIC_DEFAULT = 3
SOURCE_STATIC = 4
SOURCE_DEFAULT = 5
OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT = 0, 1, 2, 3
#: One config change: name, IncrementalAlterConfigs' operation, value.
Operation = tuple[str, int, Any]


class ConfigHandlers:
    """DescribeConfigs, AlterConfigs and IncrementalAlterConfigs over a Broker (see the module docstring)."""

    def __init__(self, broker: Broker, node_id: int) -> None:
        self.broker = broker
        self.node_id = node_id

    @property
    def routes(self) -> dict[int, Callable[[RequestContext, Body], Awaitable[Body]]]:
        """The handler of each API key served here."""
        return {32: self.describe_configs, 33: self.alter_configs, 44: self.incremental_alter_configs}

    # --- DescribeConfigs ---------------------------------------------------------------------------------------

    async def describe_configs(self, ctx: RequestContext, body: Body) -> Body:
        synonyms = bool(body.get("include_synonyms"))
        documentation = bool(body.get("include_documentation"))
        results = []
        for resource in body["resources"]:
            answer: Body = {
                "error_code": ErrorCode.NONE,
                "error_message": None,
                "resource_type": resource["resource_type"],
                "resource_name": resource["resource_name"],
                "configs": [],
            }
            try:
                entries = self._describe(resource["resource_type"], resource["resource_name"])
                wanted = resource.get("configuration_keys")
                answer["configs"] = [
                    _entry(entry, synonyms, documentation) for entry in entries if not wanted or entry[0] in wanted
                ]
            except Exception as exc:
                answer.update(error_code=error_code_for(exc), error_message=str(exc))
            results.append(answer)
        return {"throttle_time_ms": 0, "results": results}

    def _layers(self) -> list[tuple[int, Mapping[str, Any]]]:
        """The broker-level layers of config values, by broker name, first wins."""
        store = self.broker.store
        static = {_broker_name(name): value for name, value in store.static_defaults.items()}
        return [
            (SOURCE_DYNAMIC_BROKER, store.dynamic_configs.get(str(self.node_id), {})),
            (SOURCE_DYNAMIC_DEFAULT, store.dynamic_configs.get(CLUSTER_DEFAULT, {})),
            (SOURCE_STATIC, {**static, **self._static_broker()}),
            (SOURCE_DEFAULT, {name: spec.default for name, spec in BROKER_SPECS.items() if spec.default is not None}),
        ]

    def _static_broker(self) -> dict[str, str]:
        return {
            "node.id": str(self.node_id),
            "log.dirs": str(self.broker.store.data_dir),
            "num.partitions": str(self.broker.num_partitions),
            "auto.create.topics.enable": str(self.broker.auto_create_topics).lower(),
            "fetch.max.bytes": str(self.broker.fetch_max_bytes),
            **broker_configs.coordinator_values(
                None if self.broker.coordinator is None else self.broker.coordinator.config,
                None if self.broker.transactions is None else self.broker.transactions.config,
            ),
        }

    def topic_configs(self, name: str) -> list[tuple[str, str | None, int]]:
        """A topic's configs as DescribeConfigs reports them: (name, value, source); CreateTopics 5+ answers a
        created topic with them (KIP-525)."""
        return [
            (key, None if value is None else _render(value), source)
            for key, value, source, *_ in self._describe(RESOURCE_TOPIC, name)
        ]

    def _describe(self, resource_type: int, name: str) -> list[_Described]:
        if resource_type == RESOURCE_TOPIC:
            config = self.broker.store.topic(name).config
            overrides = config.overrides_as_strings()
            values = config.effective()
            layers = self._layers()
            described: list[_Described] = []
            for key, spec in SPECS.items():
                found = [(key, overrides[key], SOURCE_TOPIC)] if key in overrides else []
                found += _synonyms([n for n, _ in BROKER_SYNONYMS[key]], layers)
                source = found[0][2] if found else SOURCE_DEFAULT
                described.append((key, values[key], source, False, spec.type_name, spec.doc, found))
            return described
        if resource_type == RESOURCE_BROKER:
            per_broker = self._broker_resource(name)
            layers = self._layers()
            if not per_broker:
                layers = [layers[1]]
            described = []
            for key, broker_spec in BROKER_SPECS.items():
                found = _synonyms(broker_configs.broker_synonyms(key), layers)
                found = found[next((i for i, f in enumerate(found) if f[0] == key), len(found)) :]
                if not per_broker and not found:
                    continue
                value = found[0][1] if found else None
                source = found[0][2] if found else SOURCE_DEFAULT
                described.append(
                    (key, value, source, not broker_spec.dynamic, broker_spec.type, broker_spec.doc, found)
                )
            return described
        if resource_type == RESOURCE_BROKER_LOGGER:
            if not name:
                raise InvalidRequestError("Broker id must not be empty")
            self._broker_resource(name)
            return [(key, level, SOURCE_BROKER_LOGGER, False, "STRING", "", []) for key, level in describe_loggers()]
        raise InvalidRequestError(f"Unsupported resource type: {resource_type}")

    def _broker_resource(self, name: str) -> bool:
        """Whether a broker resource names this broker (True) or the cluster-wide default (False)."""
        if name == CLUSTER_DEFAULT:
            return False
        if not name.strip().lstrip("-").isdigit():
            raise InvalidRequestError(f"Node id must be an integer, but it is: {name}")
        if int(name) != self.node_id:
            raise InvalidRequestError(f"Unexpected broker id, expected {self.node_id}, but received {name}")
        return True

    # --- AlterConfigs and IncrementalAlterConfigs --------------------------------------------------------------

    async def alter_configs(self, ctx: RequestContext, body: Body) -> Body:
        return await self._alter(body, incremental=False)

    async def incremental_alter_configs(self, ctx: RequestContext, body: Body) -> Body:
        return await self._alter(body, incremental=True)

    async def _alter(self, body: Body, *, incremental: bool) -> Body:
        named = Counter((r["resource_type"], r["resource_name"]) for r in body["resources"])
        responses = []
        for resource in body["resources"]:
            kind, name = resource["resource_type"], resource["resource_name"]
            answer: Body = {"error_code": ErrorCode.NONE, "error_message": None, "resource_type": kind,
                            "resource_name": name}  # fmt: skip
            try:
                if named[(kind, name)] > 1:
                    raise InvalidRequestError("Each resource must appear at most once.")
                await asyncio.to_thread(self._alter_one, resource, incremental, bool(body["validate_only"]))
            except Exception as exc:
                answer.update(error_code=error_code_for(exc), error_message=str(exc))
                if answer["error_code"] is ErrorCode.UNKNOWN_SERVER_ERROR:
                    log.exception("altering configs of %s failed", name)
            responses.append(answer)
        return {"throttle_time_ms": 0, "responses": responses}

    def _alter_one(self, resource: Body, incremental: bool, validate_only: bool) -> None:
        kind, name, configs = resource["resource_type"], resource["resource_name"], resource["configs"]
        duplicated = [key for key, count in Counter(c["name"] for c in configs).items() if count > 1]
        if duplicated:
            raise InvalidRequestError("Error due to duplicate config keys")
        operations = [(c["name"], c.get("config_operation", OP_SET), c["value"]) for c in configs]
        nulls = [key for key, op, value in operations if op != OP_DELETE and value is None]
        if nulls:
            raise InvalidRequestError(f"Null value not supported for : {', '.join(nulls)}")
        unknown_ops = [op for _, op, _ in operations if op not in (OP_SET, OP_DELETE, OP_APPEND, OP_SUBTRACT)]
        if unknown_ops:
            raise InvalidRequestError(f"Unknown operations type {unknown_ops[0]}")
        if kind == RESOURCE_TOPIC:
            self._alter_topic(name, operations, incremental, validate_only)
        elif kind == RESOURCE_BROKER:
            self._alter_broker(name, operations, incremental, validate_only)
        elif kind == RESOURCE_BROKER_LOGGER and incremental:
            if not name:
                raise InvalidRequestError("Broker id must not be empty")
            self._broker_resource(name)
            alter_loggers(operations, validate_only)
        elif kind == RESOURCE_BROKER_LOGGER:
            raise InvalidRequestError("AlterConfigs does not support the resource type BROKER_LOGGER")
        else:
            raise InvalidRequestError(f"Unknown resource type {kind}")

    def _alter_topic(self, name: str, operations: list[Operation], incremental: bool, validate: bool) -> None:
        store = self.broker.store
        config = store.topic(name).config
        current = config.overrides_as_strings() if incremental else {}
        unknown = [key for key, _, _ in operations if key not in SPECS]
        if unknown:
            raise InvalidConfigError(f"Unknown topic config name: {', '.join(unknown)}")
        for key, op, value in operations:
            _apply(current, key, op, value, config.effective()[key], SPECS[key].type_name == "LIST", InvalidConfigError)
        parse_configs(current)
        if validate:
            return
        updates: dict[str, str | None] = {key: None for key in config.overrides if key not in current}
        updates.update(current)
        cluster = self.broker.cluster
        if cluster is not None:
            if name not in cluster.metadata().topics:
                raise UnknownTopicOrPartitionError(f"unknown topic {name}")
            cluster.quorum.alter_topic_config(name, updates)
        else:
            store.replace_topic_config(name, current)
        log.info("topic %s: configs altered to %s", name, current)

    def _alter_broker(self, name: str, operations: list[Operation], incremental: bool, validate: bool) -> None:
        per_broker = self._broker_resource(name)
        resource = str(self.node_id) if per_broker else CLUSTER_DEFAULT
        store = self.broker.store
        level = dict(store.dynamic_configs.get(resource, {})) if incremental else {}
        unknown = [key for key, _, _ in operations if key not in BROKER_SPECS]
        if unknown:
            raise InvalidRequestError(f"Unknown broker configs: {', '.join(unknown)}")
        layers = self._layers()
        for key, op, value in operations:
            effective = next((layer[key] for _, layer in layers if key in layer), "")
            _apply(level, key, op, value, str(effective), BROKER_SPECS[key].type == "LIST", InvalidConfigError)
        broker_configs.check_dynamic(level, per_broker=per_broker)
        new = broker_configs.altered(store.dynamic_configs, resource, level)
        TopicConfig.build(defaults={**store.static_defaults, **broker_configs.for_node(new, self.node_id)})
        if validate:
            return
        cluster = self.broker.cluster
        if cluster is not None:
            changes: dict[str, str | None] = dict.fromkeys(store.dynamic_configs.get(resource, {}))
            changes.update(level)
            cluster.quorum.alter_broker_config(resource, changes, replace_all=True)
        else:
            store.set_dynamic_configs(new)
        log.info("broker configs %r altered to %s", resource or "(cluster default)", level)


# (name, value, source, read_only, type, documentation, synonyms as (name, value, source))
_Described = tuple[str, Any, int, bool, str, str, list[tuple[str, Any, int]]]


def _synonyms(names: list[str], layers: list[tuple[int, Mapping[str, Any]]]) -> list[tuple[str, Any, int]]:
    """Kafka's synonym list: by layer (source), then in the synonyms' order."""
    return [(name, layer[name], source) for source, layer in layers for name in names if name in layer]


def _broker_name(name: str) -> str:
    """A static default given by topic config name, under its broker name."""
    synonyms = BROKER_SYNONYMS.get(name)
    return synonyms[0][0] if synonyms else name


def _entry(described: _Described, synonyms: bool, documentation: bool) -> Body:
    name, value, source, read_only, type_name, doc, found = described
    sensitive = type_name == "PASSWORD"
    return {
        "name": name,
        "value": None if sensitive or value is None else _render(value),
        "read_only": read_only,
        "config_source": source,
        "is_default": source == SOURCE_DEFAULT,
        "is_sensitive": sensitive,
        "synonyms": [{"name": n, "value": None if sensitive else _render(v), "source": s} for n, v, s in found]
        if synonyms
        else [],
        "config_type": CONFIG_TYPE_IDS.get(type_name, 0),
        "documentation": (doc or None) if documentation else None,
    }


def _render(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _apply(
    values: dict[str, str], key: str, op: int, value: str | None, effective: str, is_list: bool, error: type[Exception]
) -> None:
    """One IncrementalAlterConfigs operation on ``values`` (AlterConfigs' are all SET), as Kafka applies them."""
    if op == OP_SET:
        values[key] = str(value)
    elif op == OP_DELETE:
        values.pop(key, None)
    else:
        if not is_list:
            verb = "append" if op == OP_APPEND else "subtract"
            raise error(f"Config value {verb} is not allowed for config key: {key}")
        old = [item for item in values.get(key, effective).split(",") if item]
        given = [item for item in str(value).split(",") if item]
        if op == OP_APPEND:
            values[key] = ",".join(old + [item for item in given if item not in old])
        else:
            values[key] = ",".join(item for item in old if item not in given)
