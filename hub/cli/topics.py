"""``hub topics …``: list, describe, create and delete topics of any Kafka-protocol store (Hub's listener, tansu,
Apache Kafka) through ``hub.log.client``'s admin client; a failure the store answers ends the command with its
message. Each command opens its own admin client on the CLI's one thread and closes it before it returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from hub.cli.group import DEFAULT_KAFKA_LISTENER, cli, json_option, parse_pairs, print_table

bootstrap_option = click.option(
    "--bootstrap-servers",
    default=DEFAULT_KAFKA_LISTENER,
    show_default=True,
    metavar="HOST:PORT",
    help="The store's Kafka listener.",
)


@cli.group()
def topics() -> None:
    """Manage topics of a Kafka-protocol store."""


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
        print_table(["TOPIC", "PARTITIONS"], [[name, count] for name, count in sorted(listed.items())])


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
    print_table(["CONFIG", "VALUE"], [[key, value] for key, value in sorted(described.configs.items())])


@topics.command("create")
@bootstrap_option
@click.argument("name")
@click.option("--partitions", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--config", "configs", multiple=True, metavar="KEY=VALUE", help="Topic config; repeatable.")
def topics_create(bootstrap_servers: str, name: str, partitions: int, configs: tuple[str, ...]) -> None:
    """Create a topic."""
    from hub.log.client import NewTopic

    settings = parse_pairs(configs, "--config")
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
