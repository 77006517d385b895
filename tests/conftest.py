"""Suite-wide pytest configuration: the real-server harness is loaded as a plugin."""

from __future__ import annotations

pytest_plugins = ["tests.harness.fixtures"]
