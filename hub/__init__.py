"""Hub: a Connect-style integration hub with its own Kafka-protocol topic store."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
