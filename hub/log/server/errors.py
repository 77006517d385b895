"""Kafka error codes for the store's exceptions, in one table."""

from __future__ import annotations

from hub.log import errors
from hub.log.error_codes import ErrorCode

_CODES: list[tuple[type[Exception], ErrorCode]] = [
    (errors.UnknownTopicOrPartitionError, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    (errors.OffsetOutOfRangeError, ErrorCode.OFFSET_OUT_OF_RANGE),
    (errors.RecordTooLargeError, ErrorCode.MESSAGE_TOO_LARGE),
    (errors.OutOfOrderSequenceError, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER),
    (errors.InvalidProducerEpochError, ErrorCode.INVALID_PRODUCER_EPOCH),
    (errors.TopicExistsError, ErrorCode.TOPIC_ALREADY_EXISTS),
    (errors.InvalidConfigError, ErrorCode.INVALID_CONFIG),
    (errors.InvalidRecordError, ErrorCode.INVALID_RECORD),
    (errors.InvalidBatchError, ErrorCode.CORRUPT_MESSAGE),
    (errors.LogClosedError, ErrorCode.NOT_LEADER_OR_FOLLOWER),
]


def error_code_for(exc: BaseException) -> ErrorCode:
    """The code to answer with for an exception from the store."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    return ErrorCode.UNKNOWN_SERVER_ERROR
