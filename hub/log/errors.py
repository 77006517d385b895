"""Errors raised by the topic store.

Exception tree::

    LogError
    ├── InvalidBatchError          a batch failed validation (magic, length, CRC, count); nothing was written
    │   ├── InvalidRecordError     a record the topic does not accept (no key on a compacted topic)
    │   └── CorruptBatchError      stored bytes failed validation (found by recovery or a read)
    ├── RecordTooLargeError        a batch is larger than max.message.bytes
    ├── OffsetOutOfRangeError      a read asked for an offset outside [log start, log end]
    ├── UnknownTopicOrPartitionError
    ├── InternalTopicError         a Kafka client tried to write or delete an internal topic
    ├── TopicExistsError
    ├── InvalidConfigError         a topic config key or value is not acceptable
    │   └── InvalidTopicError      a topic name Kafka's rules refuse (or one colliding with another's)
    ├── DataDirLockedError         another process holds the data directory
    ├── LogClosedError             the log was used after close()
    ├── InvalidProducerEpochError  an idempotent producer was fenced by a newer epoch (Kafka error 47)
    └── OutOfOrderSequenceError    an idempotent producer skipped sequence numbers (Kafka error 45)
"""

from __future__ import annotations


class LogError(Exception):
    """Base class of every error raised by hub.log."""


class InvalidBatchError(LogError):
    """A record batch failed validation; nothing of it was written."""


class InvalidRecordError(InvalidBatchError):
    """A well-formed batch holds a record the topic does not accept (a keyless record on a compacted topic)."""


class CorruptBatchError(InvalidBatchError):
    """Bytes read back from storage do not form a valid record batch."""


class RecordTooLargeError(LogError):
    """A batch exceeds the topic's max.message.bytes."""


class OffsetOutOfRangeError(LogError):
    """A read asked for an offset outside the partition's log."""


class UnknownTopicOrPartitionError(LogError):
    """The topic or partition does not exist."""


class InternalTopicError(LogError):
    """A Kafka client tried to write to, or delete, a topic only the store's own process may change."""


class TopicExistsError(LogError):
    """A topic with this name already exists."""


class InvalidConfigError(LogError):
    """A topic config key or value is not acceptable."""


class InvalidTopicError(InvalidConfigError):
    """A topic name breaks Kafka's rules for names, or collides with an existing topic's."""


class DataDirLockedError(LogError):
    """Another process holds the lock on the data directory."""


class LogClosedError(LogError):
    """The log was used after it was closed."""


class InvalidProducerEpochError(LogError):
    """A batch carries an older epoch than its producer's current one: that producer instance was fenced."""


class OutOfOrderSequenceError(LogError):
    """A batch's sequence number does not continue its producer's sequence: a batch went missing."""


class NotLeaderOrFollowerError(LogError):
    """This node is not the partition's leader (produce, consumer fetch) or not one of its replicas."""


class NotEnoughReplicasError(LogError):
    """An acks=all produce found fewer in-sync replicas than the topic's min.insync.replicas; nothing written."""


class NotEnoughReplicasAfterAppendError(LogError):
    """An acks=all produce was written, then the in-sync replicas fell below min.insync.replicas."""


class UnknownLeaderEpochError(LogError):
    """A request carries a leader epoch newer than this node knows: its metadata is behind the requester's."""


class ReplicationTimeoutError(LogError):
    """An acks=all produce was written but not replicated to the in-sync replicas within the request's timeout."""


class FencedLeaderEpochError(LogError):
    """A request or change carries a leader epoch older than the current one: its sender's view is stale."""
