"""``hub new-connector NAME [--sink]``: a new connector plugin package, ready to install, test and change.

The package holds a working connector, its plugin module registered under the entry-point group ``hub``, a README,
tests that run Hub's conformance suite and a ``test`` extra that installs pytest. The source reads the lines of the
files in a directory (with offsets that survive restarts); the sink (``--sink``) appends each record's value as a
line to a file per topic partition. Replace the reading or writing logic with your system's; the tests tell you
whether the connector still behaves.

Classes are named after NAME without a trailing ``-source`` / ``-sink``: ``csv-source`` gives
``CsvSourceConnector``, ``audit`` with ``--sink`` gives ``AuditSinkConnector``.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")

_PYPROJECT = Template("""[build-system]
requires = ["setuptools>=77", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "hub-$name"
version = "0.1.0"
description = "A Hub connector plugin: $name."
requires-python = ">=3.11"
dependencies = ["hub"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.hub]
$name = "$module.plugin"

[tool.setuptools.packages.find]
include = ["$module*"]
""")

_README = Template("""# hub-$name

A Hub connector plugin. Install it (with pytest, for its tests) into Hub's environment and it appears in
`hub plugins --local`; a running Hub loads plugins when it starts, so restart it:

    pip install -e '.[test]'
    hub plugins --local | grep $connector

Run its tests (Hub's conformance suite included):

    python -m pytest tests

| option | default | meaning |
|---|---|---|
$options""")

_SOURCE_OPTIONS = """| `directory` | (required) | directory whose `*.txt` files are read |
| `topic` | (required) | topic to write to |
| `poll.interval.ms` | 1000 | wait between looks at the directory when nothing is new |
"""

_SINK_OPTIONS = """| `topics` | (required) | topics to read (or `topics.regex`) |
| `directory` | (required) | directory to write `TOPIC-PARTITION.txt` files in |
"""

_SOURCE = Template('''"""${cls}SourceConnector: lines of the ``*.txt`` files in a directory become records.

Replace ``_read_new_lines`` with what reads your system; keep ``source_partition`` (what a stream is) and
``source_offset`` (where the next read starts) so that restarts resume where they stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from hub.sdk import ConfigDef, ConfigType, Importance, SourceConnector, SourceRecord, SourceTask
from hub.sdk.errors import ConnectorError
from hub.sdk.schema import STRING_SCHEMA

CONFIG = (
    ConfigDef()
    .define("directory", ConfigType.STRING, doc="Directory to read.", importance=Importance.HIGH, non_empty=True)
    .define("topic", ConfigType.STRING, doc="Topic to write to.", importance=Importance.HIGH, non_empty=True)
    .define("poll.interval.ms", ConfigType.LONG, 1000, "Wait between looks when nothing is new.", minimum=10)
)


class ${cls}SourceConnector(SourceConnector):
    """Plans the work: here, one task for the whole directory."""

    def config_def(self) -> ConfigDef:
        return CONFIG

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return ${cls}SourceTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [self.config]

    def stop(self) -> None:
        """Nothing to release."""


class ${cls}SourceTask(SourceTask):
    """Moves the data: returns the lines not sent yet."""

    def start(self, config: dict[str, str]) -> None:
        settings = CONFIG.parse(config)
        self.directory = Path(settings["directory"])
        self.topic = settings["topic"]
        self.interval_s = settings["poll.interval.ms"] / 1000
        self.stopped = threading.Event()
        self.positions: dict[str, int] = {}

    def _position(self, name: str) -> int:
        if name not in self.positions:
            stored = self.context.offset_reader.offset({"file": name})
            self.positions[name] = int(stored["position"]) if stored else 0
        return self.positions[name]

    def poll(self) -> Sequence[SourceRecord]:
        if not self.directory.is_dir():
            raise ConnectorError(f"{self.directory} is not a directory")
        for path in sorted(self.directory.glob("*.txt")):
            records = self._read_new_lines(path)
            if records:
                return records
        self.stopped.wait(self.interval_s)  # stop() sets it, so a waiting poll returns at once
        return []

    def _read_new_lines(self, path: Path) -> list[SourceRecord]:
        with path.open("rb") as file:
            file.seek(self._position(path.name))
            data = file.read()
        complete = data[: data.rfind(b"\\n") + 1]  # a line still being written waits for its newline
        records = []
        position = self._position(path.name)
        for line in complete.splitlines(keepends=True):
            position += len(line)
            records.append(
                SourceRecord(
                    topic=self.topic,
                    value=line.decode("utf-8", "replace").rstrip("\\r\\n"),
                    value_schema=STRING_SCHEMA,
                    source_partition={"file": path.name},
                    source_offset={"position": position},
                )
            )
        self.positions[path.name] = position
        return records

    def stop(self) -> None:
        self.stopped.set()
''')

_PLUGIN = Template('''"""Registers the connector with Hub: the entry point ``$name`` of the group ``hub`` names it."""

from __future__ import annotations

from typing import Any

from hub.sdk import hookimpl

from $module.connector import $connector


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [$connector]
''')

_SOURCE_TESTS = Template('''"""The connector passes Hub's conformance suite."""

from __future__ import annotations

from pathlib import Path

from hub.sdk.testing import SourceConnectorConformance

from $module.connector import ${cls}SourceConnector


class Test${cls}Source(SourceConnectorConformance):
    connector_class = ${cls}SourceConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        directory = tmp_path / "input"
        directory.mkdir(exist_ok=True)
        return {"directory": str(directory), "topic": "$name", "poll.interval.ms": "50"}

    def add_input(self, config: dict[str, str], count: int) -> None:
        path = Path(config["directory"]) / "data.txt"
        existing = len(path.read_text().splitlines()) if path.exists() else 0
        with path.open("a") as out:
            out.writelines(f"line {existing + i}\\n" for i in range(count))
''')


_SINK = Template('''"""${cls}SinkConnector: each record's value becomes a line of ``TOPIC-PARTITION.txt`` in a folder.

Replace ``put`` (buffer what arrives) and ``flush`` (make it durable) with what writes to your system. Hub commits
a partition's offset only after ``flush`` (through ``pre_commit``) returned, so a record is never committed before
it was written.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from hub.sdk import ConfigDef, ConfigType, Importance, PartitionedSinkConnector, SinkRecord, SinkTask

TopicPartition = tuple[str, int]

CONFIG = ConfigDef().define(
    "directory", ConfigType.STRING, doc="Directory to write to.", importance=Importance.HIGH, non_empty=True
)


class ${cls}SinkConnector(PartitionedSinkConnector):
    """Every task takes the whole config; Hub's consumer group spreads the topics' partitions over them."""

    def config_def(self) -> ConfigDef:
        return CONFIG

    def task_class(self) -> type[SinkTask]:
        return ${cls}SinkTask


class ${cls}SinkTask(SinkTask):
    """Buffers the lines of each partition in ``put`` and appends them to its file in ``flush``."""

    def start(self, config: dict[str, str]) -> None:
        self.directory = Path(CONFIG.parse(config)["directory"])
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pending: dict[TopicPartition, list[str]] = {}

    def put(self, records: Sequence[SinkRecord]) -> None:
        for record in records:
            partition = (record.topic, record.kafka_partition)
            self.pending.setdefault(partition, []).append(f"{record.value}\\n")

    def flush(self, offsets: Mapping[TopicPartition, int]) -> None:
        for (topic, partition), lines in self.pending.items():
            with (self.directory / f"{topic}-{partition}.txt").open("a") as out:
                out.writelines(lines)
                out.flush()
                os.fsync(out.fileno())  # durable before Hub commits the offsets
        self.pending.clear()

    def close(self, partitions: Collection[TopicPartition]) -> None:
        for partition in partitions:
            self.pending.pop(partition, None)  # not flushed, not committed: delivered again to the next owner

    def stop(self) -> None:
        self.pending.clear()
''')

_SINK_TESTS = Template('''"""The connector passes Hub's conformance suite."""

from __future__ import annotations

from pathlib import Path

from hub.sdk.testing import SinkConnectorConformance

from $module.connector import $connector


class Test$connector(SinkConnectorConformance):
    connector_class = $connector

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {"directory": str(tmp_path / "output")}

    def read_output(self, config: dict[str, str]) -> list[str]:
        return [line for path in Path(config["directory"]).glob("*.txt") for line in path.read_text().splitlines()]
''')


def class_stem(name: str, kind: str) -> str:
    """The class name's stem: NAME in CamelCase without a trailing ``-source`` / ``-sink`` (``csv-source`` gives
    ``Csv``, so the class is ``CsvSourceConnector``, not ``CsvSourceSourceConnector``)."""
    parts = name.split("-")
    if len(parts) > 1 and parts[-1] == kind:
        parts.pop()
    return "".join(part.capitalize() for part in parts)


def create_connector_package(name: str, parent: Path, *, sink: bool = False) -> Path:
    """Write the package ``hub-NAME`` (a source, or with ``sink`` a sink) under ``parent``; ValueError for a bad
    name or an existing directory."""
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a valid connector name: use lowercase letters, digits and hyphens")
    root = parent / f"hub-{name}"
    if root.exists():
        raise ValueError(f"{root} already exists")
    module = "hub_" + name.replace("-", "_")
    kind = "sink" if sink else "source"
    stem = class_stem(name, kind)
    values = {
        "name": name,
        "module": module,
        "cls": stem,
        "connector": f"{stem}{kind.capitalize()}Connector",
        "options": _SINK_OPTIONS if sink else _SOURCE_OPTIONS,
    }
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"{module}/__init__.py": Template('"""The $name connector plugin for Hub."""\n'),
        f"{module}/connector.py": _SINK if sink else _SOURCE,
        f"{module}/plugin.py": _PLUGIN,
        "tests/test_connector.py": _SINK_TESTS if sink else _SOURCE_TESTS,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.substitute(values))
    return root
