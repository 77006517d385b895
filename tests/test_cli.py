"""The ``hub`` command line: help, version, and one-line errors with the right exit codes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hub import __version__
from hub.cli import LISTENER, main
from tests.harness.process import free_port

SUBCOMMANDS = ["start", "log", "worker", "standalone", "connectors", "topics", "users", "plugins"]


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"\n  {name} " in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hub {__version__}"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["bogus"], "No such command 'bogus'"),
        (["start", "--rest-listener", "nope"], "'nope' is not HOST:PORT"),
        (["start", "--kafka-listener", "127.0.0.1:70000"], "is not HOST:PORT"),
        (["start", "--workers", "0"], "'--workers': 0 is not in the range x>=1"),
        (["log", "serve"], "Missing option '--data-dir'"),
        (["topics", "create", "t", "--partitions", "0"], "--partitions"),
        (["connectors", "create"], "Missing option '-f' / '--file'"),
        (["worker", "--group-id", "g"], "Missing option '--bootstrap-servers'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("hub: error: ")
    assert fragment in err


def test_group_without_subcommand_prints_its_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors"]) == 0
    out = capsys.readouterr().out
    assert "create" in out
    assert "status" in out


def test_listener_accepts_names_ipv4_and_bracketed_ipv6() -> None:
    assert LISTENER.convert("[::1]:8083", None, None) == ("::1", 8083)
    assert LISTENER.convert("localhost:9092", None, None) == ("localhost", 9092)
    assert LISTENER.convert("127.0.0.1:1", None, None) == ("127.0.0.1", 1)


@pytest.mark.integration
def test_start_runs_the_store_until_sigterm_and_frees_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    listeners = ["--rest-listener", f"127.0.0.1:{free_port()}", "--kafka-listener", f"127.0.0.1:{free_port()}"]
    argv = [sys.executable, "-m", "hub.cli", "start", "--data-dir", str(data_dir), *listeners]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if "store ready" in line or not line:
            break
    assert "store ready" in lines[-1], "".join(lines)
    second = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert second.returncode == 1
    assert "is in use by another process" in second.stderr
    process.send_signal(signal.SIGTERM)
    returncode, stderr = process.wait(30), process.stderr.read()
    assert returncode == 0, stderr
    assert "received SIGTERM, shutting down" in stderr
    assert (data_dir / "topics.json").exists()


def test_console_script_runs_as_module() -> None:
    result = subprocess.run([sys.executable, "-m", "hub.cli", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"hub {__version__}"


def test_plugins_lists_connectors_converters_and_transforms() -> None:
    argv = [sys.executable, "-m", "hub.cli", "plugins", "--local", "--json"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    by_class = {plugin["class"]: plugin for plugin in listed["plugins"]}
    assert by_class["connectors.file.source.FileStreamSourceConnector"]["type"] == "source"
    assert (
        "org.apache.kafka.connect.file.FileStreamSinkConnector"
        in by_class["connectors.file.sink.FileStreamSinkConnector"]["aliases"]
    )
    assert by_class["hub.runtime.converters.json.JsonConverter"]["type"] == "converter"
    assert listed["failed"] == []


@pytest.mark.integration
def test_standalone_runs_connector_files_until_sigterm(tmp_path: Path, hub_server: Any) -> None:
    source, sink, offsets = tmp_path / "in.txt", tmp_path / "out.txt", tmp_path / "offsets.json"
    source.write_text("one\ntwo\n")
    worker = tmp_path / "worker.properties"
    worker.write_text(
        f"bootstrap.servers={hub_server.bootstrap}\noffset.storage.file.filename={offsets}\n"
        "offset.flush.interval.ms=200\nconsumer.session.timeout.ms=6000\n"
    )
    src = tmp_path / "src.json"
    src.write_text(
        json.dumps(
            {
                "name": "src",
                "config": {"connector.class": "FileStreamSource", "file": str(source), "topic": "standalone"},
            }
        )
    )
    dst = tmp_path / "dst.properties"
    dst.write_text(f"name=dst\nconnector.class=FileStreamSink\nfile={sink}\ntopics=standalone\n")
    argv = [sys.executable, "-m", "hub.cli", "standalone", str(worker), str(src), str(dst)]
    log_path = tmp_path / "standalone.log"
    with log_path.open("w") as log:  # a file, not a pipe: a full pipe nobody reads would block the process
        process = subprocess.Popen(argv, stderr=log, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (sink.exists() and sink.read_text() == "one\ntwo\n"):
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0, log_path.read_text()[-3000:]
    assert sink.read_text() == "one\ntwo\n"
    assert json.loads(offsets.read_text())["version"] == 1


def test_status_shows_records_rate_lag_and_a_progress_bar() -> None:
    from hub.cli.status import progress_bar, state_rows

    task = {
        "id": 0,
        "state": "RUNNING",
        "worker_id": "w",
        "progress": {
            "records": 4500,
            "records_per_second": 1500.0,
            "phase": "snapshot",
            "done": 4500,
            "total": 10000,
            "unit": "rows",
            "percent": 45.0,
            "eta_seconds": 4,
        },
    }
    status = {"name": "cdc", "connector": {"state": "RUNNING", "worker_id": "w"}, "tasks": [task]}
    assert state_rows(status)[1] == ["task 0", "RUNNING", "w", "4,500", "1,500/s", ""]
    bar = progress_bar(task, width=10)
    assert bar == "task 0 snapshot [####------] 45.0% 4,500/10,000 rows, 0:00:04 left"
    sink = {"id": 1, "state": "RUNNING", "progress": {"records": 7, "records_per_second": 0.0, "lag_records": 12}}
    assert state_rows({"connector": {"state": "RUNNING"}, "tasks": [sink]})[1][5] == "12 records"


def test_status_summarises_task_states_and_shows_each_error_in_full() -> None:
    from hub.cli.status import problems, summary

    error = 'psycopg.OperationalError: connection failed: FATAL:  password authentication failed for user "hub"'
    failed = {"id": 0, "state": "FAILED", "trace": f'Traceback (most recent call last):\n  File "x.py"\n{error}\n'}
    running = {"id": 1, "state": "RUNNING"}
    waiting = {"id": 2, "state": "UNASSIGNED"}
    status = {"connector": {"state": "RUNNING"}, "tasks": [failed, running, waiting]}
    assert summary(status) == "RUNNING, 1 of 3 tasks FAILED, 1 of 3 tasks UNASSIGNED"
    assert summary({"connector": {"state": "RUNNING"}, "tasks": [failed]}) == "RUNNING, 1 task FAILED"
    assert summary({"connector": {"state": "PAUSED"}, "tasks": [running]}) == "PAUSED"
    found = problems(status)
    assert found[0] == f"task 0 FAILED: {error}"
    assert found[1].startswith("task 2 UNASSIGNED: no worker runs it yet")
    broken = {"connector": {"state": "FAILED", "trace": "ConnectorError: no such table"}, "tasks": []}
    assert problems(broken) == ["connector FAILED: ConnectorError: no such table"]


def test_hub_start_warns_of_an_unauthenticated_listener_only_when_one_is() -> None:
    from hub.cli.server import _listeners_authenticate

    default = ("127.0.0.1", 9092)
    sasl = ("listeners=SASL_PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms=SCRAM-SHA-256")
    assert not _listeners_authenticate((), default)
    assert _listeners_authenticate(sasl, default)
    mixed = ("listeners=SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0", "sasl.enabled.mechanisms=SCRAM-SHA-256")
    assert not _listeners_authenticate(mixed, default)
    assert not _listeners_authenticate(("listeners=BOGUS://x",), default)


@pytest.mark.integration
def test_a_worker_told_to_stop_while_starting_stops_cleanly(tmp_path: Path, hub_server: Any) -> None:
    # SIGTERM once the herder runs, while the schema registry and the REST API are still starting: the command
    # stops cleanly once started, instead of dying by the signal's default action.
    from tests.harness.process import free_port

    argv = [sys.executable, "-m", "hub.cli", "worker", "--bootstrap-servers", hub_server.bootstrap]
    argv += ["--group-id", "stop-while-starting", "--rest-listener", f"127.0.0.1:{free_port()}"]
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(argv, stderr=log, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "herder started" not in log_path.read_text():
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0, log_path.read_text()[-3000:]
    assert "received SIGTERM, shutting down" in log_path.read_text()


def test_hub_start_balances_new_groups_at_once_unless_told_otherwise() -> None:
    from hub.cli.server import _start_defaults

    assert _start_defaults(("num.partitions=3",)) == ("group.initial.rebalance.delay.ms=0", "num.partitions=3")
    given = ("group.initial.rebalance.delay.ms=3000",)
    assert _start_defaults(given) == given
