"""Kafka protocol error codes (the numbers are Kafka's, from its ``Errors`` table), and the code for each of the
store's exceptions — the one table both the Kafka server and the embedded client translate errors with."""

from __future__ import annotations

from enum import IntEnum

from hub.log import errors


class ErrorCode(IntEnum):
    """Error codes carried in Kafka protocol responses."""

    UNKNOWN_SERVER_ERROR = -1
    NONE = 0
    OFFSET_OUT_OF_RANGE = 1
    CORRUPT_MESSAGE = 2
    UNKNOWN_TOPIC_OR_PARTITION = 3
    INVALID_FETCH_SIZE = 4
    LEADER_NOT_AVAILABLE = 5
    NOT_LEADER_OR_FOLLOWER = 6
    REQUEST_TIMED_OUT = 7
    BROKER_NOT_AVAILABLE = 8
    REPLICA_NOT_AVAILABLE = 9
    MESSAGE_TOO_LARGE = 10
    OFFSET_METADATA_TOO_LARGE = 12
    NETWORK_EXCEPTION = 13
    COORDINATOR_LOAD_IN_PROGRESS = 14
    COORDINATOR_NOT_AVAILABLE = 15
    NOT_COORDINATOR = 16
    INVALID_TOPIC_EXCEPTION = 17
    RECORD_LIST_TOO_LARGE = 18
    NOT_ENOUGH_REPLICAS = 19
    NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20
    INVALID_REQUIRED_ACKS = 21
    ILLEGAL_GENERATION = 22
    INCONSISTENT_GROUP_PROTOCOL = 23
    INVALID_GROUP_ID = 24
    UNKNOWN_MEMBER_ID = 25
    INVALID_SESSION_TIMEOUT = 26
    REBALANCE_IN_PROGRESS = 27
    INVALID_COMMIT_OFFSET_SIZE = 28
    TOPIC_AUTHORIZATION_FAILED = 29
    GROUP_AUTHORIZATION_FAILED = 30
    CLUSTER_AUTHORIZATION_FAILED = 31
    INVALID_TIMESTAMP = 32
    UNSUPPORTED_SASL_MECHANISM = 33
    ILLEGAL_SASL_STATE = 34
    UNSUPPORTED_VERSION = 35
    TOPIC_ALREADY_EXISTS = 36
    INVALID_PARTITIONS = 37
    INVALID_REPLICATION_FACTOR = 38
    INVALID_REPLICA_ASSIGNMENT = 39
    INVALID_CONFIG = 40
    NOT_CONTROLLER = 41
    INVALID_REQUEST = 42
    UNSUPPORTED_FOR_MESSAGE_FORMAT = 43
    POLICY_VIOLATION = 44
    OUT_OF_ORDER_SEQUENCE_NUMBER = 45
    DUPLICATE_SEQUENCE_NUMBER = 46
    INVALID_PRODUCER_EPOCH = 47
    INVALID_TXN_STATE = 48
    INVALID_PRODUCER_ID_MAPPING = 49
    INVALID_TRANSACTION_TIMEOUT = 50
    CONCURRENT_TRANSACTIONS = 51
    TRANSACTION_COORDINATOR_FENCED = 52
    TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53
    SECURITY_DISABLED = 54
    OPERATION_NOT_ATTEMPTED = 55
    KAFKA_STORAGE_ERROR = 56
    LOG_DIR_NOT_FOUND = 57
    SASL_AUTHENTICATION_FAILED = 58
    UNKNOWN_PRODUCER_ID = 59
    REASSIGNMENT_IN_PROGRESS = 60
    NON_EMPTY_GROUP = 68
    GROUP_ID_NOT_FOUND = 69
    FETCH_SESSION_ID_NOT_FOUND = 70
    INVALID_FETCH_SESSION_EPOCH = 71
    FENCED_LEADER_EPOCH = 74
    UNKNOWN_LEADER_EPOCH = 75
    STALE_BROKER_EPOCH = 77
    UNSUPPORTED_COMPRESSION_TYPE = 76
    OFFSET_NOT_AVAILABLE = 78
    MEMBER_ID_REQUIRED = 79
    PREFERRED_LEADER_NOT_AVAILABLE = 80
    GROUP_MAX_SIZE_REACHED = 81
    FENCED_INSTANCE_ID = 82
    ELIGIBLE_LEADERS_NOT_AVAILABLE = 83
    ELECTION_NOT_NEEDED = 84
    NO_REASSIGNMENT_IN_PROGRESS = 85
    GROUP_SUBSCRIBED_TO_TOPIC = 86
    INVALID_RECORD = 87
    UNSTABLE_OFFSET_COMMIT = 88
    PRODUCER_FENCED = 90
    RESOURCE_NOT_FOUND = 91
    DUPLICATE_RESOURCE = 92
    UNACCEPTABLE_CREDENTIAL = 93
    INVALID_UPDATE_VERSION = 95
    UNKNOWN_TOPIC_ID = 100
    BROKER_ID_NOT_REGISTERED = 102
    TRANSACTIONAL_ID_NOT_FOUND = 105
    INELIGIBLE_REPLICA = 107
    FENCED_MEMBER_EPOCH = 110
    UNRELEASED_INSTANCE_ID = 111
    UNSUPPORTED_ASSIGNOR = 112
    STALE_MEMBER_EPOCH = 113
    MISMATCHED_ENDPOINT_TYPE = 114
    UNSUPPORTED_ENDPOINT_TYPE = 115
    INVALID_REGULAR_EXPRESSION = 128


_EXCEPTION_CODES: list[tuple[type[Exception], ErrorCode]] = [
    (errors.UnknownTopicOrPartitionError, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    (errors.UnknownTopicIdError, ErrorCode.UNKNOWN_TOPIC_ID),
    (errors.OffsetOutOfRangeError, ErrorCode.OFFSET_OUT_OF_RANGE),
    (errors.RecordTooLargeError, ErrorCode.MESSAGE_TOO_LARGE),
    (errors.OutOfOrderSequenceError, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    (errors.InvalidProducerEpochError, ErrorCode.INVALID_PRODUCER_EPOCH),
    (errors.InvalidTxnStateError, ErrorCode.INVALID_TXN_STATE),
    (errors.TransactionCoordinatorFencedError, ErrorCode.TRANSACTION_COORDINATOR_FENCED),
    (errors.TopicExistsError, ErrorCode.TOPIC_ALREADY_EXISTS),
    (errors.InternalTopicError, ErrorCode.INVALID_TOPIC_EXCEPTION),
    (errors.InvalidTopicError, ErrorCode.INVALID_TOPIC_EXCEPTION),
    (errors.InvalidPartitionsError, ErrorCode.INVALID_PARTITIONS),
    (errors.InvalidReplicaAssignmentError, ErrorCode.INVALID_REPLICA_ASSIGNMENT),
    (errors.ElectionNotNeededError, ErrorCode.ELECTION_NOT_NEEDED),
    (errors.PreferredLeaderNotAvailableError, ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE),
    (errors.EligibleLeadersNotAvailableError, ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE),
    (errors.NoReassignmentInProgressError, ErrorCode.NO_REASSIGNMENT_IN_PROGRESS),
    (errors.InvalidConfigError, ErrorCode.INVALID_CONFIG),
    (errors.InvalidRecordError, ErrorCode.INVALID_RECORD),
    (errors.InvalidBatchError, ErrorCode.CORRUPT_MESSAGE),
    (errors.LogClosedError, ErrorCode.NOT_LEADER_OR_FOLLOWER),
    (errors.NotLeaderOrFollowerError, ErrorCode.NOT_LEADER_OR_FOLLOWER),
    (errors.NotEnoughReplicasError, ErrorCode.NOT_ENOUGH_REPLICAS),
    (errors.NotEnoughReplicasAfterAppendError, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND),
    (errors.UnknownLeaderEpochError, ErrorCode.UNKNOWN_LEADER_EPOCH),
    (errors.ReplicationTimeoutError, ErrorCode.REQUEST_TIMED_OUT),
    (errors.NotControllerError, ErrorCode.NOT_CONTROLLER),
    (errors.QuorumTimeoutError, ErrorCode.REQUEST_TIMED_OUT),
    (errors.QuorumStorageError, ErrorCode.KAFKA_STORAGE_ERROR),
    (errors.FencedLeaderEpochError, ErrorCode.FENCED_LEADER_EPOCH),
    (errors.InvalidUpdateVersionError, ErrorCode.INVALID_UPDATE_VERSION),
    (errors.InvalidRequestError, ErrorCode.INVALID_REQUEST),
    (errors.IneligibleReplicaError, ErrorCode.INELIGIBLE_REPLICA),
    (errors.InvalidReplicationFactorError, ErrorCode.INVALID_REPLICATION_FACTOR),
    (errors.StaleBrokerEpochError, ErrorCode.STALE_BROKER_EPOCH),
    (errors.BrokerIdNotRegisteredError, ErrorCode.BROKER_ID_NOT_REGISTERED),
]


def error_code_for(exc: BaseException) -> ErrorCode:
    """The Kafka error code to answer with for an exception from the store (UNKNOWN_SERVER_ERROR otherwise)."""
    for kind, code in _EXCEPTION_CODES:
        if isinstance(exc, kind):
            return code
    return ErrorCode.UNKNOWN_SERVER_ERROR
