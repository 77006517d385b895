"""The root ``hub`` command group and what its subcommands share: the defaults, the ``HOST:PORT`` parameter type,
``KEY=VALUE`` options, the ``--json`` flag and plain-text tables.

Commands register on ``cli`` when their module is imported (``hub.cli`` imports them all). Everything here is
immutable once imported, or writes to the terminal; the CLI runs its commands on one thread.
"""

from __future__ import annotations

from typing import Any

import click

from hub import __version__

DEFAULT_REST_LISTENER = "127.0.0.1:8083"
DEFAULT_KAFKA_LISTENER = "127.0.0.1:9092"
DEFAULT_REST_URL = "http://127.0.0.1:8083"
DEFAULT_DATA_DIR = "./hub-data"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts instead of tables.")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="hub", message="%(prog)s %(version)s")
def cli() -> None:
    """Hub: a Connect-style integration hub with its own Kafka-protocol topic store.

    `hub start` runs everything in one process: the embedded store with its Kafka listener, a worker and the
    REST API. The other commands run one part, or talk to a running Hub.
    """


def parse_pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments of a repeatable option as a dict; a malformed one is a usage error naming it."""
    parsed: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint=option)
        parsed[key.strip()] = value
    return parsed


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    """``rows`` under ``headers`` in left-aligned columns as wide as their widest cell."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)]
    for row in [headers, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
