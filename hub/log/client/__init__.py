"""The store client interface the worker runtime uses, with embedded and Kafka-protocol backends."""

from __future__ import annotations

from hub.log.client.api import Admin, Consumer, GroupMember, Producer, StoreClients
from hub.log.client.errors import (
    ClientClosedError,
    ClientError,
    ClientTimeoutError,
    GroupMembershipError,
    InvalidTopicConfigError,
    OffsetOutOfRangeClientError,
    ProducerFencedError,
    RebalanceInProgressError,
    RecordTooLargeError,
    RetriableClientError,
    TopicAlreadyExistsError,
    UnknownTopicError,
)
from hub.log.client.types import (
    ConsumerRecord,
    GroupMemberInfo,
    GroupProtocol,
    JoinResult,
    NewTopic,
    OffsetSpec,
    RecordMetadata,
    SendOutcome,
    TimestampType,
    TopicDescription,
    TopicPartition,
)

__all__ = [
    "Admin",
    "ClientClosedError",
    "ClientError",
    "ClientTimeoutError",
    "Consumer",
    "ConsumerRecord",
    "GroupMember",
    "GroupMemberInfo",
    "GroupMembershipError",
    "GroupProtocol",
    "InvalidTopicConfigError",
    "JoinResult",
    "NewTopic",
    "OffsetOutOfRangeClientError",
    "OffsetSpec",
    "Producer",
    "ProducerFencedError",
    "RebalanceInProgressError",
    "RecordMetadata",
    "RecordTooLargeError",
    "RetriableClientError",
    "SendOutcome",
    "StoreClients",
    "TimestampType",
    "TopicAlreadyExistsError",
    "TopicDescription",
    "TopicPartition",
    "UnknownTopicError",
]
