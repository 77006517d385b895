"""bench/transactions.py runs end to end with tiny sizes: every pass is checked by its read_committed count (the
benchmark raises on a shortfall or a surplus) and the figures come out in the benchmarks' format. No timing is
asserted: the rates and ratios are only printed."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from confluent_kafka import Producer

from bench import transactions
from bench.kafka_produce_consume import VALUE, hub

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINE = re.compile(r"^[a-z0-9_]+: [0-9.e+-]+( [A-Za-z/]+)?(  # target >= [0-9.]+ (met|MISSED))?$")


def test_produce_transactional_and_idempotent(capsys: pytest.CaptureFixture[str]) -> None:
    value = transactions.bench_produce(2500, rounds=1)  # three transactions, the last one partial
    out = capsys.readouterr().out.splitlines()
    assert value > 0
    assert all(LINE.match(line) for line in out), out
    names = {line.split(":")[0] for line in out}
    assert {"idempotent_produce", "transactional_produce", "ratio_transactional_vs_idempotent_produce"} <= names


def test_pipeline_exactly_once_and_at_least_once(capsys: pytest.CaptureFixture[str]) -> None:
    ratios = transactions.bench_pipeline(3000, tasks=(2,), rounds=1)
    out = capsys.readouterr().out.splitlines()
    assert set(ratios) == {"json_2t", "noop_2t"}
    assert all(value > 0 for value in ratios.values())
    assert all(LINE.match(line) for line in out), out
    assert "pipeline_exactly_once_json_2t" in {line.split(":")[0] for line in out}


def test_count_committed_counts_a_surplus_and_not_an_aborted_transaction() -> None:
    """The check that guards every pass reports records beyond those expected, not only a shortfall, and leaves
    out what an aborted transaction wrote."""
    with tempfile.TemporaryDirectory() as tmp, hub(Path(tmp), os_flush=False) as store:
        transactions.produce_transactional(store, "counted", 300, "counted")
        bootstrap, client = store
        producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": "aborted", **client})
        producer.init_transactions(30)
        producer.begin_transaction()
        for _ in range(100):
            producer.produce("counted", VALUE)
        producer.abort_transaction(30)
        assert transactions.count_committed(store, "counted", 200, idle=0.5) == 300 + transactions.WARM_UP
