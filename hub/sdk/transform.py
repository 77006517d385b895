"""Single message transforms and predicates (Kafka Connect's ``Transformation`` and ``Predicate``).

The runtime builds a chain from a connector's ``transforms`` / ``predicates`` options: each transform is
configured once with its own options (prefix removed) and then called per record. ``apply`` returns the new
record, or None to drop it (the chain stops there). A transform with a predicate applies only when
``predicate.test(record)`` (inverted by ``negate``) is true. Any exception is a DataError for error handling.
An instance is used by one task thread.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, TypeVar

from hub.sdk.config import ConfigDef
from hub.sdk.records import SinkRecord, SourceRecord

R = TypeVar("R", SourceRecord, SinkRecord)


class _Configurable:
    def config_def(self) -> ConfigDef:
        """The options this plugin takes."""
        return ConfigDef()

    def configure(self, config: Mapping[str, Any]) -> None:
        """Parse and keep the options (ConfigError listing every problem)."""
        self.config = self.config_def().parse(config)

    def close(self) -> None:
        """Release resources."""


class Transformation(_Configurable, ABC):
    """Changes one record at a time."""

    @abstractmethod
    def apply(self, record: R) -> R | None:
        """The transformed record, or None to drop it."""


class Predicate(_Configurable, ABC):
    """Decides whether a transform applies to a record."""

    @abstractmethod
    def test(self, record: SourceRecord | SinkRecord) -> bool:
        """True when the record matches."""
