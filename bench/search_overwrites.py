"""How many documents a second the search server here can overwrite in an index of ROWS documents: the ceiling of
any tool's steady state (bench/db_to_search_nested.py's changes need about 400 rewrites a second).

``python -m bench.search_overwrites ROWS [BATCH] [SECONDS]``: loads ROWS documents shaped like the nested bench's
books (publisher, two authors, three reviews), requests of 2,000 on five connections as its reference does
(``load_rate``), then for SECONDS (30) overwrites random documents with requests of BATCH (50), one at a time
(``overwrite_rate``; ``overwrite_request_p50``). ``HUB_BENCH_SEARCH=opensearch`` for osmem-server. No tool is in
the loop: this measures the server alone.
"""

from __future__ import annotations

import json
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.db_to_search import search_server
from bench.report import figure

INDEX = "bench-overwrites"


def book(n: int, marker: str = "") -> dict[str, Any]:
    return {
        "id": n,
        "isbn": f"isbn-{n}",
        "title": f"title {marker}{n}",
        "published": "2020-01-01",
        "publisher": {"id": n // 10, "name": f"publisher {n // 10}"},
        "authors": [{"id": n // 20, "name": f"author {n // 20}"}, {"id": n // 20 + 1, "name": "another"}],
        "reviews": [{"id": n * 3 + k, "rating": k, "body": "a review body " * 5} for k in range(3)],
    }


def bulk(http: httpx.Client, url: str, documents: list[tuple[int, dict[str, Any]]]) -> float:
    """One bulk request of index operations; its seconds."""
    lines = [
        json.dumps({"index": {"_index": INDEX, "_id": str(n)}}).encode() + b"\n" + json.dumps(doc).encode() + b"\n"
        for n, doc in documents
    ]
    began = time.monotonic()
    response = http.post(f"{url}/_bulk", content=b"".join(lines), headers={"content-type": "application/x-ndjson"})
    response.raise_for_status()
    if response.json().get("errors"):
        raise RuntimeError(f"the server refused documents: {response.text[:500]}")
    return time.monotonic() - began


def main(argv: list[str]) -> None:
    rows = int(argv[1]) if len(argv) > 1 else 200_000
    batch = int(argv[2]) if len(argv) > 2 else 50
    seconds = float(argv[3]) if len(argv) > 3 else 30.0
    figure("rows", rows, "documents")
    with search_server() as server, httpx.Client(timeout=3600, limits=httpx.Limits(max_connections=8)) as http:
        url = server.url.rstrip("/")
        http.put(f"{url}/{INDEX}").raise_for_status()
        began = time.monotonic()
        with ThreadPoolExecutor(5) as pool:
            starts = range(0, rows, 2000)
            list(pool.map(lambda s: bulk(http, url, [(n, book(n)) for n in range(s, min(rows, s + 2000))]), starts))
        figure("load_rate", rows / (time.monotonic() - began), "documents/s")
        rng = random.Random(7)
        written, durations = 0, []
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            picked = [rng.randrange(rows) for _ in range(batch)]
            durations.append(bulk(http, url, [(n, book(n, f"m{written} ")) for n in picked]))
            written += batch
        figure("overwrite_rate", written / (time.monotonic() - began), "documents/s")
        figure("overwrite_request_p50", sorted(durations)[len(durations) // 2], "s")
        http.delete(f"{url}/{INDEX}")


if __name__ == "__main__":
    main(sys.argv)
