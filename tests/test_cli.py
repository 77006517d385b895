"""The ``hub`` command line: help, version, and one-line errors with the right exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub import __version__
from hub.cli import LISTENER, main

SUBCOMMANDS = ["start", "log", "worker", "standalone", "connectors", "topics", "plugins"]


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
    argv = [sys.executable, "-m", "hub.cli", "start", "--data-dir", str(data_dir)]
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
    assert process.wait(30) == 0
    assert "received SIGTERM, shutting down" in process.stderr.read()
    assert (data_dir / "topics.json").exists()


def test_console_script_runs_as_module() -> None:
    result = subprocess.run([sys.executable, "-m", "hub.cli", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"hub {__version__}"
