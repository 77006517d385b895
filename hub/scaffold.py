"""``hub new-connector NAME``: a new connector plugin package, ready to install, test and change.

The package holds a working source connector (lines of the files in a directory become records, with offsets
that survive restarts), its plugin module registered under the entry-point group ``hub``, a README and tests
that run Hub's conformance suite. Replace the reading logic with your system's; the tests tell you whether the
connector still behaves.
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

[project.entry-points.hub]
$name = "$module.plugin"

[tool.setuptools.packages.find]
include = ["$module*"]
""")

_README = Template("""# hub-$name

A Hub connector plugin. Install it next to Hub and it appears in `hub plugins`:

    pip install -e .
    hub plugins | grep $cls

Run its tests (Hub's conformance suite included):

    python -m pytest tests

| option | default | meaning |
|---|---|---|
| `directory` | (required) | directory whose `*.txt` files are read |
| `topic` | (required) | topic to write to |
| `poll.interval.ms` | 1000 | wait between looks at the directory when nothing is new |
""")

_CONNECTOR = Template('''"""${cls}SourceConnector: lines of the ``*.txt`` files in a directory become records.

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

from $module.connector import ${cls}SourceConnector


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [${cls}SourceConnector]
''')

_TESTS = Template('''"""The connector passes Hub's conformance suite."""

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


def create_connector_package(name: str, parent: Path) -> Path:
    """Write the package ``hub-NAME`` under ``parent``; ValueError for a bad name or an existing directory."""
    if not NAME.match(name):
        raise ValueError(f"{name!r} is not a valid connector name: use lowercase letters, digits and hyphens")
    root = parent / f"hub-{name}"
    if root.exists():
        raise ValueError(f"{root} already exists")
    module = "hub_" + name.replace("-", "_")
    values = {"name": name, "module": module, "cls": "".join(part.capitalize() for part in name.split("-"))}
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README,
        f"{module}/__init__.py": Template('"""The $name connector plugin for Hub."""\n'),
        f"{module}/connector.py": _CONNECTOR,
        f"{module}/plugin.py": _PLUGIN,
        "tests/test_connector.py": _TESTS,
    }
    for relative, template in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.substitute(values))
    return root
