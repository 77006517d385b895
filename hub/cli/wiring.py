"""How the server commands build and wire Hub's parts: the worker config and connector files they read, the store
node and its Kafka listener, the herder, the REST server, and the wait for SIGTERM or Ctrl-C.

This is the composition root's working half: the only code that knows every layer, and it hands the runtime a
``StoreClients`` so the runtime never imports a store backend. Layers are imported inside the functions that need
them, so the client commands start without loading the server. Every failure the user can fix ends as a
``click.ClickException`` naming it. Functions run on the command's main thread, except what ``serve_store`` runs
``alongside`` the listener (on a worker thread of its event loop).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hub import __version__
from hub.cli.group import DEFAULT_REST_URL, LISTENER, parse_pairs
from hub.tuning import tune_garbage_collector

if TYPE_CHECKING:
    from hub.runtime.herder import Herder

T = TypeVar("T")

#: Where `hub start`'s file and dir config providers read, under the data directory.
SECRETS_DIR = "secrets"

logger = logging.getLogger("hub")


def configure_logging(level: str, name: str = "") -> None:
    """Log lines on stderr; ``name`` (a worker process's) goes before each, so children's lines can be told apart."""
    prefix = f"[{name}] " if name else ""
    logging.basicConfig(
        level=level.upper(), format=f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s", stream=sys.stderr
    )


def config_call(action: Callable[[], T]) -> T:
    """``action()``, with a configuration error turned into the command's error."""
    from hub.sdk.errors import ConnectError

    try:
        return action()
    except ConnectError as exc:
        raise click.ClickException(str(exc)) from None


def read_properties(path: Path) -> dict[str, str]:
    from hub.runtime.config_providers import read_properties as read

    return config_call(lambda: read(path))


def worker_config(raw: dict[str, str]) -> Any:
    from hub.runtime.worker_config import WorkerConfig

    return config_call(lambda: WorkerConfig.parse(raw))


def kafka_clients(bootstrap_servers: str, config: Any, node_access: dict[str, str] | None = None) -> Any:
    """The Kafka-protocol store clients for ``bootstrap_servers``, authenticating as the worker config says
    (``security.protocol``, ``sasl.*``, ``ssl.*`` with Kafka's client names); a config that says nothing of it
    uses ``node_access`` (how `hub start`'s own node reaches its inter-broker listener, worker_store_access)."""
    from hub.log.client.kafka import KafkaClients
    from hub.log.client.kafka.security_config import SecurityConfigError, client_security

    try:
        security = client_security(config.raw)
    except SecurityConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return KafkaClients(bootstrap_servers, {"log_level": "3", **(security or node_access or {})})


def provider_defaults(raw: dict[str, str], data_dir: Path) -> dict[str, str]:
    """`hub start`'s allowed.paths for the file and dir config providers the worker config leaves without one:
    DATA_DIR/secrets, created readable by its owner only, so references read what was put there for them and
    nothing else the process can read (docs/runtime.md, "Config providers")."""
    unset = [name for name in ("file", "dir") if f"config.providers.{name}.param.allowed.paths" not in raw]
    if not unset:
        return {}
    secrets = (data_dir / SECRETS_DIR).resolve()
    try:
        secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create {secrets}: {exc.strerror}") from None
    return {f"config.providers.{name}.param.allowed.paths": str(secrets) for name in unset}


def read_connector_file(path: Path) -> tuple[str, dict[str, str]]:
    """A connector config file: JSON as POST /connectors takes it, a flat JSON map, or a properties file."""
    text = path.read_text()
    if path.suffix == ".json" or text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise click.ClickException(f"{path} must hold a JSON object")
        config = document.get("config", document)
        name = document.get("name") or config.get("name")
    else:
        config = read_properties(path)
        name = config.get("name")
    if not name:
        raise click.ClickException(f"{path} does not name its connector ('name')")
    return str(name), {str(k): str(v) for k, v in config.items()}


def worker_url(config: Any, listener: tuple[str, int]) -> str:
    """This worker's id and the URL other workers forward to: rest.advertised.* when set, else the listener."""
    scheme = "https" if config["rest.ssl.cert.file"] else "http"
    host = config["rest.advertised.host.name"] or listener[0]
    port = config["rest.advertised.port"] or listener[1]
    return f"{scheme}://{host}:{port}"


def configured_rest_listener(config: Any) -> tuple[str, int]:
    """The first of the worker config's ``listeners`` (``http://host:port``), as HOST:PORT."""
    first = (config["listeners"] or ["http://127.0.0.1:8083"])[0]
    return LISTENER.convert(first.split("://", 1)[-1], None, None)


def start_herder(clients: Any, config: Any, worker_id: str, *, local: bool, distributed: bool = False) -> Herder:
    """A started herder on ``clients``: standalone with topic-backed or (``local``) in-process stores, or a
    distributed worker of ``group.id``."""
    from hub.runtime.distributed.herder import DistributedHerder
    from hub.runtime.plugins import Plugins
    from hub.runtime.standalone import StandaloneHerder
    from hub.runtime.stores.factory import local_stores, topic_stores

    plugins = Plugins.discover()
    stores = local_stores(clients, config) if local else topic_stores(clients, config)
    kind = DistributedHerder if distributed else StandaloneHerder
    herder = config_call(lambda: kind(worker_id, config, plugins, clients, *stores))
    config_call(herder.start)
    logger.info("worker %s running, store %s", worker_id, clients.location)
    return herder


def submit(herder: Herder, connectors_to_run: list[tuple[str, dict[str, str]]]) -> None:
    """Create the connectors of config files, or update the ones that exist."""
    for name, connector in connectors_to_run:
        config_call(partial(herder.put_connector_config, name, connector, allow_replace=True))
        logger.info("connector %s submitted", name)


def start_registry(clients: Any, herder: Herder) -> Any:
    """The schema registry over the store's ``_schemas`` topic, replayed; in a cluster only the leader writes."""
    from hub.registry.storage import topic_registry

    registry = topic_registry(clients, gate=herder.check_writer)
    config_call(registry.start)
    return registry


def store_metrics(node: Any, server: Any) -> Any:
    """The metrics of the store ``node`` and its Kafka listener ``server``, for ``GET /metrics``."""
    from hub.log.metrics import StoreCollector

    return StoreCollector(node.broker, requests=server.request_stats, connections=lambda: server.connection_count)


def start_rest(
    herder: Herder, config: Any, listener: tuple[str, int], registry: Any = None, store_collector: Any = None
) -> Any:
    """The REST API over ``herder`` (and the schema registry ``registry``) on ``listener``, with TLS and
    authentication when the worker config asks; ``GET /metrics`` serves the worker's metrics, and with
    ``store_collector`` the store's."""
    from prometheus_client.registry import CollectorRegistry

    from hub.rest.app import create_app
    from hub.rest.auth import AuthConfigError, Credentials
    from hub.rest.server import RestServer
    from hub.runtime.metrics import RuntimeCollector
    from hub.runtime.store_browser import StoreBrowser

    auth_file = config["rest.auth.file"]
    try:
        credentials = Credentials.load(Path(auth_file)) if auth_file else None
    except AuthConfigError as exc:
        raise click.ClickException(str(exc)) from None
    metrics = CollectorRegistry(auto_describe=False)
    runtime_metrics = RuntimeCollector(herder)
    metrics.register(runtime_metrics)
    if store_collector is not None:
        metrics.register(store_collector)
    cert, key = config["rest.ssl.cert.file"], config["rest.ssl.key.file"]
    if bool(cert) != bool(key):
        raise click.ClickException("HTTPS needs both rest.ssl.cert.file and rest.ssl.key.file")
    app = create_app(
        herder,
        version=__version__,
        credentials=credentials,
        body_timeout_s=config["rest.request.body.timeout.ms"] / 1000,
        public_health=config["rest.auth.health.public"],
        registry=registry,
        store=StoreBrowser(herder.clients) if hasattr(herder, "clients") else None,
        metrics_registry=metrics,
    )
    try:
        server = RestServer(
            app,
            *listener,
            certfile=Path(cert) if cert else None,
            keyfile=Path(key) if key else None,
            on_stop=runtime_metrics.close,  # its admin client, opened by the first scrape
        )
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot serve the REST API on {listener[0]}:{listener[1]}: {exc}") from None
    return server


def announce_ready(herder: Any, config: Any, rest_url: str, kafka_listener: tuple[str, int], data_dir: Path) -> None:
    """Print the ready line on stdout once the worker takes writes (hub.ready_line)."""
    from hub.ready_line import announce_when_ready, ready_line

    line = ready_line(rest_url, kafka_listener, data_dir, DEFAULT_REST_URL)
    announce_when_ready(herder, line, click.echo, int(config["rebalance.timeout.ms"]) / 1000)


def worker_store_access(node: Any, kafka_listener: tuple[str, int]) -> tuple[str, dict[str, str]]:
    """Where a clustered `hub start`'s worker reaches its store and how: ``kafka_listener``, or with configured
    listeners the inter-broker listener with its protocol and credentials (hub.log.security.listeners)."""
    listeners = node.config.listeners
    if listeners is None:
        host = "127.0.0.1" if kafka_listener[0] in ("0.0.0.0", "::", "") else kafka_listener[0]
        return f"{host}:{kafka_listener[1]}", {}
    listener = listeners.listener(listeners.inter_broker)
    host, port = listener.advertised or (listener.host or "127.0.0.1", listener.port)
    return f"{host}:{port}", listeners.inter_broker_client()


def single_listener_advertised(config: Any, properties: dict[str, str]) -> tuple[str | None, int | None]:
    """What a single node's one PLAINTEXT listener (no ``listeners`` property) advertises: ``advertised.listeners``'
    endpoint when set, else its own address (a cluster node registers it instead: hub.log.cluster.settings)."""
    from hub.log.cluster.settings import parse_advertised

    if config.listeners is not None or config.cluster is not None or not properties.get("advertised.listeners"):
        return None, None
    return parse_advertised(properties["advertised.listeners"])


def serve_store(
    data_dir: Path,
    listener: tuple[str, int],
    properties: tuple[str, ...] = (),
    alongside: Callable[[Any, Any], Callable[[], None]] | None = None,
    internal_topics: Iterable[str] = (),
) -> None:
    """Open the store node, serve the Kafka protocol on ``listener`` (and run ``alongside(node, server)``, e.g. a
    until SIGTERM/SIGINT, then stop in reverse order. ``internal_topics`` are registered before the listener opens,
    so no Kafka client ever writes them. With a ``listeners`` property the node serves those listeners instead of
    ``listener`` (TLS, SASL; SCRAM logins are checked against the node's SCRAM credential store)."""
    from hub.log.errors import LogError
    from hub.log.node import LogNode, node_config
    from hub.log.server import KafkaServer

    pairs = parse_pairs(properties, "--property")
    try:
        node = LogNode(node_config(data_dir, pairs))
        advertised = single_listener_advertised(node.config, pairs)
    except LogError as exc:
        raise click.BadParameter(str(exc), param_hint="--property") from None
    try:
        for topic in internal_topics:
            node.store.register_internal(topic)
    except LogError as exc:
        raise click.ClickException(f"cannot make {topic!r} an internal topic: {exc}") from None
    try:
        node.open()
    except (LogError, ValueError, OSError) as exc:
        raise click.ClickException(f"cannot open the store in {data_dir}: {exc}") from None

    async def serve() -> None:
        listeners = node.config.listeners
        server = KafkaServer(
            node.broker,
            *listener,
            advertised_host=advertised[0],
            advertised_port=advertised[1],
            listeners=listeners,
            authorizer=node.authorizer,
            scram_credentials=node.scram_credentials,
            max_request_bytes=node.config.socket_request_max_bytes,
        )
        try:
            await server.start()
        except OSError as exc:
            if listeners is not None:
                raise click.ClickException(f"cannot listen: {exc.strerror}") from None
            raise click.ClickException(f"cannot listen on {listener[0]}:{listener[1]}: {exc.strerror}") from None
        except LogError as exc:
            raise click.BadParameter(str(exc), param_hint="--property") from None
        reachable = listener if listeners is None else server.address(listeners.inter_broker)
        try:
            await asyncio.to_thread(node.join_cluster, *reachable)
        except (LogError, ValueError, OSError) as exc:
            await server.stop()
            raise click.ClickException(f"cannot join the cluster: {exc}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _stopper(stop, sig))
        served = ", ".join(
            f"{each.name} {each.host or '*'}:{server.ports[each.name]}" for each in server.listeners.listeners
        )
        logger.info("store ready in %s, Kafka listeners: %s", data_dir.resolve(), served)
        stop_alongside = await asyncio.to_thread(alongside, node, server) if alongside else None
        try:
            await stop.wait()
        finally:
            if stop_alongside is not None:
                await asyncio.to_thread(stop_alongside)
            await server.stop()

    tune_garbage_collector()
    try:
        asyncio.run(serve())
    finally:
        node.close()


def _stopper(stop: asyncio.Event, sig: signal.Signals) -> Callable[[], None]:
    def handle() -> None:
        logger.info("received %s, shutting down", sig.name)
        stop.set()

    return handle


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM and SIGINT set from now on. A command that serves no store calls this first, so a
    signal that comes while it is still starting ends it cleanly once started, not by the signal's default action."""
    stop = threading.Event()

    def handle(number: int, _frame: object) -> None:
        logger.info("received %s, shutting down", signal.Signals(number).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)
    return stop


def wait_for_signal(stop: threading.Event) -> None:
    """Block until ``stop`` is set (by stop_on_signals' handlers, or by the command's own parts, which run on
    threads of their own)."""
    tune_garbage_collector()
    stop.wait()
