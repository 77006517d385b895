"""Prompt thread switching while a plugin's background I/O thread works.

Task threads share one interpreter lock. A thread that wakes from a socket (an upload, a bulk request) must wait
for the lock until the busy thread's switch interval ends: 5 ms by default, each of the many times a request takes
and releases the lock, so a background upload crawls beside a task thread encoding without pause. A shorter
interval fixes that but costs CPU-bound tasks about a tenth of their throughput (more switches among their
threads), so Hub does not shorten it for the whole process: a background thread asks for it only while it works,

    with prompt_switching():
        upload(...)

and the previous interval is restored once no thread asks for it any more. Thread-safe.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: The switch interval while some thread does background I/O (CPython's default is 0.005 s).
PROMPT_SWITCH_INTERVAL_S = 0.001

_lock = threading.Lock()
_holders = 0
_restore_to: float | None = None  # the interval to put back, when this module changed it


@contextmanager
def prompt_switching() -> Iterator[None]:
    """Use :data:`PROMPT_SWITCH_INTERVAL_S` (unless the process already switches faster) while in the block."""
    global _holders, _restore_to
    with _lock:
        if _holders == 0:
            current = sys.getswitchinterval()
            if current > PROMPT_SWITCH_INTERVAL_S:
                _restore_to = current
                sys.setswitchinterval(PROMPT_SWITCH_INTERVAL_S)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _restore_to is not None:
                sys.setswitchinterval(_restore_to)
                _restore_to = None
