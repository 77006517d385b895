"""The benchmark output convention: ``name: value unit`` lines, then ratios against the same-run reference."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def figure(name: str, value: float, unit: str) -> None:
    """Print one measured figure."""
    print(f"{name}: {value:.6g} {unit}", flush=True)


def ratio(
    name: str, value: float, reference: float, *, target: float | None = None, at_most: float | None = None
) -> float:
    """Print ``value / reference`` as ``ratio_NAME``, with the target it is checked against (``target``: at
    least, ``at_most``: at most); return it."""
    result = value / reference if reference else float("nan")
    suffix = "" if target is None else f"  # target >= {target:.2f} {'met' if result >= target else 'MISSED'}"
    if at_most is not None:
        suffix = f"  # target <= {at_most:.2f} {'met' if result <= at_most else 'MISSED'}"
    print(f"ratio_{name}: {result:.3f}{suffix}", flush=True)
    return result


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed:`` … ``elapsed()`` gives seconds since the block began."""
    began = time.perf_counter()
    ended: list[float] = []
    yield lambda: (ended[0] if ended else time.perf_counter()) - began
    ended.append(time.perf_counter())
