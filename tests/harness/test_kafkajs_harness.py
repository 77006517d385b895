"""tests.harness.kafkajs: a missing Node skips a test outside CI and fails it under CI; a script that fails, hangs
or prints no JSON raises with its stderr."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.harness import kafkajs


@pytest.mark.parametrize(("ci", "outcome"), [("", pytest.skip.Exception), ("true", pytest.fail.Exception)])
def test_missing_node_skips_outside_ci_and_fails_under_it(
    monkeypatch: pytest.MonkeyPatch, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(kafkajs.shutil, "which", lambda _name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="node is not installed"):
        kafkajs.require()


def test_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(kafkajs, "PACKAGE_DIR", tmp_path / "tests" / "clients" / "kafkajs")
    monkeypatch.setattr(kafkajs.shutil, "which", lambda _name: "/usr/bin/node")
    assert kafkajs.unavailable() == "kafkajs is not installed: run `npm ci` in tests/clients/kafkajs"


@pytest.fixture
def scripts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    kafkajs.require()
    monkeypatch.setattr(kafkajs, "PACKAGE_DIR", tmp_path)
    (tmp_path / "echo.js").write_text(
        "let s = ''; process.stdin.on('data', d => (s += d))"
        ".on('end', () => console.log(JSON.stringify({got: JSON.parse(s)})))"
    )
    (tmp_path / "fails.js").write_text("console.error('KafkaJSSomething: broker said no'); process.exit(3)")
    (tmp_path / "hangs.js").write_text("console.error('waiting for a broker'); setTimeout(() => {}, 60000)")
    (tmp_path / "chatty.js").write_text("console.log('not json'); console.error('log line')")
    return tmp_path


def test_run_returns_the_scripts_json(scripts: Path) -> None:
    assert kafkajs.run("echo", {"brokers": ["h:1"]}) == {"got": {"brokers": ["h:1"]}}


@pytest.mark.parametrize(
    ("script", "timeout_s", "message"),
    [
        ("fails", 30, r"fails.js exited with 3; stderr:\nKafkaJSSomething: broker said no"),
        ("hangs", 1, r"hangs.js did not finish in 1 s; stderr:\nwaiting for a broker"),
        ("chatty", 30, r"chatty.js printed no JSON result: 'not json\\n'; stderr:\nlog line"),
    ],
)
def test_a_failed_script_raises_with_its_stderr(scripts: Path, script: str, timeout_s: float, message: str) -> None:
    with pytest.raises(kafkajs.KafkaJsError, match=message):
        kafkajs.run(script, {}, timeout_s=timeout_s)


def test_the_version_table_is_the_installed_kafkajs() -> None:
    """KAFKAJS_VERSIONS is what the pinned package implements (a new pin must update it)."""
    kafkajs.require()
    listing = (
        "const { requests } = require('kafkajs/src/protocol/requests');"
        "const keys = require('kafkajs/src/protocol/requests/apiKeys');"
        "console.log(JSON.stringify(Object.entries(requests).filter(([, d]) => d.versions.length)"
        ".map(([name, d]) => [name, keys[name], Math.max(...d.versions.map(Number))])))"
    )
    done = subprocess.run(
        ["node", "-e", listing], cwd=kafkajs.PACKAGE_DIR, capture_output=True, text=True, timeout=30, check=True
    )
    implemented = {name: (key, newest) for name, key, newest in json.loads(done.stdout)}
    assert implemented == kafkajs.KAFKAJS_VERSIONS
