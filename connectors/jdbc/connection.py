"""Database connections for the JDBC connectors: Confluent's ``connection.*`` options, turned into a SQLAlchemy engine.

``connection.url`` may be written as Confluent writes it (``jdbc:postgresql://host:port/db``, ``jdbc:mysql://…``,
``jdbc:mariadb://…``, ``jdbc:sqlite:path``) or as a SQLAlchemy URL (``postgresql+psycopg://…``). JDBC URL
parameters (``?user=…&password=…&ssl=true``) are kept where the Python driver understands them. Drivers: psycopg 3 for
PostgreSQL, PyMySQL for MySQL and MariaDB, the standard library for SQLite.

Connecting is retried ``connection.attempts`` times, ``connection.backoff.ms`` apart, as Confluent's connectors do;
the last error names the database and carries the driver's message.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from hub.sdk import ConfigDef, ConfigType, Importance, Password
from hub.sdk.errors import ConfigError, ConnectorError, RetriableError

log = logging.getLogger(__name__)
T = TypeVar("T")

#: JDBC sub-protocol → SQLAlchemy dialect+driver.
DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "sqlite": "sqlite",
}
#: JDBC URL parameters that mean the same to the Python drivers, by dialect (JDBC name → driver name).
_PARAMETERS = {
    "postgresql": {"sslmode": "sslmode", "sslrootcert": "sslrootcert", "connectTimeout": "connect_timeout"},
    "mysql": {"connectTimeout": "connect_timeout"},
}

CONNECTION_CONFIG = (
    ConfigDef()
    .define(
        "connection.url",
        ConfigType.STRING,
        doc="Database URL: jdbc:postgresql://HOST:PORT/DB, jdbc:mysql://…, jdbc:sqlite:PATH, or a SQLAlchemy URL.",
        importance=Importance.HIGH,
        non_empty=True,
        group="Database",
    )
    .define("connection.user", ConfigType.STRING, None, "Database user.", importance=Importance.HIGH, group="Database")
    .define(
        "connection.password",
        ConfigType.PASSWORD,
        None,
        "Database password.",
        importance=Importance.HIGH,
        group="Database",
    )
    .define(
        "connection.attempts",
        ConfigType.INT,
        3,
        "Attempts to connect before the task fails.",
        minimum=1,
        group="Database",
    )
    .define(
        "connection.backoff.ms",
        ConfigType.LONG,
        10000,
        "Wait between connection attempts.",
        minimum=0,
        group="Database",
    )
    .define(
        "dialect.name",
        ConfigType.STRING,
        "",
        "Dialect override; empty derives it from connection.url.",
        choices=("", "PostgreSqlDatabaseDialect", "MySqlDatabaseDialect", "SqliteDatabaseDialect"),
        group="Database",
    )
    .unsupported("jdbc.credentials.provider.class", "use a config provider (${file:…}, ${env:…}) for credentials")
)


def sqlalchemy_url(url: str, user: str | None = None, password: str | Password | None = None) -> URL:
    """The SQLAlchemy URL of a JDBC or SQLAlchemy ``url``; ``user``/``password`` override those in it, except for
    SQLite, which has no users: there they are ignored (as its JDBC driver does), not an invalid URL."""
    secret = password.value if isinstance(password, Password) else password
    if url.startswith("jdbc:"):
        result = _from_jdbc(url[len("jdbc:") :])
    else:
        try:
            result = make_url(url)
        except ArgumentError as exc:
            raise ConnectorError(f"connection.url {url!r} is neither a JDBC URL nor a SQLAlchemy URL") from exc
    if result.get_backend_name() == "sqlite":
        return result.set(username=None, password=None)
    if user:
        result = result.set(username=user)
    if secret:
        result = result.set(password=secret)
    return result


def _from_jdbc(rest: str) -> URL:
    protocol, _, target = rest.partition(":")
    driver = DRIVERS.get(protocol)
    if driver is None:
        known = ", ".join(sorted(DRIVERS))
        raise ConnectorError(f"connection.url: unsupported JDBC sub-protocol {protocol!r} (supported: {known})")
    if driver == "sqlite":
        path = target.split("?", 1)[0]
        return URL.create("sqlite", database=None if path in ("", ":memory:") else path)
    parts = urlsplit(target)
    if not parts.hostname:
        raise ConnectorError(f"connection.url {('jdbc:' + rest)!r} names no host (expected jdbc:{protocol}://HOST…)")
    params = dict(parse_qsl(parts.query))
    user = params.pop("user", None) or parts.username
    password = params.pop("password", None) or parts.password
    dialect = driver.split("+", 1)[0]
    known_params = _PARAMETERS.get(dialect, {})
    query = {known_params[name]: value for name, value in params.items() if name in known_params}
    if params.get("ssl") == "true" and dialect == "postgresql":
        query.setdefault("sslmode", "require")
    return URL.create(
        driver,
        username=user,
        password=password,
        host=parts.hostname,
        port=parts.port,
        database=parts.path.lstrip("/") or None,
        query=query,
    )


def dialect_of(engine: Engine) -> str:
    """``postgresql``, ``mysql`` or ``sqlite``."""
    return engine.dialect.name


def create_engine(settings: dict[str, Any], **options: Any) -> Engine:
    """An engine for parsed ``connection.*`` settings; nothing connects until first use."""
    url = sqlalchemy_url(settings["connection.url"], settings["connection.user"], settings["connection.password"])
    if url.get_backend_name() == "sqlite":
        options.setdefault("connect_args", {"timeout": 30})
    else:
        options.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **options)


class Database:
    """Runs database work with Confluent's connection retry: ``attempts`` tries ``backoff_s`` apart.

    A connection failure (the server is down, refuses, or drops the connection) is retried; other database errors
    are the caller's to handle. ``stopped`` ends a backoff wait early.
    """

    def __init__(self, engine: Engine, attempts: int, backoff_s: float, stopped: threading.Event, what: str) -> None:
        self.engine = engine
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.stopped = stopped
        self.what = what

    @classmethod
    def from_settings(cls, settings: dict[str, Any], stopped: threading.Event, what: str) -> Database:
        return cls(
            create_engine(settings),
            settings["connection.attempts"],
            settings["connection.backoff.ms"] / 1000,
            stopped,
            what,
        )

    def run(self, work: Callable[[], T]) -> T:
        """``work()``, retried on connection errors; raises RetriableError naming the database when all fail."""
        for attempt in range(1, self.attempts + 1):
            try:
                return work()
            except (OperationalError, DBAPIError) as exc:
                if not _is_connection_error(exc):
                    raise
                message = database_message(exc)
                if attempt == self.attempts or self.stopped.is_set():
                    raise RetriableError(
                        f"{self.what}: cannot reach the database at {self.engine.url.render_as_string()} "
                        f"after {attempt} attempt(s): {message}"
                    ) from exc
                log.warning(
                    "%s: database connection failed (%s); retrying in %.1f s", self.what, message, self.backoff_s
                )
                self.stopped.wait(self.backoff_s)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


#: MySQL/MariaDB client error codes of a lost or refused connection, and of lock waits worth another try.
_MYSQL_TRANSIENT = {2002, 2003, 2006, 2013, 2055, 1205, 1213}


def _is_connection_error(exc: DBAPIError) -> bool:
    """Whether another attempt may succeed: the connection failed or dropped, the server is shutting down or
    starting, or a lock wait timed out. Errors in the statement or the data are not retried."""
    if exc.connection_invalidated:
        return True
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate is not None:  # PostgreSQL: class 08 connection exceptions, 57P0x server shutting down/starting
        return str(sqlstate).startswith(("08", "57P", "40P01"))
    args = getattr(original, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL carries the server's or client's error code first
        return args[0] in _MYSQL_TRANSIENT
    message = str(original).lower()
    # psycopg before a session exists (no SQLSTATE yet), and SQLite's busy database
    return isinstance(exc, OperationalError) and any(
        word in message for word in ("connection", "connect to", "database is locked", "server closed")
    )


#: Connect timeout of the connection check at validation, in seconds.
CHECK_TIMEOUT_S = 5
#: PostgreSQL SQLSTATEs and MySQL/MariaDB error codes of a refused login, and what libpq says of one before a
#: session exists (psycopg has no SQLSTATE then).
_LOGIN_REFUSED_CODES = {"28P01", "28000", 1045, 1698}
_LOGIN_REFUSED_TEXT = re.compile(
    r"authentication failed|no password supplied|not permitted to log in|"
    r'role ".*" does not exist'
)


def check_connection(config: Mapping[str, str]) -> dict[str, list[str]]:
    """Problems connecting with the ``connection.*`` options of ``config``, on the option to fix: a refused login
    on ``connection.password``, anything else (unreachable host, unknown database, bad URL) on ``connection.url``.
    A SQLite file is only opened read-only when it exists (connecting would create it); its directory must exist."""
    try:
        settings = CONNECTION_CONFIG.parse({key: config[key] for key in CONNECTION_CONFIG.names if key in config})
        url = sqlalchemy_url(settings["connection.url"], settings["connection.user"], settings["connection.password"])
    except ConfigError as exc:
        return exc.errors
    except ConnectorError as exc:
        return {"connection.url": [str(exc)]}
    if url.get_backend_name() == "sqlite":
        return _check_sqlite(url.database)
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": CHECK_TIMEOUT_S})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # DBAPIError, or a driver failing outside DB-API (a host name that does not resolve)
        password_in_url = url.password is not None and not settings["connection.password"]
        key = "connection.password" if login_refused(exc) and not password_in_url else "connection.url"
        return {key: [f"cannot connect to {url.render_as_string()}: {database_message(exc)}"]}
    finally:
        engine.dispose()
    return {}


def login_refused(exc: BaseException) -> bool:
    """Whether a connection failed because the server refused the login (user or password)."""
    original = getattr(exc, "orig", None) or exc
    args = getattr(original, "args", ())
    code = getattr(original, "sqlstate", None) or (args[0] if args and isinstance(args[0], int) else None)
    return code in _LOGIN_REFUSED_CODES or _LOGIN_REFUSED_TEXT.search(str(original)) is not None


def _check_sqlite(database: str | None) -> dict[str, list[str]]:
    if database is None:
        return {}
    path = Path(database)
    if not path.exists():
        if not path.absolute().parent.is_dir():
            return {"connection.url": [f"the directory of the SQLite database {database!r} does not exist"]}
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        return {"connection.url": [f"cannot open the SQLite database {database!r}: {exc}"]}
    return {}


def database_message(exc: BaseException) -> str:
    """The database's own message of an error (without SQLAlchemy's statement dump), for status traces and logs."""
    original = getattr(exc, "orig", None)
    text = str(original) if original is not None else str(exc)
    return " ".join(text.split()) or type(exc).__name__


def wait_s(started: float, interval_s: float) -> float:
    """Seconds left of ``interval_s`` since ``started`` (monotonic), never negative."""
    return max(0.0, interval_s - (time.monotonic() - started))
