"""Writes a chunk of row operations to one table in one transaction, with each dialect's upsert, and isolates bad rows.

Statements are SQLAlchemy Core constructs over the reflected table (identifiers quoted by the dialect, every value
a bound parameter):

- ``insert``: ``INSERT INTO t (…) VALUES (…)``, many rows per statement where the driver allows it;
- ``upsert``: PostgreSQL and SQLite ``INSERT … ON CONFLICT (key) DO UPDATE SET c = excluded.c`` (``DO NOTHING``
  when every column is a key column), MySQL/MariaDB ``INSERT … ON DUPLICATE KEY UPDATE c = VALUES(c)``;
- ``update``: ``UPDATE t SET … WHERE key = …`` per row;
- tombstones: ``DELETE FROM t WHERE key = …`` per row.

Consecutive ops of the same kind and columns form one statement execution; an upsert or delete execution keeps
only the last op per key (one statement may not touch a row twice on PostgreSQL, and the last op is the row's
final state anyway). Values are converted for the driver by functions chosen once per column
(``sql_types.bind_converter``); most columns need none.

On PostgreSQL, inserts and upserts go through ``COPY`` instead (``postgres_copy``): each run of rows is copied into the
table, or for upserts into a staging table merged with one ``INSERT … SELECT … ON CONFLICT``; deletes, updates and
the rows of bindings COPY cannot take exactly still run the statements above, in the same transaction.

When the chunk fails on a record-level error (constraint, value out of range, value the column type refuses) the
transaction is rolled back and the chunk written again with statements in savepoints, halving failing parts until
the bad rows stand alone: they go to ``reject``, every other row is written. When the COPY path fails for another
reason (the connection aside), the chunk is written again with statements from the start.

Not thread-safe (statement cache); one writer per task.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite

from connectors.jdbc.connection import Database, database_message
from connectors.jdbc.sink.config import SinkSettings
from connectors.jdbc.sink.postgres_copy import CopySession, PostgresCopier
from connectors.jdbc.sink.tables import TableBinding
from connectors.jdbc.sql_types import Convert, bind_converter
from hub.sdk import SinkRecord
from hub.sdk.errors import ConnectorError

log = logging.getLogger(__name__)

#: MySQL/MariaDB check-constraint violations, which PyMySQL reports as OperationalError.
_MYSQL_RECORD_ERRORS = frozenset({3819, 4025})
_CACHE_LIMIT = 1000

Reject = Callable[[SinkRecord, BaseException], None]


class BoundOp(NamedTuple):
    """One record's write (or the delete of its key's row) with the table columns it writes, and its value per
    column (as read from the record, not yet converted for the database)."""

    record: SinkRecord
    delete: bool
    binding: TableBinding
    values: tuple[Any, ...]


def is_record_error(exc: BaseException) -> bool:
    """Whether ``exc`` blames the row being written (so other rows can still be written) rather than the database."""
    if isinstance(exc, sa_exc.IntegrityError | sa_exc.DataError):
        return True
    if isinstance(exc, sa_exc.StatementError) and not isinstance(exc, sa_exc.DBAPIError):
        return True  # the column type could not turn the value into a parameter
    if isinstance(exc, sa_exc.OperationalError):
        args: tuple[Any, ...] = getattr(exc.orig, "args", ())
        return bool(args) and args[0] in _MYSQL_RECORD_ERRORS
    return False


def enable_savepoints(engine: sa.Engine) -> None:
    """Let SQLite savepoints nest in a transaction: the stdlib driver would otherwise commit at each RELEASE,
    because it does not emit BEGIN before a SAVEPOINT (SQLAlchemy's documented recipe)."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")


class ChunkWriter:
    """Executes bound ops in order (see the module docstring)."""

    def __init__(self, db: Database, settings: SinkSettings) -> None:
        self.db = db
        self.settings = settings
        self.dialect = db.engine.dialect.name
        self._statements: dict[tuple[int, bool], tuple[TableBinding, _Statement | None]] = {}
        copies = self.dialect == "postgresql" and settings.insert_mode in ("insert", "upsert")
        self._copier = PostgresCopier(settings) if copies else None

    def write(self, ops: Sequence[BoundOp], reject: Reject) -> None:
        """Write ``ops`` in one transaction; rows failing on their own data go to ``reject``, the others are
        written. Connection failures are retried by the Database; other database errors propagate."""

        def attempt() -> None:
            if self._copier is not None:
                error = self._copy_attempt(self._copier, ops)
                if error is None:
                    return
                if is_record_error(error):
                    log.debug(
                        "chunk of %d rows refused (%s); isolating the bad rows", len(ops), database_message(error)
                    )
                    with self.db.engine.begin() as connection:
                        self._split(connection, ops, reject)
                    return
                log.debug("COPY path failed (%s); writing the chunk with statements", database_message(error))
            try:
                with self.db.engine.begin() as connection:
                    self._execute(connection, ops)
                return
            except Exception as exc:
                if not is_record_error(exc):
                    raise
                if len(ops) == 1:
                    reject(ops[0].record, exc)
                    return
            with self.db.engine.begin() as connection:
                self._split(connection, ops, reject)

        self.db.run(attempt)

    def _copy_attempt(self, copier: PostgresCopier, ops: Sequence[BoundOp]) -> Exception | None:
        """Write ``ops`` with COPY where possible, in one transaction; the error when it rolled back (a lost
        connection is raised, for the Database to retry)."""
        with self.db.engine.connect() as connection:
            session = copier.session(connection)
            try:
                with connection.begin():
                    self._execute(connection, ops, session)
            except Exception as exc:
                if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
                    raise
                return exc
        session.committed()
        return None

    def _split(self, connection: sa.Connection, ops: Sequence[BoundOp], reject: Reject) -> None:
        """Write the halves of a failed chunk in savepoints (a single op alone)."""
        if len(ops) == 1:
            self._isolate(connection, ops, reject)
            return
        middle = len(ops) // 2
        self._isolate(connection, ops[:middle], reject)
        self._isolate(connection, ops[middle:], reject)

    def _isolate(self, connection: sa.Connection, ops: Sequence[BoundOp], reject: Reject) -> None:
        try:
            with connection.begin_nested():
                self._execute(connection, ops)
            return
        except Exception as exc:
            if not is_record_error(exc):
                raise
            if len(ops) == 1:
                reject(ops[0].record, exc)
                return
        middle = len(ops) // 2
        self._isolate(connection, ops[:middle], reject)
        self._isolate(connection, ops[middle:], reject)

    def _execute(self, connection: sa.Connection, ops: Sequence[BoundOp], session: CopySession | None = None) -> None:
        start, count = 0, len(ops)
        while start < count:
            first = ops[start]
            binding, delete = first.binding, first.delete
            end = start + 1
            while end < count and ops[end].binding is binding and ops[end].delete == delete:
                end += 1
            statement = self._statement(binding, delete)
            if statement is not None:
                rows = statement.unique_rows([bound.values for bound in ops[start:end]])
                plan = None if session is None or delete else session.plan(binding)
                if session is not None and plan is not None:
                    session.copy(plan, rows)
                else:
                    connection.execute(statement.sql, statement.parameters(rows))
            start = end

    def _statement(self, binding: TableBinding, delete: bool) -> _Statement | None:
        found = self._statements.get((id(binding), delete))
        if found is not None and found[0] is binding:
            return found[1]
        statement = _Statement.build(binding, delete, self.settings.insert_mode, self.dialect, self.settings)
        if len(self._statements) >= _CACHE_LIMIT:
            self._statements.clear()
        self._statements[(id(binding), delete)] = (binding, statement)
        return statement


@dataclass(frozen=True)
class _Statement:
    """A statement with one named parameter per column of a binding, the conversion of each column's values for
    the driver, and ``unique``: whether an execution keeps only the last row per key."""

    sql: sa.Executable
    binding: TableBinding
    names: tuple[str, ...]
    unique: bool
    converters: tuple[tuple[int, Convert], ...]
    key_converters: tuple[tuple[int, Convert | None], ...]

    @classmethod
    def build(
        cls, binding: TableBinding, delete: bool, mode: str, dialect: str, settings: SinkSettings
    ) -> _Statement | None:
        """The statement for ops of ``binding``; None when there is nothing to do (an update without values)."""
        table, columns = binding.table, binding.columns
        names = _parameter_names(table, len(columns))
        params = {column: sa.bindparam(name, type_=column.type) for column, name in zip(columns, names, strict=True)}
        keys = binding.keys
        specs = binding.shape.columns
        converters = [
            bind_converter(spec.schema, column.type, settings.db_timezone)
            for spec, column in zip(specs, columns, strict=True)
        ]
        conversions = tuple((position, convert) for position, convert in enumerate(converters) if convert is not None)
        key_converters = tuple((position, converters[position]) for position, spec in enumerate(specs) if spec.primary)

        def statement(sql: sa.Executable, unique: bool) -> _Statement:
            return cls(sql, binding, names, unique, conversions, key_converters)

        if delete:
            return statement(sa.delete(table).where(*(key == params[key] for key in keys)), unique=True)
        others = [column for column in columns if column not in keys]
        if mode == "update":
            if not others:
                return None
            update = (
                sa.update(table).where(*(key == params[key] for key in keys)).values({c: params[c] for c in others})
            )
            return statement(update, unique=False)
        if mode == "upsert":
            return statement(_upsert(table, params, keys, others, dialect), unique=True)
        return statement(sa.insert(table).values(params), unique=False)

    def parameters(self, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """One parameter set per row of values, converted for the driver."""
        names, conversions = self.names, self.converters
        if not conversions:
            return [dict(zip(names, values, strict=True)) for values in rows]
        parameters = []
        for values in rows:
            converted = list(values)
            for position, convert in conversions:
                converted[position] = convert(converted[position])
            parameters.append(dict(zip(names, converted, strict=True)))
        return parameters

    def unique_rows(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """``rows`` (values of consecutive ops), or when ``unique`` the last row per key (keys compared as the
        driver receives them), in the order of those last rows. All of them when a key value cannot be hashed."""
        if not self.unique or len(rows) < 2:
            return rows
        try:
            keys = list(map(self.key_of, rows))
            if len(set(keys)) == len(keys):
                return rows
        except TypeError:  # an unhashable key value: keep every row
            return rows
        last: dict[Any, tuple[Any, ...]] = {}
        for key, values in zip(keys, rows, strict=True):
            last.pop(key, None)
            last[key] = values
        return list(last.values())

    @functools.cached_property
    def key_of(self) -> Callable[[tuple[Any, ...]], Any]:
        """The key of a row's values, as the driver receives it."""
        keys = self.key_converters
        if keys and all(convert is None for _, convert in keys):
            return operator.itemgetter(*(position for position, _ in keys))
        return lambda values: tuple(values[at] if convert is None else convert(values[at]) for at, convert in keys)


def _parameter_names(table: sa.Table, count: int) -> tuple[str, ...]:
    """Parameter names that are no column's name (SQLAlchemy reserves those in VALUES and SET)."""
    prefix = "p_"
    while any(column.key.startswith(prefix) for column in table.columns):
        prefix = "_" + prefix
    return tuple(f"{prefix}{index}" for index in range(count))


def _upsert(
    table: sa.Table,
    params: dict[sa.Column[Any], sa.BindParameter[Any]],
    keys: Sequence[sa.Column[Any]],
    others: Sequence[sa.Column[Any]],
    dialect: str,
) -> sa.Executable:
    if dialect in ("mysql", "mariadb"):
        mysql_statement = mysql.insert(table).values(params)
        updated = others or keys[:1]  # with key columns only, a no-op update keeps errors as errors (no IGNORE)
        return mysql_statement.on_duplicate_key_update({c: mysql_statement.inserted[c.key] for c in updated})
    if dialect == "postgresql":
        statement: postgresql.Insert | sqlite.Insert = postgresql.insert(table).values(params)
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(params)
    else:
        raise ConnectorError(f"insert.mode=upsert is not implemented for the {dialect} dialect")
    if not others:
        return statement.on_conflict_do_nothing(index_elements=list(keys))
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c.key] for c in others}
    )
