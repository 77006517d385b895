"""The commands that run Hub's servers: ``hub start`` (everything in one process), ``hub worker`` (a distributed
worker), ``hub standalone`` (Kafka Connect's standalone mode), ``hub log serve`` (the store alone) and ``hub demo``
(throwaway source and sink servers for the quickstart).

Each parses its options, builds its parts through ``hub.cli.wiring`` and runs until SIGTERM or Ctrl-C, then stops
them in reverse order. The main thread waits for the signal (serving the Kafka listener on its event loop, for
``hub start`` and ``hub log serve``); the worker and the REST API run on threads of their own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hub.cli.group import (
    DEFAULT_DATA_DIR,
    DEFAULT_KAFKA_LISTENER,
    DEFAULT_REST_LISTENER,
    LISTENER,
    LOG_LEVELS,
    cli,
    parse_pairs,
)
from hub.cli.wiring import (
    announce_ready,
    configure_logging,
    configured_rest_listener,
    kafka_clients,
    logger,
    provider_defaults,
    read_connector_file,
    read_properties,
    serve_store,
    start_herder,
    start_registry,
    start_rest,
    stop_on_signals,
    store_metrics,
    submit,
    wait_for_signal,
    worker_config,
    worker_store_access,
    worker_url,
)
from hub.cli.worker_pool import start_worker_pool

log_level_option = click.option(
    "--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="INFO", show_default=True
)


store_property_option = click.option(
    "-o",
    "--property",
    "properties",
    multiple=True,
    metavar="KEY=VALUE",
    help="A Kafka broker setting of the store, e.g. num.partitions=3, log.retention.ms=3600000, or a cluster's "
    "node.id and controller.quorum.voters (docs/replication.md); repeatable.",
)


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    envvar="HUB_DATA_DIR",
    help="Directory of the embedded store (or $HUB_DATA_DIR).",
)
@click.option(
    "--rest-listener",
    type=LISTENER,
    default=DEFAULT_REST_LISTENER,
    show_default=True,
    envvar="HUB_REST_LISTENER",
    help="Where the REST API listens (or $HUB_REST_LISTENER).",
)
@click.option(
    "--kafka-listener",
    type=LISTENER,
    default=DEFAULT_KAFKA_LISTENER,
    show_default=True,
    envvar="HUB_KAFKA_LISTENER",
    help="Where the Kafka protocol listener listens (or $HUB_KAFKA_LISTENER).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Worker properties file (Kafka Connect's names).",
)
@click.option(
    "--remote-workers/--no-remote-workers",
    default=False,
    show_default=True,
    envvar="HUB_REMOTE_WORKERS",
    help="Let `hub worker` processes join this worker's cluster over the Kafka listener (or $HUB_REMOTE_WORKERS). "
    "Off: the worker's config, offsets and status topics are internal and the listener refuses clients' writes "
    "to them.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=lambda: len(os.sched_getaffinity(0)),
    show_default="one per core",
    envvar="HUB_WORKERS",
    help="Worker processes (or $HUB_WORKERS) that join this process's worker group over the store and share "
    "connectors and tasks, this one keeping the store and the REST API; 1 runs everything in this process.",
)
@store_property_option
@log_level_option
@click.argument("connector_configs", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
def start(
    data_dir: Path,
    rest_listener: tuple[str, int],
    kafka_listener: tuple[str, int],
    config_file: Path | None,
    remote_workers: bool,
    workers: int,
    properties: tuple[str, ...],
    log_level: str,
    connector_configs: tuple[Path, ...],
) -> None:
    """Run Hub: embedded store, Kafka listener, workers and REST API.

    The worker keeps connector configs, offsets and statuses in the store's internal topics, so a restart
    resumes every connector. The worker is in a group (group.id, default connect-cluster) that `hub worker`
    processes join with --bootstrap-servers pointed at the Kafka listener when --remote-workers is given (without
    it and with --workers 1, those topics are internal: only this process writes them). Runs until SIGTERM or
    Ctrl-C, then stops the tasks (committing their offsets) and closes the store. Connector config files given as
    arguments (JSON or properties, as for `hub standalone`) are created, or updated when they exist. The REST API
    (Kafka Connect's) listens on --rest-listener.

    With --workers N (default: one per core) N child processes run the connectors and tasks, joining the group
    over the Kafka listener, so they use every core while this process keeps the store; the REST API answers on
    --rest-listener for all of them, and SIGTERM or Ctrl-C stops them all. A child that dies is replaced and its
    tasks move (docs/runtime.md). --workers 1 runs everything in this one process.

    With -o node.id=N -o controller.quorum.voters=... the store is one node of a replicated cluster
    (docs/replication.md): each node's worker then joins the same worker group over the Kafka protocol, so three
    `hub start`s on three machines are one store and one Connect cluster.
    """
    configure_logging(log_level)
    raw = read_properties(config_file) if config_file else {}
    raw = {**provider_defaults(raw, data_dir), **raw}
    config = worker_config(raw)
    # With worker processes this one runs the store; its worker answers REST and runs work only when it is alone.
    own_config = worker_config({**raw, "hub.worker.runs.work": "false"}) if workers > 1 else config
    url = worker_url(config, rest_listener)
    submitted = [read_connector_file(path) for path in connector_configs]

    clustered = any(prop.split("=", 1)[0].strip() == "controller.quorum.voters" for prop in properties)

    def run_worker(node: Any, server: Any) -> Callable[[], None]:
        from hub.log.client.embedded import EmbeddedClients

        # A cluster's worker group spans its nodes, so it meets over the Kafka protocol; with worker processes so
        # does this standby worker, as its children do: should it run work while alone, librdkafka encodes and
        # decodes batches in C, the embedded clients in Python on the core the store needs (architecture.md).
        if clustered or workers > 1:
            bootstrap, access = worker_store_access(node, kafka_listener)
            clients: Any = kafka_clients(bootstrap, config, node_access=access)
        else:
            clients = EmbeddedClients(node.broker)
        herder = start_herder(clients, own_config, url, local=False, distributed=True)
        registry = None
        pool = None
        try:
            # The children join before anything is submitted or the REST API answers, so work lands on them at
            # once rather than on this standby worker, alone in the group until then, and moving a second later.
            pool = start_worker_pool(node, raw, kafka_listener, rest_listener, log_level, workers if workers > 1 else 0)
            if submitted:
                herder.wait_until_ready(int(config["rebalance.timeout.ms"]) / 1000)
            submit(herder, submitted)
            registry = start_registry(clients, herder)
            rest = start_rest(herder, config, rest_listener, registry, store_metrics(node, server))
            listeners = node.config.listeners
            first = listeners.listeners[0] if listeners is not None else None
            shown = (first.advertised or (first.host, first.port)) if first is not None else kafka_listener
            announce_ready(herder, config, url, shown, data_dir)
        except BaseException:
            if pool is not None:
                pool.stop()
            if registry is not None:
                registry.stop()
            herder.stop()
            raise

        def stop() -> None:
            if pool is not None:
                pool.signal_stop()
            rest.stop()
            registry.stop()
            herder.stop()
            if pool is not None:
                pool.stop()

        return stop

    worker_topics = [config[key] for key in ("config.storage.topic", "offset.storage.topic", "status.storage.topic")]
    from hub.registry.storage import SCHEMAS_TOPIC

    worker_topics.append(SCHEMAS_TOPIC)  # written by the registry of the worker alongside, through its own clients
    if config["rest.auth.file"] and not _listeners_authenticate(properties, kafka_listener):
        logger.warning(
            "REST authentication is on, but the Kafka listener on %s:%d is not authenticated: any client that reaches "
            "it can read every topic, including the connector configs in %s (with any password written literally in "
            "a config; ${provider:...} references stay references), and write every topic %s",
            *kafka_listener,
            worker_topics[0],
            "(the worker's own topics too, as worker processes or --remote-workers write them)"
            if remote_workers or workers > 1
            else "except the worker's own and __consumer_offsets",
        )
    internal = () if remote_workers or clustered or workers > 1 else worker_topics
    serve_store(data_dir, kafka_listener, _start_defaults(properties), alongside=run_worker, internal_topics=internal)


def _start_defaults(properties: tuple[str, ...]) -> tuple[str, ...]:
    """``hub start``'s store settings: as Kafka's shipped ``config/server.properties``, a new consumer group is
    balanced at once (``group.initial.rebalance.delay.ms=0``; the broker default, 3 s, holds every new sink
    connector's first records back that long); ``-o`` sets it otherwise."""
    given = {prop.split("=", 1)[0].strip() for prop in properties}
    return (
        properties
        if "group.initial.rebalance.delay.ms" in given
        else ("group.initial.rebalance.delay.ms=0", *properties)
    )


def _listeners_authenticate(properties: tuple[str, ...], kafka_listener: tuple[str, int]) -> bool:
    """Whether the store's ``listeners`` property makes every Kafka client authenticate (a bad one is reported when
    the store starts)."""
    from hub.log.errors import LogError
    from hub.log.security.listeners import listener_config

    pairs = parse_pairs(properties, "--property")
    if "listeners" not in pairs:
        return False
    try:
        return all(listener.authenticates for listener in listener_config(pairs, kafka_listener).listeners)
    except LogError:
        return False


@cli.group()
def log() -> None:
    """Hub's topic store."""


@log.command("serve")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory of the store.",
)
@click.option(
    "--listener",
    type=LISTENER,
    default=DEFAULT_KAFKA_LISTENER,
    show_default=True,
    help="Where the Kafka protocol listener listens.",
)
@log_level_option
@store_property_option
def log_serve(data_dir: Path, listener: tuple[str, int], log_level: str, properties: tuple[str, ...]) -> None:
    """Serve the store over the Kafka wire protocol until SIGTERM or Ctrl-C."""
    configure_logging(log_level)
    serve_store(data_dir, listener, properties)


@cli.command()
@click.option(
    "--bootstrap-servers",
    required=True,
    metavar="HOST:PORT[,HOST:PORT…]",
    help="Kafka-protocol store the worker group meets in.",
)
@click.option("--group-id", required=True, help="Worker group id (Connect's group.id).")
@click.option(
    "--rest-listener",
    type=LISTENER,
    default=DEFAULT_REST_LISTENER,
    show_default=True,
    help="Where this worker's REST API listens.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Worker properties file (Kafka Connect's names).",
)
@log_level_option
def worker(
    bootstrap_servers: str, group_id: str, rest_listener: tuple[str, int], config_file: Path | None, log_level: str
) -> None:
    """Run a distributed worker that shares connectors and tasks with its group.

    Any Kafka-protocol store works: `hub start`'s or `hub log serve`'s listener, tansu, Apache Kafka. Workers
    with the same --group-id form one cluster; their internal topics come from the worker config (Connect's
    config.storage.topic, offset.storage.topic, status.storage.topic). Runs until SIGTERM or Ctrl-C, then stops
    its tasks and leaves the group so the others take its work over at once.
    """
    configure_logging(log_level)
    stop = stop_on_signals()
    raw = read_properties(config_file) if config_file else {}
    config = worker_config({**raw, "bootstrap.servers": bootstrap_servers, "group.id": group_id})
    clients = kafka_clients(bootstrap_servers, config)
    herder = start_herder(clients, config, worker_url(config, rest_listener), local=False, distributed=True)
    rest = registry = None
    try:
        registry = start_registry(clients, herder)
        rest = start_rest(herder, config, rest_listener, registry)
        wait_for_signal(stop)
    finally:
        if rest is not None:
            rest.stop()
        if registry is not None:
            registry.stop()
        herder.stop()


@cli.command()
@click.argument("worker_properties", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("connector_configs", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@log_level_option
def standalone(worker_properties: Path, connector_configs: tuple[Path, ...], log_level: str) -> None:
    """Run connectors from files in a single standalone worker, as Kafka Connect's standalone mode.

    The worker uses the Kafka-protocol store at bootstrap.servers (default 127.0.0.1:9092, the listener of
    `hub start` or `hub log serve`); connector configs live in memory and source offsets in
    offset.storage.file.filename when set. Connector files are JSON ({"name", "config"} or a flat map) or
    properties. Runs until SIGTERM or Ctrl-C.
    """
    configure_logging(log_level)
    stop = stop_on_signals()
    config = worker_config(read_properties(worker_properties))
    connectors_to_run = [read_connector_file(path) for path in connector_configs]
    bootstrap = str(config["bootstrap.servers"] or DEFAULT_KAFKA_LISTENER)
    clients = kafka_clients(bootstrap, config)
    listener = configured_rest_listener(config)
    herder = start_herder(clients, config, f"{listener[0]}:{listener[1]}", local=True)
    rest = registry = None
    try:
        submit(herder, connectors_to_run)
        registry = start_registry(clients, herder)
        rest = start_rest(herder, config, listener, registry)
        wait_for_signal(stop)
    finally:
        if rest is not None:
            rest.stop()
        if registry is not None:
            registry.stop()
        herder.stop()


@cli.command()
def demo() -> None:
    """Start throwaway servers for trying Hub: PostgreSQL with wal_level=logical (Debian's postgresql package) and
    an Elasticsearch-API server (noida-db, pip install 'hub[demo]'), each on a free port of 127.0.0.1.

    Prints the export lines for the quickstart's connector configs: run them in the shell that starts Hub, before
    starting it. Runs until SIGTERM or Ctrl-C, then stops both servers and removes their data.
    """
    from hub.demo.process import ServerUnavailableError
    from hub.demo.run import serve_demo

    try:
        serve_demo(click.echo)
    except ServerUnavailableError as exc:
        raise click.ClickException(str(exc)) from None
