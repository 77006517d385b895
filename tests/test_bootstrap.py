"""scripts/bootstrap.sh (shared by scripts/run, scripts/demo and scripts/test) keeps installers quiet: their output
goes to a log file, the terminal gets one line, and a failure shows the log's end and its path. Run against a copy
of the script in a scratch tree whose .venv holds a fake ``python`` that answers ``-m pip`` with a wall of output."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$*" >> "$(dirname "$0")/../calls"
for i in $(seq 1 200); do echo "Collecting something-$i"; echo "setuptools warning $i" >&2; done
if [ "$*" = "-m pip install -e $TREE[all]" ] && [ -f "$TREE/fail" ]; then
    echo "ERROR: no matching distribution" >&2
    exit 1
fi
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", tmp_path / "scripts")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON.replace("$TREE", str(tmp_path)))
    python.chmod(0o755)
    return tmp_path


def _install(tree: Path, extras: str) -> subprocess.CompletedProcess[str]:
    script = f"source {tree}/scripts/bootstrap.sh && install_hub {extras}"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)


def test_installs_are_quiet_and_logged(tree: Path) -> None:
    result = _install(tree, "all")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    log = tree / ".venv" / "install.log"
    assert result.stderr.splitlines() == [f"installing Hub into {tree}/.venv with extras [all] (log: {log})"]
    assert log.read_text().count("Collecting something-") == 400  # pip upgrade and Hub's install
    assert _install(tree, "all").stderr == "", "a second run installs nothing"


def test_a_failed_install_shows_the_end_of_the_log_and_its_path(tree: Path) -> None:
    (tree / "fail").touch()
    result = _install(tree, "all")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == f"full log: {tree}/.venv/install.log"
    assert "ERROR: no matching distribution" in result.stderr
    assert len(lines) < 30


def test_new_extras_are_added_to_those_installed(tree: Path) -> None:
    assert _install(tree, "all,test").returncode == 0
    assert _install(tree, "all,demo").returncode == 0
    assert (tree / ".venv" / "calls").read_text().splitlines()[-1] == f"-m pip install -e {tree}[all,demo,test]"
    assert _install(tree, "all").stderr == "", "all is covered by what is installed"


def test_npm_packages_are_installed_once_per_lock(tree: Path) -> None:
    fake = tree / "bin" / "npm"
    fake.parent.mkdir()
    fake.write_text(f'#!/usr/bin/env bash\necho "$*" >> {tree}/npm-calls\nmkdir -p "$2/node_modules"\necho added\n')
    fake.chmod(0o755)
    package = tree / "tests" / "clients" / "js"
    package.mkdir(parents=True)
    (package / "package-lock.json").write_text('{"lockfileVersion": 3}')
    script = f'export PATH={fake.parent}:$PATH; source {tree}/scripts/bootstrap.sh && npm_ci "$ROOT/tests/clients/js"'

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)

    first = run()
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [f"installing npm packages in tests/clients/js (log: {tree}/.venv/install.log)"]
    assert run().stderr == "", "a second run installs nothing"
    (package / "package-lock.json").write_text('{"lockfileVersion": 3, "packages": {}}')
    assert run().stderr != "", "a changed lock installs again"
    assert (tree / "npm-calls").read_text().splitlines() == [f"--prefix {package} ci --no-audit --no-fund"] * 2
