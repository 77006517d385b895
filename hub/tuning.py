"""Process-wide settings of Hub's long-running commands (``hub start``, ``hub worker``, ``hub standalone``,
``hub log serve``).

**Garbage collector.** CPython's cyclic collector runs a young-generation pass every 700 container allocations and
a full pass whenever enough objects have survived into the old generation. A pipeline keeps tens of thousands of
records in flight (produced but not yet acknowledged, fetched but not yet delivered), so those passes keep
rescanning live records that reference counting will free anyway: in ``bench/runtime_pipeline.py`` the default
thresholds halve the records/s of a datagen → store → sink pipeline. Hub raises the young-generation threshold and
freezes what startup loaded (modules, configs, plugins) so full passes skip it. Reference cycles are still
collected, only in larger steps.

The thread switch interval stays CPython's: background I/O threads of plugins shorten it only while they work
(``hub.sdk.switching``).
"""

from __future__ import annotations

import gc

#: Container allocations between young-generation passes (CPython's default is 700), and the generation ratios.
GC_THRESHOLDS = (50_000, 20, 10)


def tune_garbage_collector() -> None:
    """Apply :data:`GC_THRESHOLDS` and move every object alive now to the collector's permanent generation."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
