"""The `hub connectors` / `hub plugins` commands (hub.rest.client) against a running `hub start`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hub.cli import main
from tests.rest.conftest import HubStart

pytestmark = pytest.mark.integration


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_connectors_commands(hub: HubStart, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--url", hub.url]
    (tmp_path / "in.txt").write_text("x\n")
    config = tmp_path / "cli.json"
    source = {"connector.class": "FileStreamSource", "file": str(tmp_path / "in.txt"), "topic": "cli"}
    config.write_text(json.dumps({"name": "cli-src", "config": source}))
    assert _run(capsys, "connectors", "create", "-f", str(config), *url) == (
        0,
        "created connector cli-src (source)\n",
        "",
    )
    code, _, err = _run(capsys, "connectors", "create", "-f", str(config), *url)
    assert code == 1
    assert "already exists (HTTP 409)" in err
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        code, out, _ = _run(capsys, "connectors", "list", *url)
        if "1/1" in out:
            break
        time.sleep(0.2)
    assert "cli-src" in out
    assert "RUNNING" in out
    code, out, _ = _run(capsys, "connectors", "status", "cli-src", "--json", *url)
    assert json.loads(out)["connector"]["state"] == "RUNNING"
    code, out, _ = _run(capsys, "connectors", "get", "cli-src", *url)
    assert "topic" in out
    assert _run(capsys, "connectors", "pause", "cli-src", *url)[1] == "pausing cli-src\n"
    assert _run(capsys, "connectors", "resume", "cli-src", *url)[0] == 0
    assert "RESTARTING" in _run(capsys, "connectors", "restart", "cli-src", "--include-tasks", *url)[1]
    assert _run(capsys, "connectors", "stop", "cli-src", *url)[0] == 0
    assert _run(capsys, "connectors", "offsets", "cli-src", "--json", *url)[0] == 0
    update = tmp_path / "update.json"
    update.write_text(
        json.dumps({"connector.class": "FileStreamSource", "file": str(tmp_path / "in.txt"), "topic": "cli2"})
    )
    assert _run(capsys, "connectors", "update", "cli-src", "-f", str(update), *url)[0] == 0
    assert _run(capsys, "connectors", "delete", "cli-src", *url) == (0, "deleted cli-src\n", "")
    code, _, err = _run(capsys, "connectors", "status", "cli-src", *url)
    assert code == 1
    assert err.startswith("hub: error: Connector cli-src not found")


def test_plugins_from_the_server_and_unreachable_servers(hub: HubStart, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "plugins", "--url", hub.url, "--json")
    assert code == 0
    assert any(p["class"].endswith("FileStreamSinkConnector") for p in json.loads(out))
    code, _, err = _run(capsys, "connectors", "list", "--url", "http://127.0.0.1:9")
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in err


def test_status_and_list_show_why_a_connector_failed(
    hub: HubStart, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")  # errors wrap to the terminal, never cut
    url = ["--url", hub.url]
    blocked = tmp_path / "a-directory-where-the-sink-wants-a-file"
    blocked.mkdir()
    config = tmp_path / "broken.json"
    sink = {"connector.class": "FileStreamSink", "file": str(blocked), "topics": "cli-broken"}
    config.write_text(json.dumps({"name": "cli-broken", "config": sink}))
    assert _run(capsys, "connectors", "create", "-f", str(config), *url)[0] == 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = _run(capsys, "connectors", "status", "cli-broken", *url)[1]
        if "FAILED:" in out:
            break
        time.sleep(0.2)
    assert out.splitlines()[0] == "cli-broken (sink): RUNNING, 1 task FAILED"
    error = " ".join(line.strip() for line in out[out.index("task 0 FAILED:") :].splitlines())
    assert str(blocked) in error, out  # the whole error, path included
    for line in out[out.index("task 0 FAILED:") :].splitlines():
        assert len(line) <= 60 or " " not in line.strip(), line  # wrapped; only a word longer than a line is not
    out = _run(capsys, "connectors", "list", *url)[1]
    assert "RUNNING, 1 task FAILED" in out
    assert "cli-broken" in out.splitlines()[-1]
    assert _run(capsys, "connectors", "delete", "cli-broken", *url)[0] == 0
