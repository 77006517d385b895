"""The ``hub`` command line: help, version, and one-line errors with the right exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from hub import __version__
from hub.cli import main

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


def test_listener_accepts_bracketed_ipv6(capsys: pytest.CaptureFixture[str]) -> None:
    # The argument parses; the command then reports what it needs (until the runtime exists).
    code = main(["start", "--rest-listener", "[::1]:8083"])
    assert "is not HOST:PORT" not in capsys.readouterr().err
    assert code in (0, 1)


def test_console_script_runs_as_module() -> None:
    result = subprocess.run([sys.executable, "-m", "hub.cli", "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout.strip() == f"hub {__version__}"
