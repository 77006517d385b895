"""The hang watchdog ends a run whose test is blocked inside a C call, printing where every thread was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HUNG_TEST = """
import ctypes
import pytest


@pytest.mark.timeout(1)
def test_blocked_in_c():
    mutex = ctypes.create_string_buffer(64)
    libc = ctypes.CDLL(None)
    libc.pthread_mutex_lock(mutex)
    libc.pthread_mutex_lock(mutex)  # a futex wait in C: pytest-timeout's SIGALRM cannot interrupt it


def test_never_reached():
    pass
"""


def _run_hung_test(tmp_path: Path, *options: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """pytest with the watchdog on a file whose test blocks in C, given one second of grace."""
    (tmp_path / "test_hung.py").write_text(HUNG_TEST)
    argv = [sys.executable, "-m", "pytest", "-p", "tests.harness.hang_watchdog", "-p", "no:cacheprovider", *options]
    return subprocess.run(
        [*argv, "-q", "--rootdir", str(tmp_path), str(tmp_path / "test_hung.py")],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"HUB_HANG_GRACE_S": "1"},
        cwd=Path(__file__).parents[2],
    )


def test_a_test_blocked_in_c_ends_the_run_with_every_stack(tmp_path: Path) -> None:
    done = _run_hung_test(tmp_path, timeout=60)
    assert done.returncode != 0
    assert "Timeout (0:00:02)!" in done.stderr, done.stderr[-2000:]
    assert 'test_hung.py", line 11 in test_blocked_in_c' in done.stderr, done.stderr[-2000:]
    assert "1 passed" not in done.stdout  # the run ended inside the hung test


@pytest.mark.slow  # two worker processes start
def test_on_an_xdist_worker_the_hung_test_fails_with_every_stack_and_the_run_goes_on(tmp_path: Path) -> None:
    done = _run_hung_test(tmp_path, "-n", "1", timeout=120)
    assert done.returncode != 0
    assert 'test_hung.py", line 11 in test_blocked_in_c' in done.stderr, done.stderr[-2000:]
    assert "crashed while running 'test_hung.py::test_blocked_in_c'" in done.stdout, done.stdout[-2000:]
    assert "1 failed, 1 passed" in done.stdout, done.stdout[-2000:]  # a new worker ran the next test
