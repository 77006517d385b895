"""Suite-wide pytest configuration: the real-server harness and the hang watchdog are loaded as plugins.

`hub start` runs one worker process per core by default; the suite's `hub start`s run one (``HUB_WORKERS=1``)
unless a test asks for more (tests/test_start_workers.py), so where a test's tasks run does not depend on the
machine's cores.
"""

from __future__ import annotations

import os

os.environ.setdefault("HUB_WORKERS", "1")

pytest_plugins = ["tests.harness.fixtures", "tests.harness.hang_watchdog", "tests.harness.scheduling"]
