"""Errors raised by store clients, whichever backend (embedded or Kafka protocol) is behind them.

Exception tree::

    ClientError                      anything the store refused or could not do
    ├── RetriableClientError         worth retrying after a backoff (leader moving, coordinator loading, timeouts)
    │   ├── ClientTimeoutError       no answer within the allowed time
    │   └── RebalanceInProgressError the group is rebalancing: rejoin, then retry
    ├── UnknownTopicError            the topic or partition does not exist
    ├── TopicAlreadyExistsError
    ├── InvalidTopicConfigError      a topic config key or value was refused
    ├── RecordTooLargeError          a record batch exceeds max.message.bytes
    ├── OffsetOutOfRangeClientError  a position outside the partition's log
    ├── GroupMembershipError         the member was removed from its group (generation or member id is stale)
    ├── ProducerFencedError          a newer producer with the same identity exists
    └── ClientClosedError            the client was used after close()

Each error may carry the Kafka protocol ``error_code`` it came from.
"""

from __future__ import annotations


class ClientError(Exception):
    """Base class of every store client error."""

    def __init__(self, message: str, *, error_code: int | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class RetriableClientError(ClientError):
    """A transient failure; retrying after a backoff may succeed."""


class ClientTimeoutError(RetriableClientError):
    """The store did not answer within the allowed time."""


class RebalanceInProgressError(RetriableClientError):
    """The group is rebalancing; the member must rejoin before its commit or heartbeat can succeed."""


class UnknownTopicError(ClientError):
    """The topic or partition does not exist."""


class TopicAlreadyExistsError(ClientError):
    """A topic with this name already exists."""


class InvalidTopicConfigError(ClientError):
    """A topic config key or value was refused."""


class RecordTooLargeError(ClientError):
    """A record batch exceeds the topic's max.message.bytes."""


class OffsetOutOfRangeClientError(ClientError):
    """A position outside the partition's log was requested."""


class GroupMembershipError(ClientError):
    """The member's generation or member id is no longer valid: it must rejoin its group."""


class ProducerFencedError(ClientError):
    """A newer producer with the same identity exists; this one must stop."""


class ClientClosedError(ClientError):
    """The client was used after close()."""
