"""bench/search_overwrites.py runs end to end with tiny sizes against the test search server and prints its figures
in the benchmarks' format; no timing is asserted."""

from __future__ import annotations

import httpx
import pytest

from bench import search_overwrites
from tests.harness.servers import HttpServer

pytestmark = pytest.mark.integration


def test_overwrite_rate_is_measured_and_the_index_removed(
    elasticsearch_server: HttpServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_BENCH_SEARCH_URL", elasticsearch_server.url)
    search_overwrites.main(["search_overwrites", "500", "10", "0.5"])
    figures = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert figures["rows"] == "500 documents"
    for name in ("load_rate", "overwrite_rate", "overwrite_request_p50"):
        assert float(figures[name].split()[0]) > 0, name
    assert httpx.head(f"{elasticsearch_server.url}/{search_overwrites.INDEX}").status_code == 404
