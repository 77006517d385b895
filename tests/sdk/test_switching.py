"""hub.sdk.switching: a shorter switch interval while background I/O threads work, restored afterwards."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from hub.sdk.switching import PROMPT_SWITCH_INTERVAL_S, prompt_switching


@pytest.fixture(autouse=True)
def default_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    sys.setswitchinterval(before)


def test_the_interval_is_short_inside_and_restored_after() -> None:
    with prompt_switching():
        assert sys.getswitchinterval() == pytest.approx(PROMPT_SWITCH_INTERVAL_S)
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_the_interval_stays_short_until_the_last_of_several_threads_leaves() -> None:
    first_in, second_in, first_may_leave, first_left = (threading.Event() for _ in range(4))

    def first() -> None:
        with prompt_switching():
            first_in.set()
            first_may_leave.wait(5)
        first_left.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(5)
    with prompt_switching():
        second_in.set()
        first_may_leave.set()
        assert first_left.wait(5)
        assert sys.getswitchinterval() == pytest.approx(PROMPT_SWITCH_INTERVAL_S), "the second thread still works"
    thread.join(5)
    assert sys.getswitchinterval() == pytest.approx(0.005)


def test_a_process_that_already_switches_faster_keeps_its_interval() -> None:
    sys.setswitchinterval(0.0002)
    faster = sys.getswitchinterval()  # CPython keeps it in whole microseconds
    with prompt_switching():
        assert sys.getswitchinterval() == faster
    assert sys.getswitchinterval() == faster


def test_the_interval_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), prompt_switching():
        raise RuntimeError("upload failed")
    assert sys.getswitchinterval() == pytest.approx(0.005)
