"""``hub new-connector NAME``: create a connector plugin package from ``hub.scaffold``'s template; a name that
cannot be a package is a usage error naming it. It writes files on the CLI's one thread and starts nothing.
"""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli.group import cli


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
