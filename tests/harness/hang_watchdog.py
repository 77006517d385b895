"""A last line of defence against a test that hangs where pytest-timeout cannot reach it.

pytest-timeout's signal method fails a test by raising in the main thread, which happens only when that thread
runs Python code again. A thread blocked inside a C call that never returns (a client library waiting on a peer
that is gone) is out of its reach, and the whole run would then wait until CI kills it, with nothing printed.

This plugin arms faulthandler's watchdog — a C thread that needs no GIL — for each test at the test's own
timeout plus a grace period, and once more when pytest is done, for a process that would not exit. If it fires,
every thread's stack is written to the terminal and the process exits with a failure, so the run ends at once and
names where it was stuck.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Generator

import pytest

#: Beyond its timeout, how long a test may take to be failed by pytest-timeout before the process is ended
#: (``HUB_HANG_GRACE_S`` overrides it, for the watchdog's own test).
GRACE_S = float(os.environ.get("HUB_HANG_GRACE_S", "120"))

#: How long the process may take to exit once pytest is done.
EXIT_GRACE_S = 300.0

_stderr_fd: int | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _stderr_fd
    # Capturing is suspended while plugins are configured: this is the terminal's stderr, not a capture file.
    _stderr_fd = os.dup(sys.stderr.fileno())


def pytest_unconfigure(config: pytest.Config) -> None:
    # The tests are over; a process that still has not exited this much later is stuck in a leftover thread or
    # an exit handler. The descriptor stays open for the watchdog until the process ends.
    if _stderr_fd is not None:
        faulthandler.dump_traceback_later(EXIT_GRACE_S, exit=True, file=_stderr_fd)


def timeout_of(item: pytest.Item) -> float:
    """The test's pytest-timeout limit: its ``timeout`` marker, else the ini value (0: none)."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    limit = timeout_of(item)
    if limit <= 0 or _stderr_fd is None:
        return (yield)
    os.write(_stderr_fd, b"")  # fail here, not when the watchdog fires, if the descriptor is unusable
    faulthandler.dump_traceback_later(limit + GRACE_S, exit=True, file=_stderr_fd)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()
