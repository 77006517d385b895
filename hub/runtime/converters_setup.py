"""The key, value and header converters of a connector's tasks: the connector's choice when it names one (with
its ``key.converter.*`` options), else the worker's (with the worker's options), as in Kafka Connect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from hub.runtime.options import prefixed
from hub.runtime.plugins import Plugins
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.converter import Converter, HeaderConverter


@dataclass(frozen=True)
class TaskConverters:
    key: Converter
    value: Converter
    header: HeaderConverter


def build_converters(plugins: Plugins, worker: WorkerConfig, connector: Mapping[str, str]) -> TaskConverters:
    """Configured converters for one task (ConfigError when a converter or its options are wrong)."""
    made: dict[str, Converter | HeaderConverter] = {}
    for kind in ("key.converter", "value.converter", "header.converter"):
        source: Mapping[str, str] = connector if connector.get(kind) else worker.raw
        name = source.get(kind) or str(worker[kind])
        converter = plugins.converter(name, header=kind == "header.converter")
        converter.configure(prefixed(source, kind + "."), is_key=kind == "key.converter")
        made[kind] = converter
    return TaskConverters(
        cast(Converter, made["key.converter"]),
        cast(Converter, made["value.converter"]),
        cast(HeaderConverter, made["header.converter"]),
    )
