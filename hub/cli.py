"""The ``hub`` command line: the composition root that builds and wires Hub's parts.

Every error ends the process with one line on stderr (``hub: error: …``) and a non-zero exit code: 2 for bad
arguments, 1 for everything else.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import shutil
import signal
import sys
import textwrap
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hub import __version__
from hub.tuning import tune_garbage_collector

if TYPE_CHECKING:
    from hub.runtime.herder import Herder

T = TypeVar("T")

DEFAULT_REST_LISTENER = "127.0.0.1:8083"
DEFAULT_KAFKA_LISTENER = "127.0.0.1:9092"
DEFAULT_REST_URL = "http://127.0.0.1:8083"
DEFAULT_DATA_DIR = "./hub-data"
#: Where `hub start`'s file and dir config providers read, under the data directory.
SECRETS_DIR = "secrets"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

logger = logging.getLogger("hub")


class Listener(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """A ``HOST:PORT`` pair; the host may be a name, an IPv4 address or a bracketed IPv6 address."""

    name = "HOST:PORT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        text = str(value)
        host, sep, port_text = text.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            self.fail(f"{text!r} is not HOST:PORT with a port from 1 to 65535", param, ctx)
        return host, int(port_text)


LISTENER = Listener()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="hub", message="%(prog)s %(version)s")
def cli() -> None:
    """Hub: a Connect-style integration hub with its own Kafka-protocol topic store.

    `hub start` runs everything in one process: the embedded store with its Kafka listener, a worker and the
    REST API. The other commands run one part, or talk to a running Hub.
    """


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
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="INFO", show_default=True)
@click.argument("connector_configs", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
def start(
    data_dir: Path,
    rest_listener: tuple[str, int],
    kafka_listener: tuple[str, int],
    config_file: Path | None,
    remote_workers: bool,
    log_level: str,
    connector_configs: tuple[Path, ...],
) -> None:
    """Run Hub in one process: embedded store, Kafka listener, worker and REST API.

    The worker keeps connector configs, offsets and statuses in the store's internal topics, so a restart
    resumes every connector. The worker is a cluster of one (group.id, default connect-cluster) that `hub worker`
    processes join with --bootstrap-servers pointed at the Kafka listener when --remote-workers is given (without
    it, those topics are internal: only this process writes them). Runs until SIGTERM or Ctrl-C, then stops
    the tasks (committing their offsets) and closes the store. Connector config files given as arguments (JSON or
    properties, as for `hub standalone`) are created, or updated when they exist. The REST API (Kafka Connect's)
    listens on --rest-listener.
    """
    _configure_logging(log_level)
    raw = _read_properties(config_file) if config_file else {}
    config = _worker_config({**_provider_defaults(raw, data_dir), **raw})
    worker_url = _worker_url(config, rest_listener)
    submitted = [_read_connector_file(path) for path in connector_configs]

    def run_worker(node: Any) -> Callable[[], None]:
        from hub.log.client.embedded import EmbeddedClients

        herder = _start_herder(EmbeddedClients(node.broker), config, worker_url, local=False, distributed=True)
        try:
            if submitted:
                herder.wait_until_ready(int(config["rebalance.timeout.ms"]) / 1000)
            _submit(herder, submitted)
            rest = _start_rest(herder, config, rest_listener)
            _announce_ready(herder, config, worker_url, kafka_listener, data_dir)
        except BaseException:
            herder.stop()
            raise

        def stop() -> None:
            rest.stop()
            herder.stop()

        return stop

    worker_topics = [config[key] for key in ("config.storage.topic", "offset.storage.topic", "status.storage.topic")]
    if config["rest.auth.file"]:
        logger.warning(
            "REST authentication is on, but the Kafka listener on %s:%d is not authenticated: any client that reaches "
            "it can read every topic, including the connector configs in %s (with any password written literally in "
            "a config; ${provider:...} references stay references), and write every topic %s",
            *kafka_listener,
            worker_topics[0],
            "(the worker's own topics too, as --remote-workers is on)"
            if remote_workers
            else "except the worker's own and __consumer_offsets",
        )
    internal = () if remote_workers else worker_topics
    _serve_store(data_dir, kafka_listener, alongside=run_worker, internal_topics=internal)


def _provider_defaults(raw: dict[str, str], data_dir: Path) -> dict[str, str]:
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


def _announce_ready(herder: Any, config: Any, rest_url: str, kafka_listener: tuple[str, int], data_dir: Path) -> None:
    """Print the ready line on stdout once the worker takes writes (hub.ready_line)."""
    from hub.ready_line import announce_when_ready, ready_line

    line = ready_line(rest_url, kafka_listener, data_dir, DEFAULT_REST_URL)
    announce_when_ready(herder, line, click.echo, int(config["rebalance.timeout.ms"]) / 1000)


def _read_properties(path: Path) -> dict[str, str]:
    from hub.runtime.config_providers import read_properties

    return _config_call(lambda: read_properties(path))


def _config_call(action: Callable[[], T]) -> T:
    from hub.sdk.errors import ConnectError

    try:
        return action()
    except ConnectError as exc:
        raise click.ClickException(str(exc)) from None


def _worker_config(raw: dict[str, str]) -> Any:
    from hub.runtime.worker_config import WorkerConfig

    return _config_call(lambda: WorkerConfig.parse(raw))


def _start_herder(clients: Any, config: Any, worker_id: str, *, local: bool, distributed: bool = False) -> Herder:
    """A started herder on ``clients``: standalone with topic-backed or (``local``) in-process stores, or a
    distributed worker of ``group.id``."""
    from hub.runtime.distributed.herder import DistributedHerder
    from hub.runtime.plugins import Plugins
    from hub.runtime.standalone import StandaloneHerder
    from hub.runtime.stores.factory import local_stores, topic_stores

    plugins = Plugins.discover()
    stores = local_stores(clients, config) if local else topic_stores(clients, config)
    kind = DistributedHerder if distributed else StandaloneHerder
    herder = _config_call(lambda: kind(worker_id, config, plugins, clients, *stores))
    _config_call(herder.start)
    logger.info("worker %s running, store %s", worker_id, clients.location)
    return herder


def _serve_store(
    data_dir: Path,
    listener: tuple[str, int],
    properties: tuple[str, ...] = (),
    alongside: Callable[[Any], Callable[[], None]] | None = None,
    internal_topics: Iterable[str] = (),
) -> None:
    """Open the store node, serve the Kafka protocol on ``listener`` (and run ``alongside(node)``, e.g. a worker)
    until SIGTERM/SIGINT, then stop in reverse order. ``internal_topics`` are registered before the listener opens,
    so no Kafka client ever writes them."""
    from hub.log.errors import LogError
    from hub.log.node import LogNode, node_config
    from hub.log.server import KafkaServer

    try:
        node = LogNode(node_config(data_dir, _parse_pairs(properties, "--property")))
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
        server = KafkaServer(node.broker, *listener)
        try:
            await server.start()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {listener[0]}:{listener[1]}: {exc.strerror}") from None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, _stopper(stop, sig))
        logger.info("store ready in %s, Kafka listener on %s:%d", data_dir.resolve(), listener[0], server.port)
        stop_alongside = await asyncio.to_thread(alongside, node) if alongside else None
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


def _parse_pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments of a repeatable option as a dict; a malformed one is a usage error naming it."""
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=option)
        parsed[key.strip()] = value
    return parsed


property_option = click.option(
    "-o",
    "--property",
    "properties",
    multiple=True,
    metavar="KEY=VALUE",
    help="A Kafka broker setting, e.g. num.partitions=3 or log.retention.ms=3600000; repeatable.",
)


def _stopper(stop: asyncio.Event, sig: signal.Signals) -> Callable[[], None]:
    def handle() -> None:
        logger.info("received %s, shutting down", sig.name)
        stop.set()

    return handle


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


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
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="INFO", show_default=True)
@property_option
def log_serve(data_dir: Path, listener: tuple[str, int], log_level: str, properties: tuple[str, ...]) -> None:
    """Serve the store over the Kafka wire protocol until SIGTERM or Ctrl-C."""
    _configure_logging(log_level)
    _serve_store(data_dir, listener, properties)


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
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="INFO", show_default=True)
def worker(
    bootstrap_servers: str, group_id: str, rest_listener: tuple[str, int], config_file: Path | None, log_level: str
) -> None:
    """Run a distributed worker that shares connectors and tasks with its group.

    Any Kafka-protocol store works: `hub start`'s or `hub log serve`'s listener, tansu, Apache Kafka. Workers
    with the same --group-id form one cluster; their internal topics come from the worker config (Connect's
    config.storage.topic, offset.storage.topic, status.storage.topic). Runs until SIGTERM or Ctrl-C, then stops
    its tasks and leaves the group so the others take its work over at once.
    """
    from hub.log.client.kafka import KafkaClients

    _configure_logging(log_level)
    raw = _read_properties(config_file) if config_file else {}
    config = _worker_config({**raw, "bootstrap.servers": bootstrap_servers, "group.id": group_id})
    clients = KafkaClients(bootstrap_servers, {"log_level": "3"})
    herder = _start_herder(clients, config, _worker_url(config, rest_listener), local=False, distributed=True)
    rest = None
    try:
        rest = _start_rest(herder, config, rest_listener)
        _wait_for_signal()
    finally:
        if rest is not None:
            rest.stop()
        herder.stop()


def _worker_url(config: Any, listener: tuple[str, int]) -> str:
    """This worker's id and the URL other workers forward to: rest.advertised.* when set, else the listener."""
    scheme = "https" if config["rest.ssl.cert.file"] else "http"
    host = config["rest.advertised.host.name"] or listener[0]
    port = config["rest.advertised.port"] or listener[1]
    return f"{scheme}://{host}:{port}"


@cli.command()
@click.argument("worker_properties", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("connector_configs", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default="INFO", show_default=True)
def standalone(worker_properties: Path, connector_configs: tuple[Path, ...], log_level: str) -> None:
    """Run connectors from files in a single standalone worker, as Kafka Connect's standalone mode.

    The worker uses the Kafka-protocol store at bootstrap.servers (default 127.0.0.1:9092, the listener of
    `hub start` or `hub log serve`); connector configs live in memory and source offsets in
    offset.storage.file.filename when set. Connector files are JSON ({"name", "config"} or a flat map) or
    properties. Runs until SIGTERM or Ctrl-C.
    """
    from hub.log.client.kafka import KafkaClients

    _configure_logging(log_level)
    raw = _read_properties(worker_properties)
    config = _worker_config(raw)
    connectors_to_run = [_read_connector_file(path) for path in connector_configs]
    bootstrap = str(config["bootstrap.servers"] or DEFAULT_KAFKA_LISTENER)
    clients = KafkaClients(bootstrap, {"log_level": "3"})
    listener = _rest_listener(config)
    herder = _start_herder(clients, config, f"{listener[0]}:{listener[1]}", local=True)
    rest = None
    try:
        _submit(herder, connectors_to_run)
        rest = _start_rest(herder, config, listener)
        _wait_for_signal()
    finally:
        if rest is not None:
            rest.stop()
        herder.stop()


def _start_rest(herder: Herder, config: Any, listener: tuple[str, int]) -> Any:
    """The REST API over ``herder`` on ``listener``, with TLS and authentication when the worker config asks."""
    from hub import __version__
    from hub.rest.app import create_app
    from hub.rest.auth import AuthConfigError, Credentials
    from hub.rest.server import RestServer

    auth_file = config["rest.auth.file"]
    try:
        credentials = Credentials.load(Path(auth_file)) if auth_file else None
    except AuthConfigError as exc:
        raise click.ClickException(str(exc)) from None
    cert, key = config["rest.ssl.cert.file"], config["rest.ssl.key.file"]
    if bool(cert) != bool(key):
        raise click.ClickException("HTTPS needs both rest.ssl.cert.file and rest.ssl.key.file")
    app = create_app(
        herder,
        version=__version__,
        credentials=credentials,
        body_timeout_s=config["rest.request.body.timeout.ms"] / 1000,
        public_health=config["rest.auth.health.public"],
    )
    try:
        server = RestServer(app, *listener, certfile=Path(cert) if cert else None, keyfile=Path(key) if key else None)
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot serve the REST API on {listener[0]}:{listener[1]}: {exc}") from None
    return server


def _rest_listener(config: Any) -> tuple[str, int]:
    """The first of the worker config's ``listeners`` (``http://host:port``), as HOST:PORT."""
    first = (config["listeners"] or ["http://127.0.0.1:8083"])[0]
    return LISTENER.convert(first.split("://", 1)[-1], None, None)


def _submit(herder: Herder, connectors_to_run: list[tuple[str, dict[str, str]]]) -> None:
    for name, connector in connectors_to_run:
        _config_call(partial(herder.put_connector_config, name, connector, allow_replace=True))
        logger.info("connector %s submitted", name)


def _wait_for_signal() -> None:
    import threading

    tune_garbage_collector()
    stop = threading.Event()

    def handle(number: int, _frame: object) -> None:
        logger.info("received %s, shutting down", signal.Signals(number).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)
    stop.wait()


def _read_connector_file(path: Path) -> tuple[str, dict[str, str]]:
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
        config = _read_properties(path)
        name = config.get("name")
    if not name:
        raise click.ClickException(f"{path} does not name its connector ('name')")
    return str(name), {str(k): str(v) for k, v in config.items()}


url_option = click.option(
    "--url", default=DEFAULT_REST_URL, show_default=True, envvar="HUB_URL", help="Hub's REST API (or $HUB_URL)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables.")
user_option = click.option("--user", envvar="HUB_USER", help="USER:PASSWORD for HTTP basic auth (or $HUB_USER).")
token_option = click.option("--token", envvar="HUB_TOKEN", help="Bearer token (or $HUB_TOKEN).")
insecure_option = click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")


def _rest(url: str, user: str | None, token: str | None, insecure: bool) -> Any:
    from hub.rest.client import RestClient

    return RestClient(url, user=user, token=token, insecure=insecure)


def _rest_call(client: Any, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
    from hub.rest.client import RestError

    try:
        return client.call(method, path, body, query)
    except RestError as exc:
        raise click.ClickException(str(exc)) from None


def _rest_command(function: Callable[..., None]) -> click.Command:
    """A `hub connectors` command: the connection options, then the command's own."""
    for option in (insecure_option, token_option, user_option, json_option, url_option):
        function = option(function)
    return connectors.command(function.__name__.removeprefix("connectors_").replace("_", "-"))(function)


@cli.group()
def connectors() -> None:
    """Manage connectors through a running Hub's (or Kafka Connect's) REST API."""


def _state_rows(status: dict[str, Any]) -> list[list[Any]]:
    rows = [["connector", status["connector"]["state"], status["connector"].get("worker_id", ""), "", "", ""]]
    for task in status.get("tasks", []):
        progress = task.get("progress") or {}
        rows.append(
            [
                f"task {task['id']}",
                task["state"],
                task.get("worker_id", ""),
                f"{progress['records']:,}" if "records" in progress else "",
                f"{progress['records_per_second']:,.0f}/s" if "records_per_second" in progress else "",
                _lag(progress),
            ]
        )
    return rows


def _summary(status: dict[str, Any]) -> str:
    """The connector's state and, honestly, its tasks' when they differ: ``RUNNING, 1 of 2 tasks FAILED``."""
    states = [task["state"] for task in status.get("tasks", [])]
    others = {state: states.count(state) for state in sorted(set(states)) if state != "RUNNING"}
    shown = str(status["connector"]["state"])
    for state, count in others.items():
        if count == len(states):
            shown += f", {count} {'task' if count == 1 else 'tasks'} {state}"
        else:
            shown += f", {count} of {len(states)} tasks {state}"
    return shown


def _problems(status: dict[str, Any]) -> list[str]:
    """For each failed instance, the last line of its trace (the error itself) in full; a hint for unassigned ones."""
    lines = []
    instances = [("connector", status["connector"])] + [(f"task {t['id']}", t) for t in status.get("tasks", [])]
    for label, state in instances:
        trace = (state.get("trace") or "").strip().splitlines()
        if trace:
            lines.append(f"{label} {state['state']}: {trace[-1].strip()}")
        elif state.get("state") == "UNASSIGNED":
            lines.append(f"{label} UNASSIGNED: no worker runs it yet; after a create, restart or rebalance it starts "
                         "within seconds, and if it stays so, the workers' logs say why")  # fmt: skip
    return lines


def _lag(progress: dict[str, Any]) -> str:
    if "lag_bytes" in progress:
        return f"{progress['lag_bytes']:,} B of WAL"
    if "lag_records" in progress:
        return f"{progress['lag_records']:,} records"
    return ""


def _progress_bar(task: dict[str, Any], width: int = 30) -> str | None:
    """``task 0 snapshot [#####-----] 45.0% 4,500/10,000 rows, 0:01:12 left`` for a task reporting done/total."""
    progress = task.get("progress") or {}
    if "percent" not in progress:
        return None
    filled = round(width * progress["percent"] / 100)
    line = (
        f"task {task['id']} {progress.get('phase', 'progress')} [{'#' * filled}{'-' * (width - filled)}] "
        f"{progress['percent']:.1f}% {progress['done']:,}/{progress['total']:,} {progress.get('unit', '')}".rstrip()
    )
    if "eta_seconds" in progress:
        line += f", {datetime.timedelta(seconds=int(progress['eta_seconds']))} left"
    return line


def _print_status(status: dict[str, Any]) -> None:
    click.echo(f"{status['name']} ({status.get('type', 'unknown')}): {_summary(status)}")
    _print_table(["INSTANCE", "STATE", "WORKER", "RECORDS", "RATE", "LAG"], _state_rows(status))
    for task in status.get("tasks", []):
        bar = _progress_bar(task)
        if bar:
            click.echo(bar)
    width = max(40, shutil.get_terminal_size().columns)
    for line in _problems(status):
        click.echo(textwrap.fill(line, width, subsequent_indent="    ", break_on_hyphens=False,
                                 break_long_words=False))  # fmt: skip


@_rest_command
def connectors_list(url: str, as_json: bool, user: str | None, token: str | None, insecure: bool) -> None:
    """List connectors with their state."""
    client = _rest(url, user, token, insecure)
    listed = _rest_call(client, "GET", "/connectors", query={"expand": "status"})
    if as_json:
        click.echo(json.dumps(listed))
        return
    rows = []
    for name, entry in sorted(listed.items()):
        status = entry["status"]
        tasks = status.get("tasks", [])
        running = sum(1 for task in tasks if task["state"] == "RUNNING")
        rows.append([name, status.get("type", ""), _summary(status), f"{running}/{len(tasks)}"])
    _print_table(["NAME", "TYPE", "STATE", "TASKS RUNNING"], rows)
    failing = [name for name, entry in sorted(listed.items()) if _problems(entry["status"])]
    if failing:
        click.echo(f"see `hub connectors status NAME` for what happened to: {', '.join(failing)}")


def _with_name(function: Callable[..., None]) -> Callable[..., None]:
    return click.argument("name")(function)


@_rest_command
@_with_name
def connectors_get(name: str, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool) -> None:
    """Show a connector's config and tasks."""
    info = _rest_call(_rest(url, user, token, insecure), "GET", f"/connectors/{name}")
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"{info['name']} ({info['type']}), {len(info['tasks'])} task(s)")
    _print_table(["KEY", "VALUE"], [[key, value] for key, value in sorted(info["config"].items())])


def _config_file(path: Path) -> tuple[str | None, dict[str, Any], str | None]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    if not isinstance(document, dict):
        raise click.ClickException(f"{path} must hold a JSON object")
    if isinstance(document.get("config"), dict):
        return document.get("name"), document["config"], document.get("initial_state")
    return document.get("name"), document, None


file_option = click.option(
    "-f", "--file", "config_file", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help='Connector config as JSON: {"name", "config"} or a flat map of options.',
)  # fmt: skip


@_rest_command
@file_option
def connectors_create(
    config_file: Path, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool
) -> None:
    """Create a connector from a JSON file."""
    name, config, initial = _config_file(config_file)
    name = name or config.get("name")
    if not name:
        raise click.ClickException(f"{config_file} does not name its connector ('name')")
    body: dict[str, Any] = {"name": name, "config": config}
    if initial:
        body["initial_state"] = initial
    info = _rest_call(_rest(url, user, token, insecure), "POST", "/connectors", body)
    click.echo(json.dumps(info) if as_json else f"created connector {info['name']} ({info['type']})")


@_rest_command
@file_option
@_with_name
def connectors_update(
    name: str, config_file: Path, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool
) -> None:
    """Replace a connector's config from a JSON file (creating it if needed)."""
    _, config, _ = _config_file(config_file)
    info = _rest_call(_rest(url, user, token, insecure), "PUT", f"/connectors/{name}/config", config)
    click.echo(json.dumps(info) if as_json else f"updated connector {info['name']}")


def _simple(verb: str, method: str, suffix: str, summary: str) -> None:
    def command(name: str, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool) -> None:
        answer = _rest_call(_rest(url, user, token, insecure), method, f"/connectors/{name}{suffix}")
        click.echo(json.dumps(answer) if as_json else f"{verb} {name}")

    command.__doc__ = summary
    command.__name__ = f"connectors_{summary.split()[0].lower()}"
    _rest_command(_with_name(command))


_simple("deleted", "DELETE", "", "Delete a connector (its offsets stay).")
_simple("pausing", "PUT", "/pause", "Pause a connector and its tasks.")
_simple("resuming", "PUT", "/resume", "Resume a paused or stopped connector.")
_simple("stopped", "PUT", "/stop", "Stop a connector and its tasks, keeping its config.")


@_rest_command
@_with_name
def connectors_status(name: str, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool) -> None:
    """Show the state of a connector and its tasks."""
    status = _rest_call(_rest(url, user, token, insecure), "GET", f"/connectors/{name}/status")
    if as_json:
        click.echo(json.dumps(status))
    else:
        _print_status(status)


@_rest_command
@_with_name
@click.option("--include-tasks", is_flag=True, help="Restart the tasks too.")
@click.option("--only-failed", is_flag=True, help="Restart only failed instances.")
def connectors_restart(
    name: str,
    include_tasks: bool,
    only_failed: bool,
    url: str,
    as_json: bool,
    user: str | None,
    token: str | None,
    insecure: bool,
) -> None:
    """Restart a connector (and its tasks)."""
    query = {"includeTasks": str(include_tasks).lower(), "onlyFailed": str(only_failed).lower()}
    plan = _rest_call(_rest(url, user, token, insecure), "POST", f"/connectors/{name}/restart", query=query)
    if as_json:
        click.echo(json.dumps(plan))
    elif plan:
        _print_status(plan)
    else:
        click.echo(f"restarting {name}")


@_rest_command
@_with_name
@click.option("--reset", is_flag=True, help="Reset the offsets (the connector must be stopped).")
def connectors_offsets(
    name: str, reset: bool, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool
) -> None:
    """Show (or reset) a connector's offsets."""
    client = _rest(url, user, token, insecure)
    if reset:
        answer = _rest_call(client, "DELETE", f"/connectors/{name}/offsets")
        click.echo(json.dumps(answer) if as_json else answer["message"])
        return
    offsets = _rest_call(client, "GET", f"/connectors/{name}/offsets")
    if as_json:
        click.echo(json.dumps(offsets))
        return
    _print_table(
        ["PARTITION", "OFFSET"],
        [[json.dumps(entry["partition"]), json.dumps(entry["offset"])] for entry in offsets["offsets"]],
    )


@cli.group()
def topics() -> None:
    """Manage topics of a Kafka-protocol store."""


bootstrap_option = click.option(
    "--bootstrap-servers",
    default=DEFAULT_KAFKA_LISTENER,
    show_default=True,
    metavar="HOST:PORT",
    help="The store's Kafka listener.",
)


def _admin(bootstrap_servers: str) -> Any:
    from hub.log.client.kafka import KafkaAdmin

    # librdkafka's connection retries would fill the terminal; the command reports the failure itself.
    return KafkaAdmin(bootstrap_servers, timeout_s=10, config={"log_level": 0})


def _client_call(action: Callable[[], Any]) -> Any:
    from hub.log.client import ClientError

    try:
        return action()
    except ClientError as exc:
        raise click.ClickException(str(exc)) from None


def _print_table(headers: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@topics.command("list")
@bootstrap_option
@json_option
def topics_list(bootstrap_servers: str, as_json: bool) -> None:
    """List topics with their partition counts."""
    with _admin(bootstrap_servers) as admin:
        listed = _client_call(admin.list_topics)
    if as_json:
        click.echo(json.dumps(dict(sorted(listed.items()))))
    else:
        _print_table(["TOPIC", "PARTITIONS"], [[name, count] for name, count in sorted(listed.items())])


@topics.command("describe")
@bootstrap_option
@json_option
@click.argument("name")
def topics_describe(bootstrap_servers: str, as_json: bool, name: str) -> None:
    """Show a topic's partitions and configs."""
    with _admin(bootstrap_servers) as admin:
        described = _client_call(lambda: admin.describe_topics([name]))[name]
    if as_json:
        click.echo(json.dumps({"name": name, "partitions": described.partitions, "configs": dict(described.configs)}))
        return
    click.echo(f"{name}: {described.partitions} partition(s)")
    _print_table(["CONFIG", "VALUE"], [[key, value] for key, value in sorted(described.configs.items())])


@topics.command("create")
@bootstrap_option
@click.argument("name")
@click.option("--partitions", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--config", "configs", multiple=True, metavar="KEY=VALUE", help="Topic config; repeatable.")
def topics_create(bootstrap_servers: str, name: str, partitions: int, configs: tuple[str, ...]) -> None:
    """Create a topic."""
    from hub.log.client import NewTopic

    settings = _parse_pairs(configs, "--config")
    with _admin(bootstrap_servers) as admin:
        _client_call(lambda: admin.create_topics([NewTopic(name, partitions, configs=settings)]))
    click.echo(f"created topic {name} with {partitions} partition(s)")


@topics.command("delete")
@bootstrap_option
@click.argument("name")
def topics_delete(bootstrap_servers: str, name: str) -> None:
    """Delete a topic and all its data."""
    with _admin(bootstrap_servers) as admin:
        _client_call(lambda: admin.delete_topics([name]))
    click.echo(f"deleted topic {name}")


@cli.command()
@url_option
@json_option
@user_option
@token_option
@insecure_option
@click.option("--local", is_flag=True, help="List the plugins installed in this Python environment instead.")
def plugins(url: str, as_json: bool, user: str | None, token: str | None, insecure: bool, local: bool) -> None:
    """List the plugins of a running Hub (connectors, converters, transforms, predicates), or with --local the
    ones installed here, with versions and the other names they answer to."""
    if not local:
        listed = _rest_call(
            _rest(url, user, token, insecure), "GET", "/connector-plugins", query={"connectorsOnly": "false"}
        )
        if as_json:
            click.echo(json.dumps(listed))
        else:
            _print_table(["TYPE", "CLASS", "VERSION"], [[p["type"], p["class"], p.get("version", "")] for p in listed])
        return
    from hub.runtime.plugins import Plugins

    found = Plugins.discover()
    infos = found.infos()
    if as_json:
        rows = [
            {"class": i.class_name, "type": i.kind, "version": i.version, "aliases": list(i.aliases)} for i in infos
        ]
        failures = [{"entry_point": f.entry_point, "error": f.error} for f in found.failures]
        click.echo(json.dumps({"plugins": rows, "failed": failures}))
        return
    _print_table(
        ["TYPE", "CLASS", "VERSION", "ALSO KNOWN AS"],
        [[i.kind, i.class_name, i.version, ", ".join(a for a in i.aliases if "." in a or i.kind in ("source", "sink"))
          or "-"] for i in infos],
    )  # fmt: skip
    for failure in found.failures:
        click.echo(f"failed to load {failure.entry_point}: {failure.error}", err=True)


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


@cli.command("new-connector")
@click.argument("name")
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package directory hub-NAME.",
)
@click.option("--sink", is_flag=True, help="A sink connector (the default is a source).")
def new_connector(name: str, parent: Path, sink: bool) -> None:
    """Create a connector plugin package hub-NAME: a working source (or sink), its plugin entry point and tests
    that run Hub's conformance suite (its [test] extra installs pytest)."""
    from hub.scaffold import create_connector_package

    try:
        root = create_connector_package(name, parent, sink=sink)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    click.echo(f"created {root}: pip install -e '{root}[test]' && python -m pytest {root / 'tests'}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hub`` console script; returns the exit code."""
    try:
        cli.main(args=argv, prog_name="hub", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message())
        return 0
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "hub"
        click.echo(f"hub: error: {exc.format_message()} (see `{command} --help`)", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"hub: error: {exc.format_message()}", err=True)
        return 1
    except click.Abort:
        click.echo("hub: aborted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
