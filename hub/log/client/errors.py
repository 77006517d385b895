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
    ├── ProducerFencedError          a newer producer with the same identity exists (fatal for the producer)
    ├── TransactionAbortableError    the open transaction cannot commit: abort it, then redo its work
    │   └── TransactionAbortedError  a record was not written because its transaction was aborted
    ├── InvalidTxnStateError         a transaction call out of order (commit without begin…)
    └── ClientClosedError            the client was used after close()

Each error may carry the Kafka protocol ``error_code`` it came from.
"""

from __future__ import annotations

from hub.log.error_codes import ErrorCode


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

    @property
    def member_dropped(self) -> bool:
        """The coordinator no longer knows the member (its session expired, or another took its instance id), so
        what it was assigned may be someone else's by now; otherwise only its generation is past."""
        return self.error_code in (ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.FENCED_INSTANCE_ID)


class ProducerFencedError(ClientError):
    """A newer producer with the same identity exists; this one must stop."""


class TransactionAbortableError(ClientError):
    """The open transaction can no longer commit (one of its records failed, or the store aborted it): the
    producer stays usable once ``abort_transaction()`` has been called; the transaction's work must be redone."""


class TransactionAbortedError(TransactionAbortableError):
    """A record was not written because its transaction was aborted before it was (Kafka's
    TransactionAbortedException)."""


class InvalidTxnStateError(ClientError):
    """A transaction call made in a state that does not allow it (begin twice, commit without begin, send
    outside a transaction): a bug in the caller (Kafka's InvalidTxnStateException / IllegalStateException)."""


class ClientClosedError(ClientError):
    """The client was used after close()."""


_BY_CODE: dict[ErrorCode, type[ClientError]] = {
    ErrorCode.REBALANCE_IN_PROGRESS: RebalanceInProgressError,
    ErrorCode.ILLEGAL_GENERATION: GroupMembershipError,
    ErrorCode.UNKNOWN_MEMBER_ID: GroupMembershipError,
    ErrorCode.FENCED_INSTANCE_ID: GroupMembershipError,
    ErrorCode.COORDINATOR_NOT_AVAILABLE: RetriableClientError,
    ErrorCode.COORDINATOR_LOAD_IN_PROGRESS: RetriableClientError,
    ErrorCode.NOT_COORDINATOR: RetriableClientError,
    ErrorCode.REQUEST_TIMED_OUT: ClientTimeoutError,
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: UnknownTopicError,
    ErrorCode.TOPIC_ALREADY_EXISTS: TopicAlreadyExistsError,
    ErrorCode.INVALID_CONFIG: InvalidTopicConfigError,
    ErrorCode.INVALID_REPLICATION_FACTOR: InvalidTopicConfigError,
    ErrorCode.INVALID_PARTITIONS: InvalidTopicConfigError,
    ErrorCode.INVALID_TOPIC_EXCEPTION: InvalidTopicConfigError,
    ErrorCode.MESSAGE_TOO_LARGE: RecordTooLargeError,
    ErrorCode.OFFSET_OUT_OF_RANGE: OffsetOutOfRangeClientError,
    ErrorCode.INVALID_PRODUCER_EPOCH: ProducerFencedError,
    ErrorCode.PRODUCER_FENCED: ProducerFencedError,
    ErrorCode.INVALID_TXN_STATE: InvalidTxnStateError,
    ErrorCode.CONCURRENT_TRANSACTIONS: RetriableClientError,
}


def error_for(code: int, what: str) -> ClientError | None:
    """The client error for a Kafka error code (None for NONE), its message naming ``what`` was being done."""
    if code == ErrorCode.NONE:
        return None
    try:
        name = ErrorCode(code).name
        kind = _BY_CODE.get(ErrorCode(code), ClientError)
    except ValueError:
        name, kind = f"error {code}", ClientError
    return kind(f"{what}: {name}", error_code=code)


def raise_for(code: int, what: str) -> None:
    """Raise the client error for a Kafka error code; nothing for NONE."""
    error = error_for(code, what)
    if error is not None:
        raise error
