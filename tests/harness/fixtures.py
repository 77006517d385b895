"""Session-scoped fixtures that start real servers once per test run and stop them at the end.

Each fixture picks its server in this order:

1. an already running server named by an environment variable (``HUB_TEST_POSTGRES_URL``,
   ``HUB_TEST_MYSQL_URL``, ``HUB_TEST_S3_URL``, ``HUB_TEST_ELASTICSEARCH_URL``, ``HUB_TEST_OPENSEARCH_URL``,
   ``HUB_TEST_KAFKA_BOOTSTRAP``, ``HUB_TEST_SALESFORCE_URL``);
2. the genuine image through testcontainers, when ``HUB_TEST_CONTAINERS=1`` and Docker answers;
3. a local server started from installed packages on a free port of 127.0.0.1, data in a temporary directory.

A server that cannot be started fails the tests that need it with a message saying what is missing;
it is never skipped. Start-up times are printed in the terminal summary.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest

from hub.demo.postgres import LocalPostgres
from hub.demo.search import LocalSearch
from tests.harness.containers import ContainerServer, containers_wanted
from tests.harness.hub import HubServer
from tests.harness.kafka import LocalTansu
from tests.harness.mariadb import LocalMariaDb
from tests.harness.netns import Network, netns_unavailable
from tests.harness.process import ServerUnavailableError, free_port
from tests.harness.s3 import LocalS3
from tests.harness.salesforce.harness import ENV_PREFIX, LocalSalesforce, SalesforceServer
from tests.harness.search import LocalOpenSearch
from tests.harness.servers import ORIGIN_ENV, HttpServer, KafkaServer, S3Server, SqlServer
from tests.harness.store_cluster import ClusterFactory, StoreCluster

T = TypeVar("T")

STARTED: dict[str, tuple[str, float]] = {}

CLUSTERS = pytest.StashKey[list[StoreCluster]]()
LOGS = pytest.StashKey[list[tuple[str, Path]]]()


def attach_log(request: pytest.FixtureRequest, title: str, path: Path) -> None:
    """Show the tail of the log file ``path`` in the report of the requesting test, should it fail."""
    request.node.stash.setdefault(LOGS, []).append((title, path))


class Launcher(Protocol[T]):
    def start(self) -> T: ...

    def stop(self) -> None: ...


def _serve(
    name: str,
    env_var: str,
    from_env: Callable[[str], T],
    local: Callable[[], Launcher[T]],
    container: Callable[[ContainerServer], T],
) -> Iterator[T]:
    override = os.environ.get(env_var)
    if override:
        began = time.monotonic()
        named = from_env(override)
        STARTED[name] = (ORIGIN_ENV, time.monotonic() - began)
        yield named
        return
    owner: ContainerServer | Launcher[T]
    if containers_wanted():
        owner = ContainerServer()
        start = partial(container, owner)
    else:
        owner = local()
        start = owner.start
    try:
        server = start()
    except ServerUnavailableError as exc:
        owner.stop()
        pytest.fail(f"cannot start {name}: {exc}", pytrace=False)
    STARTED[name] = (getattr(server, "origin", ""), getattr(server, "startup_s", 0.0))
    try:
        yield server
    finally:
        owner.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[SqlServer]:
    """PostgreSQL 15 with wal_level=logical and the wal2json plugin allowed."""
    yield from _serve(
        "postgres",
        "HUB_TEST_POSTGRES_URL",
        partial(SqlServer.from_url, "postgresql"),
        LocalPostgres,
        ContainerServer.postgres,
    )


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[SqlServer]:
    """MariaDB (MySQL dialect) with database ``hub`` for user ``hub``."""
    yield from _serve(
        "mariadb",
        "HUB_TEST_MYSQL_URL",
        partial(SqlServer.from_url, "mysql"),
        LocalMariaDb,
        ContainerServer.mariadb,
    )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """An S3 endpoint: moto locally, MinIO in a container."""
    yield from _serve("s3", "HUB_TEST_S3_URL", S3Server.from_url, LocalS3, ContainerServer.minio)


@pytest.fixture(scope="session")
def salesforce_server() -> Iterator[SalesforceServer]:
    """A Salesforce API: a real org named by ``HUB_TEST_SALESFORCE_*`` variables, else the local test server
    (tests.harness.salesforce; there is no container image of Salesforce)."""
    if os.environ.get(ENV_PREFIX + "URL"):
        STARTED["salesforce"] = (ORIGIN_ENV, 0.0)
        yield SalesforceServer.from_env()
        return
    owner = LocalSalesforce()
    try:
        server = owner.start()
    except ServerUnavailableError as exc:
        owner.stop()
        pytest.fail(f"cannot start salesforce: {exc}", pytrace=False)
    STARTED["salesforce"] = (server.origin, server.startup_s)
    try:
        yield server
    finally:
        owner.stop()


@pytest.fixture(scope="session")
def elasticsearch_server() -> Iterator[HttpServer]:
    """An Elasticsearch-API server: noida-db locally, Elasticsearch 8 in a container."""
    yield from _serve(
        "elasticsearch",
        "HUB_TEST_ELASTICSEARCH_URL",
        lambda url: HttpServer(name="elasticsearch", url=url.rstrip("/"), origin=ORIGIN_ENV),
        LocalSearch,
        ContainerServer.elasticsearch,
    )


@pytest.fixture(scope="session")
def opensearch_server() -> Iterator[HttpServer]:
    """An OpenSearch-API server: osmem-server locally, OpenSearch 2 in a container."""
    yield from _serve(
        "opensearch",
        "HUB_TEST_OPENSEARCH_URL",
        lambda url: HttpServer(name="opensearch", url=url.rstrip("/"), origin=ORIGIN_ENV),
        LocalOpenSearch,
        ContainerServer.opensearch,
    )


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaServer]:
    """A Kafka-protocol broker nobody here wrote: tansu locally, Apache Kafka in a container."""
    yield from _serve(
        "kafka",
        "HUB_TEST_KAFKA_BOOTSTRAP",
        lambda bootstrap: KafkaServer(name="kafka", bootstrap=bootstrap, origin=ORIGIN_ENV),
        LocalTansu,
        ContainerServer.kafka,
    )


@pytest.fixture(scope="session")
def hub_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    """Hub's own `hub log serve`, for tests with Kafka clients (fast group settings)."""
    base = tmp_path_factory.mktemp("hub-server")
    server = HubServer(base / "data", free_port(), base / "server.log")
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


@pytest.fixture
def network_namespaces() -> Iterator[Callable[[int], Network]]:
    """``make(count)`` creates ``count`` network namespaces on one bridge (tests.harness.netns), all removed when
    the test ends, failed or not; the test skips with the reason when this machine cannot make them."""
    reason = netns_unavailable()
    if reason:
        pytest.skip(reason)
    made: list[Network] = []

    def make(count: int) -> Network:
        made.append(Network(count))
        return made[-1]

    try:
        yield make
    finally:
        for network in made:
            network.close()


@pytest.fixture
def store_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterFactory]:
    """``make(size=3, *, network=None, options=None, quorum=None)`` starts a StoreCluster of `hub log serve`
    processes (tests.harness.store_cluster) and returns it; every cluster is ended when the test ends, and a failed
    test's report gets every node's log tail."""
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
        for title, path in item.stash.get(LOGS, []):
            try:
                tail = path.read_text(errors="replace")[-4000:]
            except OSError as exc:
                tail = f"(unreadable: {exc})"
            report.sections.append((f"{title} (tail)", tail))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if STARTED:
        terminalreporter.section("test servers")
        for name, (origin, seconds) in sorted(STARTED.items()):
            terminalreporter.write_line(f"{name}: {origin}, ready in {seconds:.2f} s")
