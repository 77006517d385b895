"""The sink's destination tables: reflected once and cached, created (``auto.create``) and widened
(``auto.evolve``) when records need it, and bound to the columns each record shape writes.

Reflection goes through SQLAlchemy's inspector, so tables made by hand are used as they are; the cache is
refreshed after every CREATE or ALTER and when a shape names a column the cached table lacks (someone may have
added it). DDL never drops or changes a column: a missing column is added only when its field is optional or has a
default, so existing rows stay valid.

Columns are found by exact name first, then ignoring case (a table made by hand with unquoted names on PostgreSQL
has lower-case names). With ``quote.sql.identifiers=never`` PostgreSQL names are folded to lower case before use,
as the database folds unquoted names.

Not thread-safe; one TableManager per task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import ExecutableDDLElement
from sqlalchemy.sql.elements import quoted_name

from connectors.jdbc.connection import Database, database_message
from connectors.jdbc.sink.config import SinkSettings, TableId
from connectors.jdbc.sink.rows import ColumnSpec, RowShape
from connectors.jdbc.sql_types import column_type, default_clause
from hub.sdk.errors import ConnectorError, DataError

_CACHE_LIMIT = 1000


class AddColumn(ExecutableDDLElement):
    """``ALTER TABLE … ADD COLUMN …`` for a column of a table (SQLAlchemy Core has no ALTER construct)."""

    inherit_cache = False

    def __init__(self, column: sa.Column[Any]) -> None:
        self.column = column


@compiles(AddColumn)
def _compile_add_column(element: AddColumn, compiler: Any, **kw: Any) -> str:
    table = compiler.preparer.format_table(element.column.table)
    return f"ALTER TABLE {table} ADD COLUMN {compiler.get_column_specification(element.column)}"


@dataclass(frozen=True)
class TableBinding:
    """The table records of one shape go to, with the table's column for each column of the shape."""

    table: sa.Table
    shape: RowShape
    columns: tuple[sa.Column[Any], ...]

    @property
    def keys(self) -> tuple[sa.Column[Any], ...]:
        return tuple(column for column, spec in zip(self.columns, self.shape.columns, strict=True) if spec.primary)


class TableManager:
    """Finds, creates and evolves destination tables (see the module docstring)."""

    def __init__(self, db: Database, settings: SinkSettings) -> None:
        self.db = db
        self.settings = settings
        self.dialect = db.engine.dialect.name
        self._tables: dict[TableId, sa.Table] = {}
        self._bindings: dict[tuple[TableId, int], TableBinding] = {}

    def bind(self, table_id: TableId, shape: RowShape, *, create: bool = True) -> TableBinding | None:
        """The binding of ``shape`` to its table, creating or evolving the table as the settings allow; None when
        the table does not exist and ``create`` is false (a delete has nothing to do).

        DataError when records of this shape cannot be written (schemaless data the table has no column for);
        ConnectorError when the table cannot take them as configured (missing table, missing required column).
        """
        cached = self._bindings.get((table_id, id(shape)))
        if cached is not None and cached.shape is shape and cached.table is self._tables.get(table_id):
            return cached
        table = self._tables.get(table_id)
        if table is None:
            table = self._load(table_id, shape, create)
            if table is None:
                return None
        if self._missing(table, shape):
            table = self._reflected(table_id)  # another writer may have added the columns
            missing = self._missing(table, shape)
            if missing:
                table = self._evolve(table_id, table, missing)
        self._tables[table_id] = table
        columns = [self._find(table, spec.name) for spec in shape.columns]
        binding = TableBinding(table, shape, tuple(column for column in columns if column is not None))
        if len(binding.columns) != len(columns):
            raise ConnectorError(
                f"table {table_id} lacks columns for {', '.join(spec.name for spec in self._missing(table, shape))}"
            )
        if len(self._bindings) >= _CACHE_LIMIT:
            self._bindings.clear()
        self._bindings[(table_id, id(shape))] = binding
        return binding

    def forget(self) -> None:
        """Drop every cached table (after an error that may mean the cache is stale)."""
        self._tables.clear()
        self._bindings.clear()

    # --- names -------------------------------------------------------------------------------------------------

    def identifier(self, name: str) -> str:
        """A table or column name as this sink writes it (quoted, or folded as the database folds it)."""
        if self.settings.quote_identifiers:
            return quoted_name(name, True)
        return name.lower() if self.dialect == "postgresql" else name

    def _schema(self, table_id: TableId) -> str | None:
        return self.identifier(table_id.schema) if table_id.schema else None

    def _find(self, table: sa.Table, name: str) -> sa.Column[Any] | None:
        wanted = self.identifier(name)
        column = table.columns.get(wanted)
        if column is not None:
            return column
        folded = wanted.lower()
        return next((column for column in table.columns if column.name.lower() == folded), None)

    def _missing(self, table: sa.Table, shape: RowShape) -> list[ColumnSpec]:
        return [spec for spec in shape.columns if self._find(table, spec.name) is None]

    # --- reflection --------------------------------------------------------------------------------------------

    def _reflect(self, table_id: TableId) -> sa.Table | None:
        name, schema = self.identifier(table_id.name), self._schema(table_id)

        def load() -> sa.Table | None:
            with self.db.engine.connect() as connection:
                if not sa.inspect(connection).has_table(name, schema=schema):
                    return None
                return sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)

        return self.db.run(load)

    def _reflected(self, table_id: TableId) -> sa.Table:
        table = self._reflect(table_id)
        if table is None:
            raise ConnectorError(f"table {table_id} vanished while the sink was changing it")
        return table

    def _load(self, table_id: TableId, shape: RowShape, create: bool) -> sa.Table | None:
        table = self._reflect(table_id)
        if table is not None or not create:
            return table
        if not self.settings.auto_create:
            raise ConnectorError(f"table {table_id} does not exist: create it, or set auto.create=true")
        try:
            self._create(table_id, shape)
        except ConnectorError:
            table = self._reflect(table_id)  # another task may have created it first
            if table is None:
                raise
            return table
        return self._reflected(table_id)

    # --- DDL ---------------------------------------------------------------------------------------------------

    def _create(self, table_id: TableId, shape: RowShape) -> None:
        if shape.schemaless:
            raise DataError(
                f"auto.create cannot create table {table_id} from records without a schema (fields "
                f"{', '.join(shape.schemaless)}): create the table first, or send records with schemas"
            )
        columns = [self._new_column(spec) for spec in shape.columns]
        keys = [column.name for column, spec in zip(columns, shape.columns, strict=True) if spec.primary]
        constraints = [sa.PrimaryKeyConstraint(*keys)] if keys else []
        table = sa.Table(
            self.identifier(table_id.name), sa.MetaData(), *columns, *constraints, schema=self._schema(table_id)
        )
        self._ddl(table_id, f"create table {table_id}", lambda connection: table.create(connection, checkfirst=True))

    def _evolve(self, table_id: TableId, table: sa.Table, missing: list[ColumnSpec]) -> sa.Table:
        """The table with the missing columns added (by this sink, or by another writer meanwhile)."""
        names = ", ".join(spec.name for spec in missing)
        schemaless = [spec.name for spec in missing if spec.schema is None]
        if schemaless:
            raise DataError(
                f"table {table_id} has no column for the field(s) {', '.join(schemaless)} of a record "
                "without a schema; add the columns, or send records with schemas"
            )
        if not self.settings.auto_evolve:
            raise ConnectorError(
                f"table {table_id} has no column for the field(s) {names}: add them, or set auto.evolve=true"
            )
        for spec in missing:
            self._check_addable(table_id, spec)
        target = sa.Table(table.name, sa.MetaData(), schema=table.schema)
        additions = [AddColumn(self._new_column(spec, target)) for spec in missing]

        def alter(connection: sa.Connection) -> None:
            for addition in additions:
                connection.execute(addition)

        try:
            self._ddl(table_id, f"add the column(s) {names} to table {table_id}", alter)
        except ConnectorError:
            table = self._reflected(table_id)  # another task may have added them first
            if self._missing(table, RowShape(tuple(missing))):
                raise
            return table
        return self._reflected(table_id)

    def _check_addable(self, table_id: TableId, spec: ColumnSpec) -> None:
        assert spec.schema is not None
        if spec.primary:
            raise ConnectorError(
                f"table {table_id} has no column {spec.name!r} for its primary key; "
                "auto.evolve adds value columns only, never key columns"
            )
        if not spec.schema.optional and spec.schema.default is None:
            raise ConnectorError(
                f"auto.evolve cannot add the field {spec.name!r} to table {table_id}: it is required and has no "
                "default, so existing rows would have no value; make the field optional or give it a default"
            )

    def _new_column(self, spec: ColumnSpec, table: sa.Table | None = None) -> sa.Column[Any]:
        """A column for ``spec``; added to an existing ``table`` it is nullable unless a DEFAULT fills old rows."""
        assert spec.schema is not None
        default = default_clause(spec.schema, self.dialect)
        nullable = not spec.primary and (spec.schema.optional or (table is not None and default is None))
        column: sa.Column[Any] = sa.Column(
            self.identifier(spec.name),
            column_type(spec.schema, self.dialect, key=spec.primary),
            nullable=nullable,
            server_default=default,
            autoincrement=False,
        )
        if table is not None:
            table.append_column(column)
        return column

    def _ddl(self, table_id: TableId, what: str, change: Any) -> None:
        def run() -> None:
            with self.db.engine.begin() as connection:
                change(connection)

        try:
            self.db.run(run)
        except sa_exc.DBAPIError as exc:
            raise ConnectorError(f"could not {what}: {database_message(exc)}") from exc
        finally:
            self._tables.pop(table_id, None)
