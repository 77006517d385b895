"""Retries, backoff and tolerance of the error handler."""

from __future__ import annotations

import time

import pytest

from hub.runtime.errors import Stage, ToleranceExceededError, ToleranceOperator
from hub.sdk.errors import ConnectorError, RetriableError


def _flaky(failures: int, error: Exception) -> tuple[list[float], object]:
    calls: list[float] = []

    def operation() -> str:
        calls.append(time.monotonic())
        if len(calls) <= failures:
            raise error
        return "done"

    return calls, operation


def test_retriable_errors_are_retried_with_growing_delays_until_they_pass() -> None:
    operator = ToleranceOperator({"errors.retry.timeout": "5000", "errors.retry.delay.max.ms": "60000"}, context="t")
    calls, operation = _flaky(2, RetriableError("busy"))
    assert operator.execute(Stage.TASK_POLL, operation) == (True, "done")
    assert len(calls) == 3
    first, second = calls[1] - calls[0], calls[2] - calls[1]
    assert 0.25 < first < 0.6  # 300 ms, then 600 ms
    assert second > first


def test_when_retries_run_out_tolerance_decides() -> None:
    strict = ToleranceOperator({"errors.retry.timeout": "0"}, context="t")
    with pytest.raises(ToleranceExceededError):
        strict.execute(Stage.VALUE_CONVERTER, _flaky(9, ValueError("bad bytes"))[1])
    lenient = ToleranceOperator({"errors.tolerance": "all", "errors.retry.timeout": "0"}, context="t")
    assert lenient.execute(Stage.VALUE_CONVERTER, _flaky(9, ValueError("bad"))[1]) == (False, None)
    assert lenient.failed_records == 1
    # Outside converters and transforms only retriable errors are tolerated; others fail the task at once.
    with pytest.raises(ConnectorError):
        lenient.execute(Stage.TASK_POLL, _flaky(9, ConnectorError("wrong password"))[1])
