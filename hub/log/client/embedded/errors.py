"""The store's exceptions as the client interface's errors, through their Kafka error codes — the same path the
Kafka backend takes, so both backends raise the same kinds for the same failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hub.log import errors as log_errors
from hub.log.client.errors import ClientClosedError, ClientError, error_for
from hub.log.error_codes import error_code_for


def translate(exc: Exception) -> ClientError:
    """The client error for a store exception, keeping the store's message."""
    if isinstance(exc, ClientError):
        return exc
    if isinstance(exc, log_errors.LogClosedError):
        return ClientClosedError(str(exc))
    code = error_code_for(exc)
    error = error_for(code, "")
    kind = type(error) if error is not None else ClientError
    return kind(str(exc) if isinstance(exc, log_errors.LogError) else f"{type(exc).__name__}: {exc}", error_code=code)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise store errors as client errors, keeping the original as the cause."""
    try:
        yield
    except ClientError:
        raise
    except log_errors.LogError as exc:
        raise translate(exc) from exc
