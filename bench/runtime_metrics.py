"""The cost of ``/metrics`` on the record path: the JSON pipeline of bench.runtime_pipeline with 1 and 4 tasks
while ``/metrics``' registry (the worker's and the store's collectors, as ``hub start`` serves them) is collected
every SCRAPE_INTERVAL_S on a thread (as Prometheus would, at a tighter interval than its 15 s default) against the
same pipeline with nobody scraping.

After one uncounted warm-up pass, ROUNDS rounds each run both, in an order that alternates round by round; the
best of each is compared (target: metrics on >= 0.97 of off), and each round's own on/off ratio is printed with
their median. The same figures are printed per CPU second of the process (records / ``process_time``): other
work on a shared machine changes how long a pass waits for a core far more than the CPU the pass uses, so the
CPU figures show the metrics' own cost more steadily than the wall-clock ones. The runners' own counts are
bumped once per batch whether or not anyone scrapes (a few integer additions per batch of BATCH records), so
what this measures is the cost of collecting on top of them.

The part of ``python -m bench.runtime_pipeline --metrics [RECORDS]``.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from bench.report import figure, ratio
from hub.runtime.metrics import RuntimeCollector

#: How often the scraping passes collect the registry.
SCRAPE_INTERVAL_S = 1.0
#: Rounds, each one pass with and one without scraping.
ROUNDS = 5

#: Runs the JSON pipeline once under a pass name with a number of tasks; returns records/s.
Measure = Callable[[str, int], float]


def scraped(measure: Measure, registry: CollectorRegistry, name: str, tasks: int) -> tuple[float, list[float]]:
    """``measure`` while a thread collects ``registry`` every SCRAPE_INTERVAL_S; with each scrape's seconds."""
    done = threading.Event()
    scrapes: list[float] = []

    def scrape() -> None:
        while not done.wait(SCRAPE_INTERVAL_S):
            began = time.perf_counter()
            generate_latest(registry)
            scrapes.append(time.perf_counter() - began)

    scraper = threading.Thread(target=scrape, name="bench-scraper", daemon=True)
    scraper.start()
    try:
        rate = measure(name, tasks)
    finally:
        done.set()
        scraper.join()
    return rate, scrapes


def metrics_main(measure: Measure, runtime: RuntimeCollector, store: Collector, records: int) -> None:
    """Both variants, as the module docstring says; the collectors are those ``hub start`` registers."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(runtime)
    registry.register(store)
    try:
        measure("warm-up", 1)  # not counted: the first pass pays for caches and imports
        for tasks in (1, 4):
            _compare(measure, registry, tasks, records)
    finally:
        runtime.close()


def _compare(measure: Measure, registry: CollectorRegistry, tasks: int, records: int) -> None:
    best = {False: 0.0, True: 0.0}
    best_cpu = {False: 0.0, True: 0.0}
    scrapes: list[float] = []
    paired: list[float] = []
    paired_cpu: list[float] = []
    for attempt in range(ROUNDS):
        rates: dict[bool, float] = {}
        cpu_rates: dict[bool, float] = {}
        # Each round runs both, in turns that alternate, so a drift of the machine's load favours neither.
        for scraping in (False, True) if attempt % 2 == 0 else (True, False):
            name = f"{'on' if scraping else 'off'}-{tasks}-{attempt}"
            cpu_began = time.process_time()
            if scraping:
                rates[True], seconds = scraped(measure, registry, name, tasks)
                scrapes += seconds
            else:
                rates[False] = measure(name, tasks)
            cpu_rates[scraping] = records / (time.process_time() - cpu_began)
            best[scraping] = max(best[scraping], rates[scraping])
            best_cpu[scraping] = max(best_cpu[scraping], cpu_rates[scraping])
        paired.append(rates[True] / rates[False])
        paired_cpu.append(cpu_rates[True] / cpu_rates[False])
    figure(f"runtime_json_{tasks}t_metrics_off", best[False], "records/s")
    figure(f"runtime_json_{tasks}t_metrics_on", best[True], "records/s")
    figure(f"runtime_json_{tasks}t_metrics_off_cpu", best_cpu[False], "records per CPU second")
    figure(f"runtime_json_{tasks}t_metrics_on_cpu", best_cpu[True], "records per CPU second")
    figure(f"scrapes_{tasks}t", len(scrapes), "scrapes")
    figure(f"scrape_mean_{tasks}t", 1000 * sum(scrapes) / max(1, len(scrapes)), "ms")
    print(f"rounds_{tasks}t_on_vs_off: {' '.join(f'{value:.3f}' for value in paired)}", flush=True)
    print(f"rounds_{tasks}t_on_vs_off_cpu: {' '.join(f'{value:.3f}' for value in paired_cpu)}", flush=True)
    figure(f"median_round_{tasks}t_on_vs_off", statistics.median(paired), "")
    figure(f"median_round_{tasks}t_on_vs_off_cpu", statistics.median(paired_cpu), "")
    ratio(f"runtime_json_{tasks}t_metrics_on_vs_off_cpu", best_cpu[True], best_cpu[False])
    ratio(f"runtime_json_{tasks}t_metrics_on_vs_off", best[True], best[False], target=0.97)
