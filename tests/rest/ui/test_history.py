"""The console's in-memory chart history: one point per connector per sample, summed over its tasks."""

from __future__ import annotations

from typing import Any, cast

from hub.rest.ui.history import History
from hub.runtime.herder import Herder, NotFoundError


class _Statuses:
    def __init__(self) -> None:
        self.statuses: dict[str, dict[str, Any]] = {}

    def connectors(self) -> list[str]:
        return [*self.statuses, "deleted-meanwhile"]

    def connector_status(self, name: str) -> dict[str, Any]:
        if name not in self.statuses:
            raise NotFoundError(name)
        return self.statuses[name]


def test_samples_sum_the_tasks_rates_and_lags() -> None:
    herder = _Statuses()
    herder.statuses["sink"] = {
        "tasks": [
            {"progress": {"records_per_second": 2.5, "lag_records": 10}},
            {"progress": {"records_per_second": 1.5, "lag_records": 5}},
            {"state": "UNASSIGNED"},
        ]
    }
    history = History(cast(Herder, herder), interval_s=3600)
    try:
        first = history.series()  # starts sampling with one point now
        herder.statuses["sink"]["tasks"][0]["progress"]["lag_records"] = 0
        history.sample()
        series = history.series()
    finally:
        history.stop()
    assert list(first) == ["sink"]
    assert series["sink"]["rate"] == [4.0, 4.0]
    assert series["sink"]["lag"] == [15.0, 5.0]
    assert series["sink"]["t"][0] <= series["sink"]["t"][1]
