"""The databases JDBC connector tests run against: SQLite on disk, and the harness's PostgreSQL and MariaDB."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

_names = itertools.count()


@dataclass
class Database:
    """A database a test may create tables in, with the connector options that reach it."""

    dialect: str
    engine: sa.Engine
    options: dict[str, str]
    schema: str | None  # the schema the connectors list tables of by default

    def table_name(self, stem: str) -> str:
        """A table name no other test uses."""
        return f"{stem}_{os.getpid()}_{next(_names)}"

    def qualified(self, table: str) -> str:
        return f"{self.schema}.{table}" if self.schema else table

    def execute(self, *statements: str | sa.Executable, **params: object) -> None:
        with self.engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement) if isinstance(statement, str) else statement, params)

    def rows(self, query: str) -> list[tuple[object, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(query))]


def make_database(request: pytest.FixtureRequest, tmp_path: Path, dialect: str) -> Iterator[Database]:
    """``dialect`` is sqlite, postgresql or mysql; the server ones come from the harness fixtures."""
    if dialect == "sqlite":
        path = tmp_path / "test.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        yield Database("sqlite", engine, {"connection.url": f"jdbc:sqlite:{path}"}, None)
    else:
        server = request.getfixturevalue("postgres_server" if dialect == "postgresql" else "mysql_server")
        engine = sa.create_engine(server.sqlalchemy_url)
        options = {"connection.url": server.jdbc_url, "connection.user": server.user}
        if server.password:
            options["connection.password"] = server.password
        yield Database(dialect, engine, options, "public" if dialect == "postgresql" else None)
    engine.dispose()
