"""The commands that talk to a running Hub's (or Kafka Connect's) REST API: ``hub connectors …`` (list, get,
create, update, delete, pause, resume, stop, status, restart, offsets) and ``hub plugins``.

Each takes the connection options (``--url``, ``--user``, ``--token``, ``--insecure``) and ``--json``, makes its
REST calls through ``hub.rest.client`` and prints a table or a line (JSON with ``--json``); an error the API answers
ends the command with its message. ``hub plugins --local`` lists this environment's plugins without a server.
Each command runs on the CLI's one thread and keeps nothing between calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hub.cli.group import DEFAULT_REST_URL, cli, json_option, print_table
from hub.cli.status import print_status, problems, summary

url_option = click.option(
    "--url", default=DEFAULT_REST_URL, show_default=True, envvar="HUB_URL", help="Hub's REST API (or $HUB_URL)."
)
user_option = click.option("--user", envvar="HUB_USER", help="USER:PASSWORD for HTTP basic auth (or $HUB_USER).")
token_option = click.option("--token", envvar="HUB_TOKEN", help="Bearer token (or $HUB_TOKEN).")
insecure_option = click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate.")
file_option = click.option(
    "-f",
    "--file",
    "config_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help='Connector config as JSON: {"name", "config"} or a flat map of options.',
)


def _rest(url: str, user: str | None, token: str | None, insecure: bool) -> Any:
    from hub.rest.client import RestClient

    return RestClient(url, user=user, token=token, insecure=insecure)


def _rest_call(client: Any, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
    from hub.rest.client import RestError

    try:
        return client.call(method, path, body, query)
    except RestError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def connectors() -> None:
    """Manage connectors through a running Hub's (or Kafka Connect's) REST API."""


def _rest_command(function: Callable[..., None]) -> click.Command:
    """A `hub connectors` command: the connection options, then the command's own."""
    for option in (insecure_option, token_option, user_option, json_option, url_option):
        function = option(function)
    return connectors.command(function.__name__.removeprefix("connectors_").replace("_", "-"))(function)


def _with_name(function: Callable[..., None]) -> Callable[..., None]:
    return click.argument("name")(function)


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
        rows.append([name, status.get("type", ""), summary(status), f"{running}/{len(tasks)}"])
    print_table(["NAME", "TYPE", "STATE", "TASKS RUNNING"], rows)
    failing = [name for name, entry in sorted(listed.items()) if problems(entry["status"])]
    if failing:
        click.echo(f"see `hub connectors status NAME` for what happened to: {', '.join(failing)}")


@_rest_command
@_with_name
def connectors_get(name: str, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool) -> None:
    """Show a connector's config and tasks."""
    info = _rest_call(_rest(url, user, token, insecure), "GET", f"/connectors/{name}")
    if as_json:
        click.echo(json.dumps(info))
        return
    click.echo(f"{info['name']} ({info['type']}), {len(info['tasks'])} task(s)")
    print_table(["KEY", "VALUE"], [[key, value] for key, value in sorted(info["config"].items())])


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


def _simple(verb: str, method: str, suffix: str, description: str) -> None:
    def command(name: str, url: str, as_json: bool, user: str | None, token: str | None, insecure: bool) -> None:
        answer = _rest_call(_rest(url, user, token, insecure), method, f"/connectors/{name}{suffix}")
        click.echo(json.dumps(answer) if as_json else f"{verb} {name}")

    command.__doc__ = description
    command.__name__ = f"connectors_{description.split()[0].lower()}"
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
        print_status(status)


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
        print_status(plan)
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
    print_table(
        ["PARTITION", "OFFSET"],
        [[json.dumps(entry["partition"]), json.dumps(entry["offset"])] for entry in offsets["offsets"]],
    )


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
            print_table(["TYPE", "CLASS", "VERSION"], [[p["type"], p["class"], p.get("version", "")] for p in listed])
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
    print_table(
        ["TYPE", "CLASS", "VERSION", "ALSO KNOWN AS"],
        [
            [
                i.kind,
                i.class_name,
                i.version,
                ", ".join(a for a in i.aliases if "." in a or i.kind in ("source", "sink")) or "-",
            ]
            for i in infos
        ],
    )
    for failure in found.failures:
        click.echo(f"failed to load {failure.entry_point}: {failure.error}", err=True)
