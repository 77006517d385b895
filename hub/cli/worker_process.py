"""``hub worker-process`` (hidden): one child worker of ``hub start --workers N``, the child's side of
``hub.cli.worker_pool``.

It reads its settings as one JSON line on standard input (``ChildSpec``), joins the worker group over the store's
Kafka listener, serves its private REST API on a free port of the REST host (its worker id and the URL the other
workers forward to), prints ``ready URL`` once it has its first assignment, and runs until SIGTERM, SIGINT or the
end of standard input (the parent gone), then stops its tasks and leaves the group. Runs on the main thread; a
daemon thread watches standard input.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from typing import Any

import click

from hub.cli.group import cli
from hub.cli.wiring import (
    configure_logging,
    kafka_clients,
    logger,
    start_herder,
    start_rest,
    stop_on_signals,
    wait_for_signal,
    worker_config,
    worker_url,
)
from hub.cli.worker_pool import READY_PREFIX


@cli.command("worker-process", hidden=True)
def worker_process() -> None:
    """A child worker of `hub start --workers N`; not for direct use (its settings come on standard input)."""
    line = sys.stdin.buffer.readline()
    try:
        spec: dict[str, Any] = json.loads(line)
    except json.JSONDecodeError:
        raise click.ClickException("worker-process reads its settings from `hub start` on standard input") from None
    configure_logging(spec["log_level"], name=f"worker-{spec['index']}")
    stop = stop_on_signals()
    threading.Thread(target=_stop_at_end_of_input, args=(stop,), name="hub-parent-watch", daemon=True).start()

    listener = (spec["rest_host"], _free_port(spec["rest_host"]))
    raw = {**spec["config"], "rest.advertised.port": str(listener[1])}
    config = worker_config(raw)
    clients = kafka_clients(spec["bootstrap"], config, node_access=spec["store_access"])
    herder = start_herder(clients, config, worker_url(config, listener), local=False, distributed=True)
    rest = None
    try:
        rest = start_rest(herder, config, listener)
        try:
            herder.wait_until_ready(int(config["rebalance.timeout.ms"]) / 1000)
        except Exception as exc:  # still in the group: it keeps trying, and says so
            logger.warning("no assignment yet: %s", exc)
        print(f"{READY_PREFIX}{worker_url(config, listener)}", flush=True)
        wait_for_signal(stop)
    finally:
        if rest is not None:
            rest.stop()
        herder.stop()


def _stop_at_end_of_input(stop: threading.Event) -> None:
    # The raw descriptor, not sys.stdin: a daemon thread blocked inside a buffered reader's lock makes the
    # interpreter's shutdown abort.
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass
    if not stop.is_set():
        logger.warning("hub start has gone; stopping")
    stop.set()


def _free_port(host: str) -> int:
    """A port free on ``host`` now (the REST server binds it a moment later; the parent holds no port for it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
