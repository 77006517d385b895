"""``hub users …``: add, delete and list the SCRAM users (SCRAM-SHA-256 / SCRAM-SHA-512) a Kafka listener
authenticates.

Against a running listener (``--bootstrap-servers``; ``--command-config`` names a file of client properties such
as ``security.protocol`` / ``sasl.mechanism`` / ``sasl.username`` / ``sasl.password`` for a secured one) the
commands use Kafka's AlterUserScramCredentials / DescribeUserScramCredentials through confluent-kafka's admin
client, which salts the password itself: it never leaves this process in clear. With ``--data-dir`` they write
the credential store of a store that is not running (as ``kafka-storage format --add-scram`` bootstraps the first
admin user); a running store holds the directory's lock and is refused.

The password comes from ``--password-file`` (its first line) or a prompt that does not echo; it is never printed
or logged.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from hub.cli.group import DEFAULT_KAFKA_LISTENER, cli, json_option, print_table

MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")

_target = [
    click.option(
        "--bootstrap-servers", default=DEFAULT_KAFKA_LISTENER, show_default=True, metavar="HOST:PORT",
        help="The running store's Kafka listener.",
    ),
    click.option(
        "--command-config", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
        help="Client properties (key=value lines) for the admin client, e.g. SASL settings.",
    ),
    click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
        help="Write the credential store of this (stopped) store directly instead.",
    ),
]  # fmt: skip


def _target_options(function: Any) -> Any:
    for option in reversed(_target):
        function = option(function)
    return function


mechanism_option = click.option(
    "--mechanism", type=click.Choice(MECHANISMS), default="SCRAM-SHA-512", show_default=True, help="SCRAM mechanism."
)


@cli.group()
def users() -> None:
    """Manage the SCRAM users of a Kafka listener."""


@users.command("add")
@click.argument("name")
@mechanism_option
@click.option("--iterations", type=click.IntRange(4096, 16384), default=8192, show_default=True)
@click.option(
    "--password-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
    help="Read the password from the first line of FILE instead of prompting.",
)  # fmt: skip
@_target_options
def users_add(
    name: str,
    mechanism: str,
    iterations: int,
    password_file: Path | None,
    bootstrap_servers: str,
    command_config: Path | None,
    data_dir: Path | None,
) -> None:
    """Add user NAME, or set a new password for it."""
    password = _password(password_file)
    if data_dir is not None:
        from hub.log.security.scram_credentials import new_credential

        with _stopped_store(data_dir) as store:
            store.alter([], [(name, new_credential(mechanism, password, iterations))])
    else:
        from confluent_kafka.admin import (  # type: ignore[attr-defined]
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialUpsertion,
        )

        kind = ScramMechanism[mechanism.replace("-", "_")]
        upsert = UserScramCredentialUpsertion(name, ScramCredentialInfo(kind, iterations), password.encode("utf-8"))
        admin = _admin(bootstrap_servers, command_config)
        _result(admin.alter_user_scram_credentials([upsert])[name])
    click.echo(f"{mechanism} credential of {name!r} set")


@users.command("delete")
@click.argument("name")
@mechanism_option
@_target_options
def users_delete(
    name: str, mechanism: str, bootstrap_servers: str, command_config: Path | None, data_dir: Path | None
) -> None:
    """Delete user NAME's credential for one mechanism."""
    if data_dir is not None:
        with _stopped_store(data_dir) as store:
            if store.lookup(name, mechanism) is None:
                raise click.ClickException(f"{name!r} has no {mechanism} credential")
            store.alter([(name, mechanism)], [])
    else:
        from confluent_kafka.admin import ScramMechanism, UserScramCredentialDeletion  # type: ignore[attr-defined]

        deletion = UserScramCredentialDeletion(name, ScramMechanism[mechanism.replace("-", "_")])
        admin = _admin(bootstrap_servers, command_config)  # referenced until the answer: librdkafka stops with it
        _result(admin.alter_user_scram_credentials([deletion])[name])
    click.echo(f"{mechanism} credential of {name!r} deleted")


@users.command("list")
@json_option
@_target_options
def users_list(as_json: bool, bootstrap_servers: str, command_config: Path | None, data_dir: Path | None) -> None:
    """List the users with their mechanisms and iteration counts."""
    listed: dict[str, dict[str, int]] = {}
    if data_dir is not None:
        from hub.log.security.scram_credentials import ScramCredentialStore

        for user, creds in _read_store(ScramCredentialStore.in_directory, data_dir).users().items():
            listed[user] = {mech: cred.iterations for mech, cred in creds.items()}
    else:
        admin = _admin(bootstrap_servers, command_config)
        described = _result(admin.describe_user_scram_credentials())
        for user, description in described.items():
            listed[user] = {
                info.mechanism.name.replace("_", "-"): info.iterations for info in description.scram_credential_infos
            }
    if as_json:
        click.echo(json.dumps(dict(sorted(listed.items()))))
        return
    rows = [[user, mech, count] for user, creds in sorted(listed.items()) for mech, count in sorted(creds.items())]
    print_table(["USER", "MECHANISM", "ITERATIONS"], rows)


def _password(password_file: Path | None) -> str:
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.ClickException("the password is empty")
    return password


def _client_properties(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    properties = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise click.BadParameter(f"line {number} is not key=value", param_hint="--command-config")
        properties[key.strip()] = value.strip()
    return properties


def _admin(bootstrap_servers: str, command_config: Path | None) -> Any:
    from confluent_kafka.admin import AdminClient

    config: dict[str, str | int | float | bool] = {"log_level": 0, **_client_properties(command_config)}
    config["bootstrap.servers"] = bootstrap_servers
    try:
        return AdminClient(config)
    except Exception as exc:  # librdkafka refuses unknown or bad properties
        raise click.ClickException(f"bad client configuration: {exc}") from None


def _result(future: Any) -> Any:
    from confluent_kafka import KafkaException

    try:
        return future.result(timeout=15)
    except KafkaException as exc:
        raise click.ClickException(exc.args[0].str()) from None
    except TimeoutError:
        raise click.ClickException("the listener did not answer within 15 s") from None


def _read_store(opener: Any, data_dir: Path) -> Any:
    try:
        return opener(data_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@contextlib.contextmanager
def _stopped_store(data_dir: Path) -> Iterator[Any]:
    """The credential store of ``data_dir``, holding the store's lock so no running store shares the file."""
    from hub.log.security.scram_credentials import ScramCredentialStore
    from hub.log.store import LOCK_FILE

    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise click.ClickException(
                f"{data_dir} is in use by a running store: change its users with --bootstrap-servers"
            ) from None
        try:
            yield _read_store(ScramCredentialStore.in_directory, data_dir)
        except OSError as exc:
            raise click.ClickException(f"cannot write the credential store in {data_dir}: {exc.strerror}") from None
    finally:
        os.close(fd)
