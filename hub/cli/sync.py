"""`hub sync`: PGSync's command on Hub. It reads a PGSync ``schema.json`` and PGSync's environment variables
(``pgsync_env``), creates — or updates — a PostgresDocumentSource and an ElasticsearchSink for every document on a
running Hub (``--url`` / ``$HUB_URL``), creates the index with the settings and mappings the schema names when it
does not exist, and shows the initial sync's progress until it is done.

Without ``--daemon`` the connectors are then stopped, as PGSync exits after a sync: their slot keeps the changes
made meanwhile, and the next `hub sync` resumes them and catches up. With ``--daemon`` they keep following changes
and the command reports the lag until Ctrl-C or SIGTERM, which stop them. Either way they are ordinary connectors: `hub
connectors status NAME-documents` or the REST API show and manage them. Runs on the CLI's one thread.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click

from hub.cli.connectors import _rest, _rest_call, insecure_option, token_option, url_option, user_option
from hub.cli.group import cli
from hub.cli.pgsync_env import Document, documents

#: How often the connectors' status is read.
POLL_S = 1.0
#: A sink publishes its lag every few seconds: the lag seen this long after the source finished is current.
SETTLE_S = 6.0


def _search_request(sink: dict[str, str], method: str, path: str, body: Any = None) -> tuple[int, str]:
    """An HTTP request to the search server with the sink's credentials; the status code (404 included) and, for
    an error, the server's reason."""
    url = sink["connection.url"].split(",")[0].rstrip("/") + path
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if sink.get("connection.api.key"):
        request.add_header("Authorization", f"ApiKey {sink['connection.api.key']}")
    elif sink.get("connection.username"):
        token = base64.b64encode(f"{sink['connection.username']}:{sink.get('connection.password', '')}".encode())
        request.add_header("Authorization", f"Basic {token.decode()}")
    context = None
    if url.startswith("https"):
        context = ssl.create_default_context(cafile=sink.get("connection.ssl.ca.file"))
        if sink.get("connection.ssl.verify") == "false":
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), _reason(exc.read())
    except OSError as exc:
        raise click.ClickException(f"cannot reach the search server at {url}: {exc}") from None


def _reason(body: bytes) -> str:
    """The ``error.reason`` of a search server's error answer (its first root cause's when it has one)."""
    try:
        error = json.loads(body or b"{}").get("error")
    except ValueError:
        return ""
    if isinstance(error, dict):
        causes = error.get("root_cause") or [error]
        return str(causes[0].get("reason") or error.get("type") or "")
    return str(error or "")


def ensure_index(document: Document) -> None:
    """Creates the index with the schema's settings and mappings, unless it exists (an existing index is left as
    it is, as PGSync leaves it)."""
    if not document.index_body or _search_request(document.sink, "HEAD", f"/{document.index}")[0] == 200:
        return
    status, reason = _search_request(document.sink, "PUT", f"/{document.index}", document.index_body)
    if status >= 300 and _search_request(document.sink, "HEAD", f"/{document.index}")[0] != 200:
        raise click.ClickException(
            f"the search server refused to create index {document.index} with the schema's setting and mappings "
            f"(HTTP {status}){': ' + reason if reason else ''}"
        )


def _task(status: dict[str, Any]) -> dict[str, Any]:
    tasks = status.get("tasks") or []
    return tasks[0] if tasks else {}


def _check(name: str, status: dict[str, Any]) -> None:
    task = _task(status)
    if status.get("connector", {}).get("state") == "FAILED" or task.get("state") == "FAILED":
        trace = (task.get("trace") or status.get("connector", {}).get("trace") or "").strip().splitlines()
        raise click.ClickException(f"{name} failed: {trace[-1] if trace else 'see the Hub log'}")


def _line(document: Document, source: dict[str, Any]) -> str:
    progress = _task(source).get("progress") or {}
    if progress.get("phase") == "initial":
        return f"{document.index}: initial sync {progress.get('done', 0):,}/{progress.get('total', 0):,} documents"
    if progress.get("phase") == "streaming":
        return f"{document.index}: following changes, {progress.get('lag_bytes', 0):,} B of WAL behind"
    return f"{document.index}: starting ({_task(source).get('state', 'UNASSIGNED')})"


def _wait_initial(client: Any, docs: list[Document]) -> None:
    """Until every source streams and, a while after, every sink has nothing left to write."""
    streaming_since: dict[str, float] = {}
    shown: dict[str, str] = {}
    while True:
        done = 0
        for document in docs:
            source = _rest_call(client, "GET", f"/connectors/{document.source_name}/status")
            sink = _rest_call(client, "GET", f"/connectors/{document.sink_name}/status")
            _check(document.source_name, source)
            _check(document.sink_name, sink)
            line = _line(document, source)
            if shown.get(document.index) != line:
                click.echo(line)
                shown[document.index] = line
            if (_task(source).get("progress") or {}).get("phase") != "streaming":
                continue
            since = streaming_since.setdefault(document.index, time.monotonic())
            lag = (_task(sink).get("progress") or {}).get("lag_records")
            if time.monotonic() - since >= SETTLE_S and lag == 0:
                done += 1
        if done == len(docs):
            return
        time.sleep(POLL_S)


def _stop(client: Any, docs: list[Document]) -> None:
    for document in docs:
        for name in (document.source_name, document.sink_name):
            _rest_call(client, "PUT", f"/connectors/{name}/stop")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@cli.command("sync")
@click.option(
    "--config",
    "config_path",
    envvar="SCHEMA",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="PGSync's schema.json (or $SCHEMA).",
)
@click.option("-d", "--daemon", is_flag=True, help="Keep following changes after the initial sync (until Ctrl-C).")
@url_option
@user_option
@token_option
@insecure_option
def sync(config_path: Path, daemon: bool, url: str, user: str | None, token: str | None, insecure: bool) -> None:
    """Sync PostgreSQL into Elasticsearch/OpenSearch as PGSync does, from its schema.json and environment."""
    try:
        entries = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {config_path}: {exc}") from None
    entries = [entries] if isinstance(entries, dict) else entries
    if not isinstance(entries, list) or not entries:
        raise click.ClickException(f"{config_path}: expected a list of documents (database, index, nodes)")
    docs = documents(entries, os.environ)
    client = _rest(url, user, token, insecure)
    for document in docs:
        ensure_index(document)
        for name, config in ((document.source_name, document.source), (document.sink_name, document.sink)):
            _rest_call(client, "PUT", f"/connectors/{name}/config", config)
            _rest_call(client, "PUT", f"/connectors/{name}/resume")
        click.echo(f"{document.index}: connectors {document.source_name} and {document.sink_name} on {url}")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _wait_initial(client, docs)
        click.echo("initial sync done")
        if daemon:
            click.echo("following changes; Ctrl-C (or SIGTERM) stops the connectors")
            _follow(client, docs)
    except KeyboardInterrupt:
        _stop(client, docs)
        click.echo("connectors stopped")
        return
    _stop(client, docs)
    click.echo("connectors stopped; run hub sync again to catch up, or with --daemon to keep following")


def _follow(client: Any, docs: list[Document]) -> None:
    """Reports each document's lag as it changes, until interrupted."""
    shown: dict[str, str] = {}
    while True:
        for document in docs:
            source = _rest_call(client, "GET", f"/connectors/{document.source_name}/status")
            _check(document.source_name, source)
            line = _line(document, source)
            if shown.get(document.index) != line:
                click.echo(line)
                shown[document.index] = line
        time.sleep(POLL_S * 5)
