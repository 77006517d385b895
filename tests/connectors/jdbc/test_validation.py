"""Validation tries the database, as Debezium's connectors do: a wrong password, an unreachable server or a missing
database is reported on the option to fix when the connector is created or validated, not when its task fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.sdk.errors import ConfigError
from tests.connectors.conftest import Runtime
from tests.connectors.jdbc.cdc.test_postgres_cdc import new_capture
from tests.connectors.jdbc.databases import Database, make_database
from tests.harness.process import free_port
from tests.harness.servers import SqlServer

SERVERS = [
    pytest.param("postgresql", marks=pytest.mark.integration),
    pytest.param("mysql", marks=pytest.mark.integration),
]
#: What each server says when it refuses a login: MariaDB a wrong password; PostgreSQL an unknown role (the test
#: cluster trusts the roles it has, as a cluster with password authentication refuses a wrong password).
REFUSED = {"postgresql": 'role "nobody" does not exist', "mysql": "Access denied"}


def _refused_login(database: Database) -> dict[str, str]:
    if database.dialect == "postgresql":
        return {"connection.user": "nobody", "connection.password": "wrong-password"}
    return {"connection.password": "wrong-password"}


@pytest.fixture(params=SERVERS)
def server_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from make_database(request, tmp_path, request.param)


def _configs(database: Database, **options: str) -> list[dict[str, str]]:
    """A JdbcSource and a JdbcSink config reaching ``database``."""
    common = {**database.options, **options}
    return [
        {"connector.class": "JdbcSource", "mode": "bulk", "topic.prefix": "v-", **common},
        {"connector.class": "io.confluent.connect.jdbc.JdbcSinkConnector", "topics": "v", **common},
    ]


def test_a_reachable_database_passes(runtime: Runtime, server_database: Database) -> None:
    for config in _configs(server_database):
        assert runtime.problems(config) == {}
        runtime.create("ok", config)
        runtime.herder.delete_connector("ok")


def test_a_refused_login_is_reported_on_the_password_and_refused(runtime: Runtime, server_database: Database) -> None:
    for config in _configs(server_database, **_refused_login(server_database)):
        problems = runtime.problems(config)
        assert list(problems) == ["connection.password"], problems
        assert REFUSED[server_database.dialect] in problems["connection.password"][0]
        assert "wrong-password" not in str(problems)
        with pytest.raises(ConfigError, match=REFUSED[server_database.dialect]):
            runtime.create("refused", config)
        assert runtime.herder.connectors() == []


def test_an_unreachable_server_is_reported_on_the_url(runtime: Runtime, server_database: Database) -> None:
    port = free_port()
    url = server_database.options["connection.url"].replace(f":{_port(server_database)}/", f":{port}/")
    for config in _configs(server_database, **{"connection.url": url}):
        problems = runtime.problems(config)
        assert list(problems) == ["connection.url"], problems
        assert f"127.0.0.1:{port}" in problems["connection.url"][0]
        with pytest.raises(ConfigError, match=r"connection\.url"):
            runtime.create("unreachable", config)


def test_the_database_is_not_tried_while_other_options_are_wrong(runtime: Runtime, server_database: Database) -> None:
    config = _configs(server_database, **{"connection.password": "wrong-password", "mode": "sometimes"})[0]
    assert list(runtime.problems(config)) == ["mode"]


def test_sqlite_needs_an_existing_directory_and_a_database_file(runtime: Runtime, tmp_path: Path) -> None:
    nowhere = {"connection.url": f"jdbc:sqlite:{tmp_path}/missing/dir/db.sqlite"}
    for config in _configs(Database("sqlite", None, nowhere, None)):  # type: ignore[arg-type]
        problems = runtime.problems(config)
        assert list(problems) == ["connection.url"], problems
        assert "does not exist" in problems["connection.url"][0]
    (tmp_path / "notes.txt").write_text("not a database, but long enough for SQLite to look at its header\n" * 10)
    for config in _configs(Database("sqlite", None, {"connection.url": f"jdbc:sqlite:{tmp_path}/notes.txt"}, None)):  # type: ignore[arg-type]
        assert "not a database" in runtime.problems(config)["connection.url"][0]
    fresh = {"connection.url": f"jdbc:sqlite:{tmp_path}/new.db"}
    for config in _configs(Database("sqlite", None, fresh, None)):  # type: ignore[arg-type]
        assert runtime.problems(config) == {}
    assert not (tmp_path / "new.db").exists(), "validation must not create the database"


def _port(database: Database) -> int:
    return int(database.options["connection.url"].rsplit(":", 1)[1].split("/", 1)[0])


@pytest.mark.integration
def test_postgres_cdc_reports_each_problem_on_its_option(runtime: Runtime, postgres_server: SqlServer) -> None:
    config = new_capture(postgres_server).config()
    assert runtime.problems(config) == {}
    wrong = runtime.problems({**config, "database.user": "nobody", "database.password": "wrong-password"})
    assert list(wrong) == ["database.password"], wrong
    assert REFUSED["postgresql"] in wrong["database.password"][0]
    missing = runtime.problems({**config, "database.dbname": "no_such_database"})
    assert list(missing) == ["database.dbname"], missing
    assert "no_such_database" in missing["database.dbname"][0]
    port = free_port()
    unreachable = runtime.problems({**config, "database.port": str(port)})
    assert list(unreachable) == ["database.hostname"], unreachable
    assert f"127.0.0.1:{port}" in unreachable["database.hostname"][0]
    with pytest.raises(ConfigError, match=r"database\.password"):
        runtime.create("cdc", {**config, "database.user": "nobody"})
    assert runtime.herder.connectors() == []
