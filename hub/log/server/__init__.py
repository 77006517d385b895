"""The Kafka wire-protocol server over Hub's store."""

from __future__ import annotations

from hub.log.server.server import KafkaServer

__all__ = ["KafkaServer"]
