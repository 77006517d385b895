"""One table (or custom query) read by a JDBC source task: the query each mode runs, and the offsets it stores.

Modes, as in Confluent's connector:

- ``bulk``: every row, every poll; no offset.
- ``incrementing``: rows whose incrementing column is above the stored value, in that order.
- ``timestamp``: rows whose timestamp is after the stored one and before the database's "now" minus
  ``timestamp.delay.interval.ms``, in timestamp order.
- ``timestamp+incrementing``: ordered by (timestamp, incrementing): rows after the stored pair, before "now".

Offsets are Confluent's: the partition ``{"protocol": "1", "table": NAME}`` (``{"query": "query"}`` for a custom
query); the offset ``{"incrementing": N}`` and/or ``{"timestamp": EPOCH_MS, "timestamp_nanos": NANOS_OF_SECOND}``.
Two weaknesses of the reference are fixed here:

- Timestamps are compared at the database's full precision: the offset keeps the microseconds (in
  ``timestamp_nanos``) and the query binds them back exactly, so no row is read twice or skipped for rounding.
- In ``timestamp`` mode a row's offset only moves to its timestamp once every row sharing that timestamp has been
  read (the next row has a later one, or the result ended); until then it keeps the previous timestamp. A restart
  in the middle of a group of equal timestamps reads the whole group again instead of skipping its rest.

Results stream through a server-side cursor (``stream_results``), ``batch.max.rows`` rows per poll, so a table of any
size is read in bounded memory; the cursor stays open across polls until the result is exhausted.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine

from connectors.jdbc.column_schemas import ColumnMapping, column_mapping, same, table_schema, value_mapping
from hub.sdk import SourceRecord, Struct
from hub.sdk.errors import ConnectorError
from hub.sdk.schema import Schema, timestamp_to_millis

log = logging.getLogger(__name__)

MODES = ("bulk", "incrementing", "timestamp", "timestamp+incrementing")
QUERY_PARTITION = {"query": "query"}
_UTC = dt.UTC


@dataclass(frozen=True)
class QuerySpec:
    """What a querier reads and how (the task's parsed settings that matter to one table)."""

    mode: str
    incrementing_column: str
    timestamp_columns: tuple[str, ...]
    timestamp_delay_s: float
    timestamp_initial_ms: int | None
    numeric_mapping: str
    validate_non_null: bool
    batch_max_rows: int
    topic_prefix: str


def offset_timestamp(offset: Mapping[str, Any]) -> dt.datetime | None:
    """The timestamp an offset stores, at microsecond precision (UTC)."""
    if "timestamp" not in offset or offset["timestamp"] is None:
        return None
    millis = int(offset["timestamp"])
    seconds = millis // 1000
    nanos = int(offset.get("timestamp_nanos") or (millis % 1000) * 1_000_000)
    return dt.datetime.fromtimestamp(seconds, _UTC).replace(microsecond=nanos // 1000)


def timestamp_offset(value: dt.datetime) -> dict[str, int]:
    """``{"timestamp": EPOCH_MS, "timestamp_nanos": NANOS_OF_SECOND}`` for a UTC timestamp."""
    return {"timestamp": timestamp_to_millis(value), "timestamp_nanos": value.microsecond * 1000}


@dataclass
class TableQuerier:
    """Reads one table or query in the spec's mode, resuming from ``offset``; not thread-safe (one task's thread)."""

    engine: Engine
    spec: QuerySpec
    table: str | None  # schema-qualified name, or None for the custom query
    query: str | None
    offset: dict[str, Any] = field(default_factory=dict)
    next_due: float = 0.0
    _connection: Connection | None = None
    _result: CursorResult[Any] | None = None
    _mappings: list[ColumnMapping] | None = None
    _schema: Schema | None = None
    _held: tuple[Any, ...] | None = None
    _group_start: dict[str, Any] | None = None
    _aware_timestamps: bool = True

    @property
    def partition(self) -> dict[str, str]:
        return {"protocol": "1", "table": self.table} if self.table else dict(QUERY_PARTITION)

    @property
    def topic(self) -> str:
        if self.table is None:
            return self.spec.topic_prefix
        return self.spec.topic_prefix + self.table.rsplit(".", 1)[-1]

    @property
    def name(self) -> str:
        return self.table or "query"

    # --- the statement --------------------------------------------------------------------------------------------

    def _selectable(self) -> sa.FromClause:
        if self.table is not None:
            schema, _, name = self.table.rpartition(".")
            return sa.table(name, schema=schema or None)
        return sa.text(self.query or "").columns().subquery("hub_query")

    def _timestamp_expression(self) -> sa.ColumnElement[Any]:
        columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in self.spec.timestamp_columns]
        return columns[0] if len(columns) == 1 else sa.func.coalesce(*columns)

    def _bind_timestamp(self, value: dt.datetime) -> dt.datetime:
        # Naive timestamp columns hold UTC (db.timezone UTC): compare them with a naive UTC value.
        return value if self._aware_timestamps else value.replace(tzinfo=None)

    def statement(self, now: dt.datetime | None) -> sa.Select[Any]:
        """The SELECT of this mode from the stored offset; ``now`` is the database's time (timestamp modes)."""
        select = sa.select(sa.text("*")).select_from(self._selectable())
        mode = self.spec.mode
        if mode == "bulk":
            return select
        inc: sa.ColumnClause[Any] | None = sa.column(self.spec.incrementing_column) if "incrementing" in mode else None
        if mode == "incrementing":
            assert inc is not None
            last = self.offset.get("incrementing")
            if last is not None:
                select = select.where(inc > sa.bindparam("last_inc", int(last)))
            return select.order_by(inc)
        ts = self._timestamp_expression()
        assert now is not None
        upper = self._bind_timestamp(now - dt.timedelta(seconds=self.spec.timestamp_delay_s))
        select = select.where(ts < sa.bindparam("upper", upper))
        last_ts = self._start_timestamp()
        if mode == "timestamp":
            if last_ts is not None:
                select = select.where(ts > sa.bindparam("last_ts", self._bind_timestamp(last_ts)))
            return select.order_by(ts)
        assert inc is not None
        if last_ts is not None:
            bound: sa.BindParameter[Any] = sa.bindparam("last_ts", self._bind_timestamp(last_ts))
            last_inc = self.offset.get("incrementing")
            if last_inc is None:
                select = select.where(ts >= bound)
            else:
                select = select.where(sa.or_(sa.and_(ts == bound, inc > int(last_inc)), ts > bound))
        return select.order_by(ts, inc)

    def _start_timestamp(self) -> dt.datetime | None:
        stored = offset_timestamp(self.offset)
        if stored is not None:
            return stored
        initial = self.spec.timestamp_initial_ms
        if initial is None:
            return None
        return dt.datetime.fromtimestamp(initial / 1000, _UTC)

    # --- reading ----------------------------------------------------------------------------------------------------

    def describe(self) -> None:
        """Reads the table's columns from the catalog and checks the mode's columns exist (and are NOT NULL)."""
        if self.table is None:
            return
        schema, _, name = self.table.rpartition(".")
        try:
            columns = sa.inspect(self.engine).get_columns(name, schema=schema or None)
        except sa.exc.NoSuchTableError:
            raise ConnectorError(f"table {self.table} does not exist") from None
        if not columns:
            raise ConnectorError(f"table {self.table} does not exist or has no columns")
        # SQLite reports an INTEGER PRIMARY KEY as nullable (it fills NULLs in); a key never holds one.
        primary = set(sa.inspect(self.engine).get_pk_constraint(name, schema=schema or None)["constrained_columns"])
        for column in columns:
            if column["name"] in primary:
                column["nullable"] = False
        self._mappings = [
            column_mapping(c["name"], c["type"], bool(c["nullable"]), self.spec.numeric_mapping) for c in columns
        ]
        self._schema = table_schema(name, self._mappings)
        by_name = {c["name"]: c for c in columns}
        self._check_columns(by_name)
        self._aware_timestamps = any(
            getattr(by_name[c]["type"], "timezone", False) for c in self.spec.timestamp_columns if c in by_name
        )

    def _check_columns(self, columns: Mapping[str, Mapping[str, Any]]) -> None:
        mode = self.spec.mode
        wanted = []
        if "incrementing" in mode:
            wanted.append(self.spec.incrementing_column)
        if "timestamp" in mode:
            wanted.extend(self.spec.timestamp_columns)
        missing = [c for c in wanted if c not in columns]
        if missing:
            raise ConnectorError(f"table {self.table} has no column {', '.join(missing)} (needed by mode={mode})")
        if not self.spec.validate_non_null:
            return
        if "incrementing" in mode and columns[self.spec.incrementing_column]["nullable"]:
            raise ConnectorError(
                f"incrementing column {self.spec.incrementing_column} of table {self.table} is nullable; "
                "make it NOT NULL or set validate.non.null=false"
            )
        if "timestamp" in mode and all(columns[c]["nullable"] for c in self.spec.timestamp_columns):
            raise ConnectorError(
                f"timestamp column(s) {', '.join(self.spec.timestamp_columns)} of table {self.table} are nullable; "
                "make one NOT NULL or set validate.non.null=false"
            )

    @property
    def reading(self) -> bool:
        """Whether a result is open (more rows may follow without waiting for the poll interval)."""
        return self._result is not None

    def _open(self) -> None:
        if self._mappings is None and self.table is not None:
            self.describe()
        now = self._database_now() if "timestamp" in self.spec.mode else None
        statement = self.statement(now)
        connection = self.engine.connect().execution_options(stream_results=True, yield_per=self.spec.batch_max_rows)
        try:
            self._result = connection.execute(statement)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self._held = None
        self._group_start = dict(self.offset)
        if self.table is None:
            self._mappings = None  # a query's columns are read from its result

    def _database_now(self) -> dt.datetime:
        if self.engine.dialect.name == "sqlite":  # SQLite's CURRENT_TIMESTAMP has whole seconds only
            return dt.datetime.now(_UTC)
        expression = sa.func.utc_timestamp(6) if self.engine.dialect.name == "mysql" else sa.func.now()
        with self.engine.connect() as connection:
            value: dt.datetime = connection.execute(sa.select(expression)).scalar_one()
        return value.replace(tzinfo=_UTC) if value.tzinfo is None else value.astimezone(_UTC)

    def close(self) -> None:
        """Closes the open result and its connection, if any."""
        if self._result is not None:
            self._result.close()
            self._result = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def poll(self) -> list[SourceRecord]:
        """Up to ``batch.max.rows`` records; opens the query first when none is open, closes it when exhausted."""
        if self._result is None:
            self._open()
        assert self._result is not None
        rows = self._result.fetchmany(self.spec.batch_max_rows)
        exhausted = len(rows) < self.spec.batch_max_rows
        if self.table is None and self._mappings is None:
            self._mappings = self._query_mappings(rows)
        records = self._records(rows, exhausted)
        if exhausted:
            self.close()
        return records

    def _query_mappings(self, rows: Sequence[Any]) -> list[ColumnMapping]:
        assert self._result is not None
        names = list(self._result.keys())
        samples: list[Any] = [None] * len(names)
        for row in rows:
            for index, value in enumerate(row):
                if samples[index] is None:
                    samples[index] = value
        mappings = [value_mapping(name, sample) for name, sample in zip(names, samples, strict=True)]
        self._schema = table_schema("query", mappings)
        return mappings

    def _records(self, rows: Sequence[Any], exhausted: bool) -> list[SourceRecord]:
        assert self._mappings is not None
        assert self._schema is not None
        records: list[SourceRecord] = []
        pending = list(rows)
        if self._held is not None:
            pending.insert(0, self._held)
            self._held = None
        if self.spec.mode == "timestamp" and not exhausted and pending:
            self._held = pending.pop()  # its offset depends on the row after it
        ts_index = self._column_index(self.spec.timestamp_columns) if "timestamp" in self.spec.mode else None
        inc_index = self._column_index((self.spec.incrementing_column,)) if "incrementing" in self.spec.mode else None
        partition, topic, schema = self.partition, self.topic, self._schema
        conversions = [(i, m.convert) for i, m in enumerate(self._mappings) if m.convert is not same]
        timestamps = [self._row_timestamp(row, ts_index) for row in pending] if ts_index is not None else []
        following = self._row_timestamp(self._held, ts_index) if self._held is not None and ts_index else None
        bulk = self.spec.mode == "bulk"
        for position, row in enumerate(pending):
            values = list(row)
            for index, convert in conversions:
                values[index] = convert(values[index])
            offset = {} if bulk else self._row_offset(row, position, timestamps, following, inc_index)
            records.append(
                SourceRecord(
                    topic=topic,
                    value=Struct.from_values(schema, values),
                    value_schema=schema,
                    source_partition=partition,
                    source_offset=offset,
                )
            )
        if records:
            self.offset = dict(records[-1].source_offset)
        return records

    def _column_index(self, names: Sequence[str]) -> list[int]:
        assert self._mappings is not None
        positions = {m.name: i for i, m in enumerate(self._mappings)}
        try:
            return [positions[name] for name in names]
        except KeyError as exc:
            raise ConnectorError(f"{self.name}: the result has no column {exc.args[0]}") from None

    def _row_timestamp(self, row: Sequence[Any], indexes: Sequence[int] | None) -> dt.datetime | None:
        assert indexes is not None
        for index in indexes:  # COALESCE of the timestamp columns, in order
            value = row[index]
            if value is not None:
                if isinstance(value, str):
                    value = dt.datetime.fromisoformat(value)
                stamp: dt.datetime = value
                return stamp.replace(tzinfo=_UTC) if stamp.tzinfo is None else stamp.astimezone(_UTC)
        return None

    def _row_offset(
        self,
        row: Sequence[Any],
        position: int,
        timestamps: Sequence[dt.datetime | None],
        following: dt.datetime | None,
        inc_index: Sequence[int] | None,
    ) -> dict[str, Any]:
        mode = self.spec.mode
        if mode == "bulk":
            return {}
        offset: dict[str, Any] = {}
        if inc_index is not None:
            offset["incrementing"] = int(row[inc_index[0]])
        if "timestamp" not in mode:
            return offset
        ts = timestamps[position]
        if mode == "timestamp+incrementing":
            return {**offset, **timestamp_offset(ts)} if ts is not None else offset
        nxt = timestamps[position + 1] if position + 1 < len(timestamps) else following
        group_complete = nxt is None or nxt != ts
        if group_complete and ts is not None:
            self._group_start = timestamp_offset(ts)
        return dict(self._group_start or {})


def due_in(queriers: Sequence[TableQuerier]) -> float:
    """Seconds until the earliest querier is due (0 when one is reading or due)."""
    now = time.monotonic()
    return max(0.0, min((0.0 if q.reading else q.next_due - now) for q in queriers))
