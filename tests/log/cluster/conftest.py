"""The ``store_cluster`` fixture: clusters of `hub log serve` processes, ended when the test ends, with every
node's log tail attached to a failed test's report."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Mapping
from typing import Any

import pytest

from tests.harness.netns import Network
from tests.log.cluster.cluster_harness import StoreCluster

CLUSTERS = pytest.StashKey[list[StoreCluster]]()

ClusterFactory = Callable[..., StoreCluster]


@pytest.fixture
def store_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterFactory]:
    """``make(size=3, *, network=None, options=None, quorum=None)`` starts a StoreCluster and returns it."""
    clusters = request.node.stash.setdefault(CLUSTERS, [])

    def make(
        size: int = 3,
        *,
        network: Network | None = None,
        options: Mapping[str, str] | None = None,
        quorum: bool | None = None,
    ) -> StoreCluster:
        cluster = StoreCluster(
            tmp_path_factory.mktemp("cluster"), size, network=network, options=options, quorum=quorum
        )
        clusters.append(cluster)
        cluster.start()
        return cluster

    try:
        yield make
    finally:
        for cluster in clusters:
            cluster.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for number, cluster in enumerate(item.stash.get(CLUSTERS, []), 1):
            for node_id, tail in cluster.log_tails().items():
                report.sections.append((f"cluster {number} node {node_id} log (tail)", tail))
