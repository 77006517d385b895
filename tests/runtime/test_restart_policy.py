"""The backoff policy and schedule of automatic restarts, on a fake clock and a fixed random source."""

from __future__ import annotations

import pytest

from hub.runtime.restart_policy import RestartPolicy, RestartSchedule
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.errors import ConfigError

POLICY = RestartPolicy(enabled=True, initial_backoff_ms=100, max_backoff_ms=1_000, multiplier=2.0)


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += ms / 1000


def _schedule(policy: RestartPolicy = POLICY, fraction: float = 0.5) -> tuple[RestartSchedule, _Clock]:
    clock = _Clock()
    return RestartSchedule(policy, clock=clock, random_fraction=lambda: fraction), clock


def test_options_are_off_by_default_and_parsed_from_the_worker_config() -> None:
    assert RestartPolicy.from_config(WorkerConfig.parse({})) == RestartPolicy()
    assert not RestartPolicy().enabled
    parsed = RestartPolicy.from_config(
        WorkerConfig.parse(
            {
                "hub.task.restart.enabled": "true",
                "hub.task.restart.initial.backoff.ms": "50",
                "hub.task.restart.max.backoff.ms": "800",
                "hub.task.restart.backoff.multiplier": "3",
                "hub.task.restart.max.attempts": "4",
            }
        )
    )
    assert parsed == RestartPolicy(True, 50, 800, 3.0, 4)
    with pytest.raises(ConfigError) as raised:
        WorkerConfig.parse({"hub.task.restart.initial.backoff.ms": "0", "hub.task.restart.max.attempts": "-2"})
    assert set(raised.value.errors) == {"hub.task.restart.initial.backoff.ms", "hub.task.restart.max.attempts"}


def test_backoff_grows_by_the_multiplier_up_to_the_maximum() -> None:
    assert [POLICY.backoff_ms(attempt, 0.5) for attempt in range(1, 7)] == [100, 200, 400, 800, 1_000, 1_000]
    assert POLICY.backoff_ms(10**9, 0.5) == 1_000


def test_jitter_spreads_the_backoff_by_a_fifth_without_passing_the_maximum() -> None:
    assert POLICY.backoff_ms(1, 0.0) == 80
    assert POLICY.backoff_ms(1, 0.999999) == 120
    assert POLICY.backoff_ms(5, 0.0) == 800
    assert POLICY.backoff_ms(5, 0.999999) == 1_000


def test_a_failure_is_due_for_restart_after_its_backoff() -> None:
    schedule, clock = _schedule()
    planned = schedule.failed(("src", 0))
    assert planned is not None
    assert (planned.attempt, planned.delay_ms) == (1, 100)
    assert schedule.wait_s() == pytest.approx(0.1)
    clock.advance_ms(99)
    assert schedule.due() == []
    clock.advance_ms(1)
    assert schedule.due() == [("src", 0)]
    assert schedule.due() == []
    assert schedule.wait_s() is None


def test_failures_in_a_row_back_off_further() -> None:
    schedule, clock = _schedule()
    delays = []
    for _ in range(4):
        planned = schedule.failed(("src", None))
        assert planned is not None
        delays.append(planned.delay_ms)
        clock.advance_ms(planned.delay_ms)
        assert schedule.due() == [("src", None)]
        schedule.running(("src", None))
        clock.advance_ms(10)  # runs briefly, then fails again
    assert delays == [100, 200, 400, 800]


def test_running_for_the_maximum_backoff_starts_the_count_over() -> None:
    schedule, clock = _schedule()
    for _ in range(3):
        assert schedule.failed(("src", 0)) is not None
        clock.advance_ms(1_000)
        schedule.due()
    schedule.running(("src", 0))
    clock.advance_ms(1_000)
    planned = schedule.failed(("src", 0))
    assert planned is not None
    assert planned.attempt == 1


def test_after_max_attempts_the_unit_is_left_failed(caplog: pytest.LogCaptureFixture) -> None:
    schedule, clock = _schedule(RestartPolicy(True, 100, 1_000, 2.0, max_attempts=2))
    for attempt in (1, 2):
        planned = schedule.failed(("src", 0))
        assert planned is not None
        assert planned.attempt == attempt
        clock.advance_ms(1_000)
        assert schedule.due() == [("src", 0)]
    assert schedule.failed(("src", 0)) is None
    assert schedule.pending() == []
    assert "task src-0 failed after 2 automatic restart(s) in a row; leaving it FAILED" in caplog.text
    schedule.forget(("src", 0))  # a user's restart
    planned = schedule.failed(("src", 0))
    assert planned is not None
    assert planned.attempt == 1


def test_logs_name_the_task_the_delay_and_the_attempt(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="hub.runtime.restarts")
    schedule, _ = _schedule()
    schedule.failed(("orders", 3))
    schedule.failed(("orders", None))
    assert "auto-restarting task orders-3 after 100 ms (attempt 1)" in caplog.text
    assert "auto-restarting connector orders after 100 ms (attempt 1)" in caplog.text


def test_disabled_schedules_nothing() -> None:
    schedule, _ = _schedule(RestartPolicy())
    assert schedule.failed(("src", 0)) is None
    assert schedule.wait_s() is None


def test_a_second_failure_report_keeps_the_pending_restart() -> None:
    schedule, clock = _schedule()
    assert schedule.failed(("src", None)) is not None
    clock.advance_ms(50)
    assert schedule.failed(("src", None)) is None
    assert schedule.wait_s() == pytest.approx(0.05)


def test_work_that_left_the_worker_and_closing_cancel_pending_restarts() -> None:
    schedule, clock = _schedule()
    for unit in [("a", None), ("a", 0), ("a", 1), ("b", 0)]:
        schedule.failed(unit)
    schedule.retain("a", {("a", None), ("a", 1)})
    assert schedule.pending() == [("a", None), ("a", 1), ("b", 0)]
    schedule.retain("a", ())
    assert schedule.pending() == [("b", 0)]
    schedule.close()
    assert schedule.pending() == []
    assert schedule.failed(("b", 1)) is None
    clock.advance_ms(10_000)
    assert schedule.due() == []
