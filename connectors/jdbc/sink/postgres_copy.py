"""PostgreSQL's fast path for JdbcSink inserts and upserts: rows sent with ``COPY … FROM STDIN (FORMAT BINARY)``
instead of one parameter set per row.

- ``insert.mode=insert``: ``COPY target (columns) FROM STDIN`` straight into the table;
- ``insert.mode=upsert``: ``COPY`` into a session temporary staging table, then one
  ``INSERT INTO target (columns) SELECT columns FROM staging ON CONFLICT (keys) DO UPDATE SET c = EXCLUDED.c``
  (``DO NOTHING`` when every column is a key column), the statement the statement path runs row by row. The
  caller has kept only the last row per key, as for that statement.

The staging table is ``CREATE TEMP TABLE … ON COMMIT DELETE ROWS AS SELECT columns FROM target WITH NO DATA``:
the target's column types (with their length, precision and scale) and nothing else, so no constraint, default
or sequence of the target is touched before the final INSERT applies them. There is one per target table and
column set, created in the first transaction that needs it on a connection and remembered in that connection's
info once the transaction commits; its rows vanish at each commit.

Everything runs on the SQLAlchemy connection's psycopg connection, inside the caller's transaction. Identifiers
are composed with psycopg.sql (always quoted, with the names the database reflected); values only travel as COPY
data. Driver errors are raised as SQLAlchemy's DBAPIError subclasses (IntegrityError, DataError, …), with
``connection_invalidated`` set (and the connection invalidated) when the connection was lost.

A binding takes this path only when every column pairs a schema and a column type whose binary COPY form stores
what a bound parameter would (``copy_forms``) and the target is a plain or partitioned table without rules
or row-level security (COPY ignores rules and refuses row security). When COPY or the staging table is refused
for a reason other than the data (privileges, features, a binary format the column does not read), the binding
(or, for staging, every upsert) is written with statements for the rest of the task, with a warning.

Not thread-safe (plan cache); one copier per task.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy import exc as sa_exc

from connectors.jdbc.sink.config import SinkSettings
from connectors.jdbc.sink.copy_forms import NotCopyableError, copy_form
from connectors.jdbc.sink.tables import TableBinding
from connectors.jdbc.sql_types import Convert

log = logging.getLogger(__name__)
T = TypeVar("T")

_CACHE_LIMIT = 1000
#: Key of the set of staging tables a connection has, in the connection's (persistent) info dictionary.
_STAGING_INFO = "hub.jdbc_sink.staging"
#: Relation kinds COPY FROM writes like INSERT: ordinary and partitioned tables.
_TABLE_KINDS = ("r", "p")
_BadBinaryFormat = psycopg.errors.InvalidBinaryRepresentation
_RELATION_QUERY = (
    "SELECT relkind, relhasrules, relrowsecurity FROM pg_catalog.pg_class WHERE oid = pg_catalog.to_regclass(%s)"
)


@dataclass
class CopyPlan:
    """How rows of one binding are copied: converters by column position, the COPY, and for upserts the staging
    table and the statement moving its rows into the target. ``refused`` is set when the database refused COPY for
    the table (not for its rows)."""

    binding: TableBinding
    converters: tuple[tuple[int, Convert], ...]
    types: tuple[str, ...]  # of each column's binary format
    copy: sql.Composed
    staging: str | None = None
    create: sql.Composed | None = None
    merge: sql.Composed | None = None
    refused: bool = False


class CopySession:
    """The COPY work of one transaction on one connection: which staging tables it created or already filled."""

    def __init__(self, copier: PostgresCopier, connection: sa.Connection) -> None:
        self.copier = copier
        self.connection = connection
        self.created: set[str] = connection.info.setdefault(_STAGING_INFO, set())
        self.pending: set[str] = set()
        self.filled: set[str] = set()

    def plan(self, binding: TableBinding) -> CopyPlan | None:
        """How to copy rows of ``binding``; None when they must go through statements."""
        return self.copier.plan(self, binding)

    def copy(self, plan: CopyPlan, rows: Iterable[Sequence[Any]]) -> None:
        """Write ``rows`` (values in the binding's column order, not yet converted) in this transaction."""
        self.copier.copy(self, plan, rows)

    def committed(self) -> None:
        """The transaction committed: the staging tables it created stay for the connection's next transactions."""
        self.created.update(self.pending)
        self.pending.clear()


class PostgresCopier:
    """Writes runs of rows with COPY (see the module docstring)."""

    def __init__(self, settings: SinkSettings) -> None:
        self.settings = settings
        self.upsert = settings.insert_mode == "upsert"
        self._plans: dict[int, tuple[TableBinding, CopyPlan | None]] = {}
        self._staging_names = (f"hub_sink_staging_{number}" for number in itertools.count(1))
        self._staging: dict[tuple[Any, ...], str] = {}
        self._staging_refused = False

    def session(self, connection: sa.Connection) -> CopySession:
        """The COPY work of the transaction about to begin on ``connection``."""
        return CopySession(self, connection)

    def plan(self, session: CopySession, binding: TableBinding) -> CopyPlan | None:
        """How to copy rows of ``binding``; None when they must go through statements."""
        found = self._plans.get(id(binding))
        if found is not None and found[0] is binding:
            plan = found[1]
        else:
            plan = self._plan(session, binding)
            if len(self._plans) >= _CACHE_LIMIT:
                self._plans.clear()
            self._plans[id(binding)] = (binding, plan)
        if plan is None or plan.refused or (plan.staging is not None and self._staging_refused):
            return None
        return plan

    def copy(self, session: CopySession, plan: CopyPlan, rows: Iterable[Sequence[Any]]) -> None:
        """Write ``rows`` (values in the binding's column order, not yet converted) in the session's transaction."""
        with _driver(session.connection).cursor() as cursor:
            if plan.staging is not None:
                if plan.staging in session.filled:
                    truncate = sql.SQL("TRUNCATE {}").format(_temp(plan.staging))
                    self._execute(session, plan, truncate, cursor.execute)
                elif plan.staging not in session.created and plan.staging not in session.pending:
                    assert plan.create is not None
                    self._execute(session, plan, plan.create, cursor.execute, staging=True)
                    session.pending.add(plan.staging)
                session.filled.add(plan.staging)
            self._execute(session, plan, plan.copy, lambda copy: _copy_rows(cursor, copy, rows, plan))
            if plan.merge is not None:
                self._execute(session, plan, plan.merge, cursor.execute)

    # --- plans -------------------------------------------------------------------------------------------------

    def _plan(self, session: CopySession, binding: TableBinding) -> CopyPlan | None:
        zone = self.settings.db_timezone
        try:
            forms = [
                copy_form(spec.schema, column.type, zone)
                for spec, column in zip(binding.shape.columns, binding.columns, strict=True)
            ]
        except NotCopyableError as exc:
            log.debug("rows of table %s are written with statements: %s", binding.table.fullname, exc)
            return None
        target = _table(binding.table)
        if not self._is_plain_table(session, target):
            return None
        converters = tuple((at, form.convert) for at, form in enumerate(forms) if form.convert is not None)
        types = tuple(form.type_name for form in forms)
        names = sql.SQL(", ").join(sql.Identifier(str(column.name)) for column in binding.columns)
        if not self.upsert:
            copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, names)
            return CopyPlan(binding, converters, types, copy)
        staging = self._staging_name(session, binding)
        create = sql.SQL(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} WITH NO DATA"
        ).format(_temp(staging), names, target)
        copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(_temp(staging), names)
        keys = [str(column.name) for column in binding.keys]
        others = [str(column.name) for column in binding.columns if column not in binding.keys]
        if others:
            action: sql.Composable = sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(name), sql.Identifier(name)) for name in others
                )
            )
        else:
            action = sql.SQL("DO NOTHING")
        merge = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
            target, names, names, _temp(staging), sql.SQL(", ").join(map(sql.Identifier, keys)), action
        )
        return CopyPlan(binding, converters, types, copy, staging, create, merge)

    def _is_plain_table(self, session: CopySession, target: sql.Identifier) -> bool:
        driver = _driver(session.connection)
        with driver.cursor() as cursor:
            name = target.as_string(driver)
            row = _driver_call(session.connection, lambda: cursor.execute(_RELATION_QUERY, (name,)).fetchone())
        if row is None:
            return False
        kind, rules, row_security = row
        return kind in _TABLE_KINDS and not rules and not row_security

    def _staging_name(self, session: CopySession, binding: TableBinding) -> str:
        dialect = session.connection.dialect
        key = (
            binding.table.schema,
            binding.table.name,
            tuple((str(column.name), str(column.type.compile(dialect=dialect))) for column in binding.columns),
        )
        name = self._staging.get(key)
        if name is None:
            name = self._staging[key] = next(self._staging_names)
        return name

    # --- errors ------------------------------------------------------------------------------------------------

    def _execute(
        self,
        session: CopySession,
        plan: CopyPlan,
        statement: sql.Composed,
        work: Callable[[sql.Composed], Any],
        *,
        staging: bool = False,
    ) -> None:
        try:
            _driver_call(session.connection, lambda: work(statement), statement)
        except sa_exc.DBAPIError as exc:
            refused = isinstance(exc.orig, psycopg.ProgrammingError | psycopg.NotSupportedError | _BadBinaryFormat)
            if refused and not exc.connection_invalidated:
                # refused for what the statement is (privileges, a feature, a binary format the column does not
                # read), not for the rows: statements from now on
                if staging:
                    self._staging_refused = True
                else:
                    plan.refused = True
                log.warning(
                    "table %s: COPY path refused (%s); rows are written with statements from now on",
                    plan.binding.table.fullname,
                    " ".join(str(exc.orig).split()),
                )
            raise


def _copy_rows(
    cursor: psycopg.Cursor[Any], statement: sql.Composed, rows: Iterable[Sequence[Any]], plan: CopyPlan
) -> None:
    converters = plan.converters
    with cursor.copy(statement) as copy:
        copy.set_types(list(plan.types))
        write = copy.write_row
        if not converters:
            for values in rows:
                write(values)
        elif len(converters) == 1:
            [(position, convert)] = converters
            for values in rows:
                value = values[position]
                converted = convert(value)
                if converted is value:
                    write(values)
                else:
                    row = list(values)
                    row[position] = converted
                    write(row)
        else:
            for values in rows:
                row = list(values)
                for position, convert in converters:
                    row[position] = convert(row[position])
                write(row)


def _driver_call(connection: sa.Connection, work: Callable[[], T], statement: sql.Composable | None = None) -> T:
    """``work()`` on the connection's psycopg connection, its errors raised as SQLAlchemy's (as SQLAlchemy raises
    them for its own statements), the connection invalidated when it was lost."""
    try:
        return work()
    except psycopg.Error as exc:
        driver = _driver(connection)
        lost = bool(driver.closed or driver.broken)
        if lost:
            connection.invalidate(exc)
        text = statement.as_string(driver) if statement is not None and not lost else None
        wrapped = sa_exc.DBAPIError.instance(
            text, None, exc, psycopg.Error, connection_invalidated=lost, dialect=connection.dialect
        )
        assert isinstance(wrapped, sa_exc.DBAPIError)
        raise wrapped from exc


def _driver(connection: sa.Connection) -> psycopg.Connection[Any]:
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def _table(table: sa.Table) -> sql.Identifier:
    return sql.Identifier(table.schema, table.name) if table.schema else sql.Identifier(table.name)


def _temp(name: str) -> sql.Identifier:
    return sql.Identifier("pg_temp", name)
