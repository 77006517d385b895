"""`hub new-connector` writes a package whose own tests (Hub's conformance suite) pass as generated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hub.cli import main


def test_new_connector_creates_a_package_whose_tests_pass(tmp_path: Path) -> None:
    assert main(["new-connector", "web-logs", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "hub-web-logs"
    assert 'web-logs = "hub_web_logs.plugin"' in (root / "pyproject.toml").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_new_connector_refuses_bad_names_and_existing_directories(tmp_path: Path, capsys: object) -> None:
    assert main(["new-connector", "Bad_Name", "--dir", str(tmp_path)]) == 2
    assert main(["new-connector", "ok", "--dir", str(tmp_path)]) == 0
    assert main(["new-connector", "ok", "--dir", str(tmp_path)]) == 2
