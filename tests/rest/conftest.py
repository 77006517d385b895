"""A `hub start` process for the REST tests, an in-process REST API over a standalone herder (for tests that
need the server's log records or its app options), and HTTP clients pointed at them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import __version__
from hub.log.client.embedded import EmbeddedClients
from hub.log.node import LogNode, node_config
from hub.registry.storage import topic_registry
from hub.rest.app import create_app
from hub.rest.server import RestServer
from hub.runtime.plugins import Plugins
from hub.runtime.standalone import StandaloneHerder
from hub.runtime.stores.factory import local_stores
from hub.runtime.worker_config import WorkerConfig
from tests.harness.process import free_port


@dataclass
class HubStart:
    process: subprocess.Popen[bytes]
    url: str
    kafka: str
    log_path: Path
    work_dir: Path


def launch_hub(work_dir: Path, *extra: str, config: str = "", scheme: str = "http") -> HubStart:
    """Start `hub start` on free ports without waiting for it (nodes of a cluster come up only together)."""
    (work_dir / "worker.properties").write_text("offset.flush.interval.ms=200\n" + config)
    return _spawn(work_dir, free_port(), free_port(), scheme, extra)


def relaunch_hub(hub: HubStart, *extra: str) -> HubStart:
    """Start `hub start` again on the ports, data directory and worker.properties of ``hub`` (which has ended)."""
    scheme, rest = hub.url.split("://")
    return _spawn(hub.work_dir, int(rest.rsplit(":", 1)[1]), int(hub.kafka.rsplit(":", 1)[1]), scheme, extra)


def _spawn(work_dir: Path, rest_port: int, kafka_port: int, scheme: str, extra: tuple[str, ...]) -> HubStart:
    argv = [
        sys.executable,
        "-m",
        "hub.cli",
        "start",
        "--data-dir",
        str(work_dir / "data"),
        "--rest-listener",
        f"127.0.0.1:{rest_port}",
        "--kafka-listener",
        f"127.0.0.1:{kafka_port}",
        "--config",
        str(work_dir / "worker.properties"),
        *extra,
    ]
    log_path = work_dir / "hub.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
    return HubStart(process, f"{scheme}://127.0.0.1:{rest_port}", f"127.0.0.1:{kafka_port}", log_path, work_dir)


def wait_hub(hub: HubStart, auth: tuple[str, str] | None = None, timeout_s: float = 60) -> HubStart:
    """Wait until the REST API answers /health with 200 (RuntimeError with the log's tail if it never does)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(hub.url + "/health", verify=False, timeout=2, auth=auth).status_code == 200:
                return hub
        except httpx.HTTPError:
            pass
        if hub.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"hub start did not come up:\n{hub.log_path.read_text()[-3000:]}")
        time.sleep(0.1)


def start_hub(
    work_dir: Path, *extra: str, config: str = "", scheme: str = "http", auth: tuple[str, str] | None = None
) -> HubStart:
    return wait_hub(launch_hub(work_dir, *extra, config=config, scheme=scheme), auth)


def stop_hub(hub: HubStart) -> None:
    hub.process.send_signal(signal.SIGTERM)
    assert hub.process.wait(60) == 0, hub.log_path.read_text()[-3000:]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStart]:
    started = start_hub(tmp_path_factory.mktemp("hub-rest"))
    yield started
    stop_hub(started)


@pytest.fixture
def api(hub: HubStart) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        yield client


@dataclass
class LocalApi:
    """A REST API served in this process: its URL (``host``, ``port`` for raw sockets) and a client."""

    client: httpx.Client
    host: str
    port: int
    herder: StandaloneHerder


@contextmanager
def local_api(
    store_dir: Path,
    *,
    broker: dict[str, str] | None = None,
    worker: dict[str, str] | None = None,
    plugins: Sequence[object] = (),
    registry: bool = False,
    **app_options: Any,
) -> Iterator[LocalApi]:
    """A standalone herder over an embedded store (``broker`` properties) with ``worker`` options and the extra
    ``plugins``, and its REST API (with ``registry``, the schema registry's too); ``app_options`` go to
    ``create_app``."""
    node = LogNode(node_config(store_dir, broker or {}))
    node.open()
    clients = EmbeddedClients(node.broker)
    config = WorkerConfig.parse({"offset.flush.interval.ms": "200", **(worker or {})})
    discovered = Plugins.discover(extra=list(plugins))
    herder = StandaloneHerder("w", config, discovered, clients, *local_stores(clients, config))
    herder.start()
    schemas = topic_registry(clients) if registry else None
    if schemas is not None:
        schemas.start()
    server = RestServer(create_app(herder, version=__version__, registry=schemas, **app_options), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            yield LocalApi(client, "127.0.0.1", server.port, herder)
    finally:
        server.stop()
        if schemas is not None:
            schemas.stop()
        herder.stop()
        node.close()
