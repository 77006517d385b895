"""Fixtures of the JDBC sink tests: the plugins with the sink registered, and the databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.jdbc.sink.connector import JdbcSinkConnector
from hub.runtime.plugins import Plugins
from hub.sdk import hookimpl
from tests.connectors.jdbc.databases import Database, make_database

DIALECTS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.integration),
    pytest.param("mysql", marks=pytest.mark.integration),
]


class _JdbcSinkPlugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [JdbcSinkConnector]


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    """The installed plugins, with the sink registered whether or not the jdbc entry point lists it yet."""
    return Plugins.discover(extra=[_JdbcSinkPlugin()])


@pytest.fixture(params=DIALECTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, request.param)


@pytest.fixture
def postgres(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, "postgresql")


@pytest.fixture
def mariadb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, "mysql")
