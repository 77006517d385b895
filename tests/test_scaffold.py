"""`hub new-connector` writes a package that installs as users install it and whose own tests (Hub's conformance
suite) pass as generated, for a source and for a sink.

The package is installed with pip (without dependencies: Hub is already here) into a directory of its own that is
put on PYTHONPATH, so the virtual environment is left as it was. Its tests then
import the installed package, not its source tree, and Hub finds it through its entry point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hub.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _install(package: Path, target: Path) -> dict[str, str]:
    """pip-install ``package`` into ``target``; the environment that sees it (and this Hub)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(package)],
        check=True,
        capture_output=True,
        text=True,
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}


def _run_generated_tests(package: Path, env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _local_plugins(env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "plugins", "--local", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {plugin["class"].rsplit(".", 1)[-1]: plugin["type"] for plugin in json.loads(result.stdout)["plugins"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "flags", "connector", "kind"),
    [
        ("csv-source", [], "CsvSourceConnector", "source"),
        ("web-logs", [], "WebLogsSourceConnector", "source"),
        ("audit-sink", ["--sink"], "AuditSinkConnector", "sink"),
    ],
)
def test_a_scaffolded_package_installs_and_its_tests_pass(
    name: str, flags: list[str], connector: str, kind: str, tmp_path: Path
) -> None:
    assert main(["new-connector", name, "--dir", str(tmp_path), *flags]) == 0
    package = tmp_path / f"hub-{name}"
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["hub"] == {name: f"hub_{name.replace('-', '_')}.plugin"}
    assert any(requirement.startswith("pytest") for requirement in project["optional-dependencies"]["test"])
    env = _install(package, tmp_path / "site")
    out = _run_generated_tests(package, env, cwd=tmp_path)
    checks = "SinkConnectorConformance" if kind == "sink" else "SourceConnectorConformance"
    assert checks in (package / "tests" / "test_connector.py").read_text()
    assert " passed" in out
    assert _local_plugins(env).get(connector) == kind


def test_new_connector_refuses_bad_names_and_existing_directories(tmp_path: Path) -> None:
    assert main(["new-connector", "Bad_Name", "--dir", str(tmp_path)]) == 2
    assert main(["new-connector", "ok", "--dir", str(tmp_path)]) == 0
    assert main(["new-connector", "ok", "--dir", str(tmp_path)]) == 2
