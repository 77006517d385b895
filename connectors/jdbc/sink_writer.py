"""Writes a chunk of RowOps to one table in one transaction, with each dialect's upsert, and isolates bad rows.

Statements are SQLAlchemy Core constructs over the reflected table (identifiers quoted by the dialect, every value
a bound parameter):

- ``insert``: ``INSERT INTO t (…) VALUES (…)``, many rows per statement where the driver allows it;
- ``upsert``: PostgreSQL and SQLite ``INSERT … ON CONFLICT (key) DO UPDATE SET c = excluded.c`` (``DO NOTHING``
  when every column is a key column), MySQL/MariaDB ``INSERT … ON DUPLICATE KEY UPDATE c = VALUES(c)``;
- ``update``: ``UPDATE t SET … WHERE key = …`` per row;
- tombstones: ``DELETE FROM t WHERE key = …`` per row.

Consecutive ops of the same kind and columns form one statement execution; an upsert or delete execution keeps
only the last op per key (one statement may not touch a row twice on PostgreSQL, and the last op is the row's
final state anyway). When the chunk fails on a record-level error (constraint, value out of range, value the
column type refuses) the transaction is rolled back and the chunk written again in savepoints, halving failing
parts until the bad rows stand alone: they go to ``reject``, every other row is written.

Not thread-safe (statement cache); one writer per task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import mysql, postgresql, sqlite

from connectors.jdbc.connection import Database
from connectors.jdbc.sink_config import SinkSettings
from connectors.jdbc.sink_rows import RowOp
from connectors.jdbc.sink_tables import TableBinding
from connectors.jdbc.sql_types import bind_value
from hub.sdk import SinkRecord
from hub.sdk.errors import ConnectorError

#: MySQL/MariaDB check-constraint violations, which PyMySQL reports as OperationalError.
_MYSQL_RECORD_ERRORS = frozenset({3819, 4025})
_CACHE_LIMIT = 1000

Reject = Callable[[SinkRecord, BaseException], None]


@dataclass(frozen=True)
class BoundOp:
    """A RowOp with the table columns it writes."""

    op: RowOp
    binding: TableBinding


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

    def write(self, ops: Sequence[BoundOp], reject: Reject) -> None:
        """Write ``ops`` in one transaction; rows failing on their own data go to ``reject``, the others are
        written. Connection failures are retried by the Database; other database errors propagate."""

        def attempt() -> None:
            try:
                with self.db.engine.begin() as connection:
                    self._execute(connection, ops)
                return
            except Exception as exc:
                if not is_record_error(exc):
                    raise
                if len(ops) == 1:
                    reject(ops[0].op.record, exc)
                    return
            with self.db.engine.begin() as connection:
                middle = len(ops) // 2
                self._isolate(connection, ops[:middle], reject)
                self._isolate(connection, ops[middle:], reject)

        self.db.run(attempt)

    def _isolate(self, connection: sa.Connection, ops: Sequence[BoundOp], reject: Reject) -> None:
        try:
            with connection.begin_nested():
                self._execute(connection, ops)
            return
        except Exception as exc:
            if not is_record_error(exc):
                raise
            if len(ops) == 1:
                reject(ops[0].op.record, exc)
                return
        middle = len(ops) // 2
        self._isolate(connection, ops[:middle], reject)
        self._isolate(connection, ops[middle:], reject)

    def _execute(self, connection: sa.Connection, ops: Sequence[BoundOp]) -> None:
        start = 0
        while start < len(ops):
            first = ops[start]
            end = start + 1
            while end < len(ops) and ops[end].binding is first.binding and ops[end].op.delete == first.op.delete:
                end += 1
            statement = self._statement(first.binding, first.op.delete)
            if statement is not None:
                connection.execute(statement.sql, statement.parameters(ops[start:end], self.settings))
            start = end

    def _statement(self, binding: TableBinding, delete: bool) -> _Statement | None:
        found = self._statements.get((id(binding), delete))
        if found is not None and found[0] is binding:
            return found[1]
        statement = _Statement.build(binding, delete, self.settings.insert_mode, self.dialect)
        if len(self._statements) >= _CACHE_LIMIT:
            self._statements.clear()
        self._statements[(id(binding), delete)] = (binding, statement)
        return statement


@dataclass(frozen=True)
class _Statement:
    """A statement with one named parameter per column of a binding; ``unique`` keeps the last row per key."""

    sql: sa.Executable
    binding: TableBinding
    names: tuple[str, ...]
    unique: bool

    @classmethod
    def build(cls, binding: TableBinding, delete: bool, mode: str, dialect: str) -> _Statement | None:
        """The statement for ops of ``binding``; None when there is nothing to do (an update without values)."""
        table, columns = binding.table, binding.columns
        names = _parameter_names(table, len(columns))
        params = {column: sa.bindparam(name, type_=column.type) for column, name in zip(columns, names, strict=True)}
        keys = binding.keys
        if delete:
            return cls(sa.delete(table).where(*(key == params[key] for key in keys)), binding, names, unique=True)
        others = [column for column in columns if column not in keys]
        if mode == "update":
            if not others:
                return None
            update = (
                sa.update(table).where(*(key == params[key] for key in keys)).values({c: params[c] for c in others})
            )
            return cls(update, binding, names, unique=False)
        if mode == "upsert":
            return cls(_upsert(table, params, keys, others, dialect), binding, names, unique=True)
        return cls(sa.insert(table).values(params), binding, names, unique=False)

    def parameters(self, ops: Sequence[BoundOp], settings: SinkSettings) -> list[dict[str, Any]]:
        specs, columns, zone = self.binding.shape.columns, self.binding.columns, settings.db_timezone
        rows = [
            {
                name: bind_value(value, spec.schema, column.type, zone)
                for name, value, spec, column in zip(self.names, bound.op.values, specs, columns, strict=True)
            }
            for bound in ops
        ]
        if not self.unique or len(rows) < 2:
            return rows
        key_names = [name for name, spec in zip(self.names, specs, strict=True) if spec.primary]
        last: dict[Any, dict[str, Any]] = {}
        for row in rows:
            try:
                key = tuple(row[name] for name in key_names)
                last.pop(key, None)
                last[key] = row
            except TypeError:  # an unhashable key value: keep every row
                return rows
        return list(last.values())


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
