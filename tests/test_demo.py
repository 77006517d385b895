"""`hub demo` as a user meets it: started in a terminal, it prints export lines for a PostgreSQL with logical
decoding and an Elasticsearch-API server that answer; SIGTERM (`kill`) or Ctrl-C (SIGINT to the terminal's whole
process group) stops both and removes their data."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import psycopg
import pytest

from tests.harness.process import port_open

ROOT = Path(__file__).resolve().parents[1]


def _read_until_exports(process: subprocess.Popen[str], timeout_s: float = 120) -> list[str]:
    """The demo's output up to the line saying how to stop it (read on a thread, so a silent demo fails in time)."""
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Stop with"):
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(timeout_s), "no exports printed:\n" + "\n".join(lines)
    return lines


def _exports(lines: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in lines:
        if line.startswith("export "):
            values.update(pair.split("=", 1) for pair in shlex.split(line)[1:])
    return values


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("stop", ["kill", "ctrl-c"])
def test_demo_servers_answer_and_are_removed_when_stopped(stop: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "demo"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        lines = _read_until_exports(process)
        env = _exports(lines)
        data_dirs = [Path(path) for path in re.findall(r"data in (\S+)", "\n".join(lines))]
        assert len(data_dirs) == 2, lines
        assert all(path.is_dir() for path in data_dirs), lines
        assert any("Hub server's environment" in line for line in lines)
        assert f"kill {process.pid}" in lines[-1]

        dsn = (
            f"host={env['PGHOST']} port={env['PGPORT']} user={env['PGUSER']} password={env['PGPASSWORD']} "
            f"dbname={env['PGDATABASE']}"
        )
        with psycopg.connect(dsn) as connection:
            assert connection.execute("SHOW wal_level").fetchone() == ("logical",)
        with urllib.request.urlopen(env["ELASTICSEARCH_URL"] + "/", timeout=10) as response:
            assert "version" in json.loads(response.read())

        if stop == "kill":
            process.send_signal(signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert not any(path.exists() for path in data_dirs), "the demo left its data behind"
    assert not port_open(int(env["PGPORT"])), "PostgreSQL still listens"
    assert not port_open(int(env["ELASTICSEARCH_URL"].rsplit(":", 1)[1])), "the search server still listens"
