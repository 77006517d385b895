"""How tests are shared out among xdist workers (tests.harness.scheduling), seen from a small suite run with
``-n 2 --dist loadgroup``: a module's shared fixture starts once, the slow test is handed out first, and the hang
watchdog still names where a worker's test was stuck."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]

INI = """[pytest]
markers =
    slow: takes long
"""

RECORD = """
import os
from pathlib import Path


def record(what):
    with (Path(__file__).parent / ("ran-" + os.environ["PYTEST_XDIST_WORKER"])).open("a") as out:
        out.write(what + "\\n")
"""

QUICK = (
    RECORD
    + """
def test_quick_1():
    record("quick_1")


def test_quick_2():
    record("quick_2")
"""
)

SHARED = (
    RECORD
    + """
import pytest


@pytest.fixture(scope="module")
def server():
    record("server started")
    yield


def test_shared_1(server):
    record("shared_1")


def test_shared_2(server):
    record("shared_2")


def test_shared_3(server):
    record("shared_3")
"""
)

SLOW = (
    RECORD
    + """
import pytest


@pytest.mark.slow
def test_slow():
    record("slow")
"""
)


def _run_suite(tmp_path: Path) -> dict[str, list[str]]:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "test_a_quick.py").write_text(QUICK)
    (tmp_path / "test_b_shared.py").write_text(SHARED)
    (tmp_path / "test_c_slow.py").write_text(SLOW)
    argv = [sys.executable, "-m", "pytest", "-p", "tests.harness.scheduling", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*argv, "-n", "2", "--dist", "loadgroup", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | {"PYTHONPATH": str(REPO)},
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "6 passed" in done.stdout
    return {path.name: path.read_text().split("\n")[:-1] for path in tmp_path.glob("ran-*")}


@pytest.mark.slow  # two worker processes start
def test_a_modules_shared_fixture_starts_once_and_the_slow_test_goes_first(tmp_path: Path) -> None:
    ran = _run_suite(tmp_path)
    everything = [line for lines in ran.values() for line in lines]
    assert everything.count("server started") == 1
    [with_server] = [lines for lines in ran.values() if "server started" in lines]
    assert [line for line in with_server if line.startswith(("server", "shared"))] == [
        "server started",
        "shared_1",
        "shared_2",
        "shared_3",
    ]
    # Collected last, handed out first: the first test of the worker that ran it.
    assert any(lines[0] == "slow" for lines in ran.values()), ran
