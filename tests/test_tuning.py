"""hub.tuning: the garbage collector settings of Hub's server commands."""

from __future__ import annotations

import subprocess
import sys

from hub.tuning import GC_THRESHOLDS


def test_tuning_raises_the_thresholds_and_freezes_what_startup_loaded() -> None:
    # In a child process: the test run's own interpreter stays as it is.
    script = (
        "import gc; from hub.tuning import tune_garbage_collector; tune_garbage_collector(); "
        "print(*gc.get_threshold(), gc.get_freeze_count() > 1000)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == [*map(str, GC_THRESHOLDS), "True"]


def test_cyclic_garbage_is_still_collected_after_tuning() -> None:
    script = (
        "import gc, weakref; from hub.tuning import tune_garbage_collector; tune_garbage_collector()\n"
        "class Node: pass\n"
        "refs = []\n"
        "for _ in range(300_000):\n"
        "    a, b = Node(), Node(); a.b, b.a = b, a; refs.append(weakref.ref(a))\n"
        "print(sum(ref() is not None for ref in refs))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    # Only the cycles made since the last young-generation pass are still waiting: the rest were freed.
    assert int(result.stdout) < GC_THRESHOLDS[0]
