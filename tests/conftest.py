"""Suite-wide pytest configuration: the real-server harness and the hang watchdog are loaded as plugins."""

from __future__ import annotations

pytest_plugins = ["tests.harness.fixtures", "tests.harness.hang_watchdog"]
