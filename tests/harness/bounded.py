"""Blocking client calls with a bound the test process can enforce.

A librdkafka close or flush blocks inside C code. If the broker it waits for never answers, neither
pytest-timeout's SIGALRM nor anything else can interrupt the waiting thread, and the whole test run would hang
there. ``within`` runs such a call in a daemon thread and stops waiting after a deadline, so the test fails with a
message naming the call instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def within(timeout_s: float, call: Callable[[], T], what: str) -> T:
    """``call()``'s result, or AssertionError naming ``what`` when it has not returned after ``timeout_s`` (the
    call then goes on in its daemon thread, which the process abandons at exit). Its exception is re-raised."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=run, name=f"bounded: {what}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise AssertionError(f"{what} did not return within {timeout_s} s")
    if failure:
        raise failure[0]
    return outcome[0]
