"""Translation of the store's errors into the client interface's errors, so both backends raise the same."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.log import errors as log_errors
from hub.log.client import errors as client_errors

_MAPPING: list[tuple[type[Exception], type[client_errors.ClientError]]] = [
    (log_errors.UnknownTopicOrPartitionError, client_errors.UnknownTopicError),
    (log_errors.TopicExistsError, client_errors.TopicAlreadyExistsError),
    (log_errors.InvalidConfigError, client_errors.InvalidTopicConfigError),
    (log_errors.RecordTooLargeError, client_errors.RecordTooLargeError),
    (log_errors.OffsetOutOfRangeError, client_errors.OffsetOutOfRangeClientError),
    (log_errors.LogClosedError, client_errors.ClientClosedError),
    (log_errors.LogError, client_errors.ClientError),
]


def translate(exc: Exception) -> client_errors.ClientError:
    """The client error for a store error (ClientError for anything unexpected)."""
    for source, target in _MAPPING:
        if isinstance(exc, source):
            return target(str(exc))
    return client_errors.ClientError(f"{type(exc).__name__}: {exc}")


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise store errors as client errors, keeping the original as the cause."""
    try:
        yield
    except client_errors.ClientError:
        raise
    except log_errors.LogError as exc:
        raise translate(exc) from exc
