"""ProgressMeter: counts, rate, percent and ETA, published only when due and changed."""

from __future__ import annotations

import time
from typing import Any

from hub.runtime.progress import ProgressMeter


def test_published_figures() -> None:
    published: list[dict[str, Any]] = []
    meter = ProgressMeter(published.append, interval_s=0.05)
    assert not meter.due()
    meter.add(500)
    time.sleep(0.06)
    assert meter.due()
    meter.publish({"phase": "snapshot", "done": 500, "total": 2000, "unit": "rows"})
    [first] = published
    assert first["records"] == 500
    assert first["records_per_second"] > 0
    assert first["percent"] == 25.0
    assert first["eta_seconds"] >= 0
    assert not meter.due()


def test_unchanged_figures_are_not_published_again() -> None:
    published: list[dict[str, Any]] = []
    meter = ProgressMeter(published.append, interval_s=0.0)
    meter.publish({"lag_records": 0})
    meter.publish({"lag_records": 0})
    assert len(published) == 1
    meter.publish({"lag_records": 3})
    assert published[-1]["lag_records"] == 3
