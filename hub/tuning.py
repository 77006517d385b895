"""Process-wide settings of Hub's long-running commands (``hub start``, ``hub worker``, ``hub standalone``,
``hub log serve``).

**Garbage collector.** CPython's cyclic collector runs a young-generation pass every 700 container allocations and
a full pass whenever enough objects have survived into the old generation. A pipeline keeps tens of thousands of
records in flight (produced but not yet acknowledged, fetched but not yet delivered), so those passes keep
rescanning live records that reference counting will free anyway: in ``bench/runtime_pipeline.py`` the default
thresholds halve the records/s of a datagen → store → sink pipeline. Hub raises the young-generation threshold and
freezes what startup loaded (modules, configs, plugins) so full passes skip it. Reference cycles are still
collected, only in larger steps.

**Thread switching.** A worker mixes threads that convert and encode records without pause with threads that
mostly wait on sockets (uploads, bulk requests, the store's network clients). A thread that wakes from I/O must
wait for the interpreter lock until the busy thread's switch interval ends — 5 ms by default, for every one of the
many times an HTTP request takes and releases the lock — so I/O threads crawl beside a busy one. Hub switches every
millisecond: in ``bench/s3.py`` the S3 sink, which encodes on the task thread while an upload thread sends the
previous object, went from 0.55 to 0.77 of a plain upload's rate; the runtime pipeline's rate is unchanged.
"""

from __future__ import annotations

import gc
import sys

#: Container allocations between young-generation passes (CPython's default is 700), and the generation ratios.
GC_THRESHOLDS = (50_000, 20, 10)
#: Seconds a thread holds the interpreter lock while others wait for it (CPython's default is 0.005).
SWITCH_INTERVAL_S = 0.001


def tune_process() -> None:
    """Apply :data:`GC_THRESHOLDS` and :data:`SWITCH_INTERVAL_S`, and move every object alive now to the
    collector's permanent generation."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)
