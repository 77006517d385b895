"""The ``hub`` command line: the composition root that builds and wires Hub's parts.

This entry module registers every command on the root group (``hub.cli.group.cli``) by importing the modules that
define them: ``server`` (start, worker, standalone, log serve, demo, wired in ``wiring``), ``connectors``
(``hub connectors …``, ``hub plugins``), ``topics``, ``users`` (SCRAM users), ``scaffold``
(``hub new-connector``) and ``worker_process`` (the hidden child worker of ``hub start --workers N``).
``main`` is the console script; ``python -m hub.cli`` runs it too.

Every error ends the process with one line on stderr (``hub: error: …``) and a non-zero exit code: 2 for bad
arguments, 1 for everything else.
"""

from __future__ import annotations

import click

from hub.cli import (  # noqa: F401  (imported for the commands they register)
    connectors,
    scaffold,
    server,
    topics,
    users,
    worker_process,
)
from hub.cli.group import LISTENER, cli

__all__ = ["LISTENER", "cli", "main"]


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
