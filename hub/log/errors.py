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
    │   ├── InvalidTopicError      a topic name Kafka's rules refuse (or one colliding with another's)
    │   ├── InvalidPartitionsError a partition count that is not an increase (Kafka error 37)
    │   └── InvalidReplicaAssignmentError  replicas naming unknown or repeated brokers (Kafka error 39)
    ├── ElectionNotNeededError     the partition already has the leader an election would choose (Kafka error 84)
    ├── PreferredLeaderNotAvailableError   the preferred replica cannot lead now (Kafka error 80)
    ├── EligibleLeadersNotAvailableError   no live replica can lead, even uncleanly (Kafka error 83)
    ├── NoReassignmentInProgressError      cancelling a reassignment that is not running (Kafka error 85)
    ├── DataDirLockedError         another process holds the data directory
    ├── LogClosedError             the log was used after close()
    ├── InvalidProducerEpochError  an idempotent producer was fenced by a newer epoch (Kafka error 47)
    ├── OutOfOrderSequenceError    an idempotent producer skipped sequence numbers (Kafka error 45)
    ├── InvalidTxnStateError       a producer with a transaction open wrote outside it (Kafka error 48)
    ├── TransactionCoordinatorFencedError  a marker from an older coordinator epoch (Kafka error 52)
    │
    │   raised by replication (hub.log.cluster):
    ├── UnexpectedAppendOffsetError  (an InvalidBatchError) replicated batches start below the log end
    ├── NotLeaderOrFollowerError   this node does not lead the partition (NOT_LEADER_OR_FOLLOWER)
    ├── NotEnoughReplicasError     acks=all with fewer in-sync replicas than min.insync.replicas
    ├── NotEnoughReplicasAfterAppendError
    ├── UnknownLeaderEpochError    a request carried a newer leader epoch than this node knows
    ├── ReplicationTimeoutError    acks=all written but not replicated within the request's timeout
    │
    │   raised by the metadata quorum of a cluster (hub.log.cluster):
    ├── NotControllerError         the quorum lost its leader or dropped the command; retry (NOT_CONTROLLER)
    ├── QuorumTimeoutError         a command was not applied in time (REQUEST_TIMED_OUT)
    ├── QuorumStorageError         the quorum's files are corrupt or of an unknown format version
    ├── FencedLeaderEpochError     a request carried an older leader epoch than the partition's
    ├── InvalidUpdateVersionError  an AlterPartition carried an older partition epoch than the partition's
    ├── InvalidRequestError        a request Kafka's controller refuses as malformed (INVALID_REQUEST)
    ├── IneligibleReplicaError     an ISR named a fenced or unregistered broker
    ├── InvalidReplicationFactorError
    ├── StaleBrokerEpochError      a heartbeat from a broker process that is no longer the registered one
    └── BrokerIdNotRegisteredError
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


class UnknownTopicIdError(LogError):
    """No topic has the topic id a request names (Kafka's UNKNOWN_TOPIC_ID)."""


class InternalTopicError(LogError):
    """A Kafka client tried to write to, or delete, a topic only the store's own process may change."""


class TopicExistsError(LogError):
    """A topic with this name already exists."""


class InvalidConfigError(LogError):
    """A topic config key or value is not acceptable."""


class InvalidTopicError(InvalidConfigError):
    """A topic name breaks Kafka's rules for names, or collides with an existing topic's."""


class InvalidPartitionsError(InvalidConfigError):
    """A new partition count that is not larger than the topic's current one."""


class InvalidReplicaAssignmentError(InvalidConfigError):
    """A replica list that is empty, repeats a broker, names a broker that is not registered, or does not match
    the topic's replication factor."""


class ElectionNotNeededError(LogError):
    """A leader election found the partition already led by the replica the election would choose."""


class PreferredLeaderNotAvailableError(LogError):
    """A preferred leader election found the preferred replica fenced or out of the ISR."""


class EligibleLeadersNotAvailableError(LogError):
    """An unclean leader election found no live replica to elect."""


class NoReassignmentInProgressError(LogError):
    """A cancellation named a partition with no reassignment in progress."""


class DataDirLockedError(LogError):
    """Another process holds the lock on the data directory."""


class LogClosedError(LogError):
    """The log was used after it was closed."""


class InvalidProducerEpochError(LogError):
    """A batch carries an older epoch than its producer's current one: that producer instance was fenced."""


class OutOfOrderSequenceError(LogError):
    """A batch's sequence number does not continue its producer's sequence: a batch went missing."""


class InvalidTxnStateError(LogError):
    """A producer with a transaction open on the partition sent a non-transactional batch (INVALID_TXN_STATE)."""


class TransactionCoordinatorFencedError(LogError):
    """A transaction marker came from an older coordinator epoch than the partition's last marker of that producer
    (TRANSACTION_COORDINATOR_FENCED)."""


class UnexpectedAppendOffsetError(InvalidBatchError):
    """Replicated batches start below the follower's log end (its log restarted inside a batch, at the leader's
    log start): ``first_offset`` is where they start."""

    def __init__(self, message: str, first_offset: int) -> None:
        super().__init__(message)
        self.first_offset = first_offset


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


class NotControllerError(LogError):
    """The metadata quorum has no leader, or a leader change dropped the command: it was not applied; retry."""


class QuorumTimeoutError(LogError):
    """A metadata command was not committed and applied in time (its outcome is unknown)."""


class QuorumStorageError(LogError):
    """The metadata quorum's files are corrupt, of an unknown format version, or belong to another node."""


class FencedLeaderEpochError(LogError):
    """A request carried a leader epoch older than the partition's current one."""


class InvalidUpdateVersionError(LogError):
    """An AlterPartition carried a partition epoch older than the partition's current one."""


class InvalidRequestError(LogError):
    """A request Kafka's controller refuses as malformed (an ISR without its leader, a non-leader's change...)."""


class IneligibleReplicaError(LogError):
    """A new ISR names a broker that is fenced or not registered."""


class InvalidReplicationFactorError(LogError):
    """A replication factor below one or above the number of live brokers."""


class StaleBrokerEpochError(LogError):
    """A heartbeat from a broker process (incarnation) that is no longer the registered one."""


class BrokerIdNotRegisteredError(LogError):
    """A broker id that has not registered with the metadata quorum."""
