"""bench/db_to_search_nested.py runs end to end with tiny sizes (PGSync left out): Hub's initial sync, a few seconds
of steady-state changes with their stages read back from the topic, the reference and the replay of Hub's writes,
and the figures come out in the benchmarks' format. No timing is asserted: the figures are only printed."""

from __future__ import annotations

import re

import pytest

from bench import db_to_search_nested
from bench.sync_tools import SearchServer
from tests.harness.servers import HttpServer, SqlServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LINE = re.compile(r"^[a-z0-9_]+: ([0-9.e+-]+|nan)( [A-Za-z/-]+)?(  # target [<>]= [0-9.]+ (met|MISSED))?$")


def test_nested_bench_without_pgsync(
    postgres_server: SqlServer,
    elasticsearch_server: HttpServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_BENCH_NESTED_PGSYNC", "0")
    monkeypatch.setenv("HUB_BENCH_NESTED_SECONDS", "2")
    monkeypatch.setenv("HUB_BENCH_NESTED_WAIT_S", "60")
    db_to_search_nested.run(postgres_server, SearchServer(elasticsearch_server.url, "elasticsearch"), 300)
    out = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    assert all(LINE.match(line) for line in out), out
    figures = {line.split(":")[0]: line.split()[1] for line in out}
    assert figures["nested_rows"] == "300"
    # 100 changes, a quarter each to books, reviews (one book each), authors (20 books) and publishers (10)
    assert float(figures["hub_nested_documents_per_change"]) >= 1
    assert float(figures["hub_nested_p99"]) > 0
    for name in ("hub_nested_p99_to_topic", "hub_nested_p99_topic_to_index", "reference_nested_steady_p99"):
        assert float(figures[name]) >= 0, name
    assert "ratio_nested_initial_hub_vs_reference" in figures
