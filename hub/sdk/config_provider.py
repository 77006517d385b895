"""Config providers: resolve ``${provider:path:key}`` references in configs, so secrets stay out of stored configs.

A provider is named in the worker config (``config.providers=vault``, ``config.providers.vault.class=…``,
``config.providers.vault.param.*`` for its own options). The runtime resolves references when it starts a
connector or task; the stored config keeps the reference.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping


class ConfigProvider(ABC):
    """Looks up values by path and key (Kafka's ``ConfigProvider``)."""

    def configure(self, params: Mapping[str, str]) -> None:
        """Apply the ``config.providers.NAME.param.*`` options (prefix removed)."""

    @abstractmethod
    def get(self, path: str, keys: Collection[str]) -> dict[str, str]:
        """Values of ``keys`` under ``path`` ("" when the reference has no path); ConfigError for a missing one."""

    def close(self) -> None:
        """Release resources."""
