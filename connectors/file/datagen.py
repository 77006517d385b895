"""Datagen: a source of fake records at a chosen rate, for demos, tests and benchmarks.

``quickstart`` picks the record shape — ``users`` (id, name, email, age, created_at), ``orders`` (id, user_id,
amount, status) or ``pageviews`` (user_id, page, viewed_at) — as Connect structs keyed by their id; ``bytes``
gives a user as ready JSON bytes (BYTES schema), for pipelines measured without conversion costs. ``rate`` is
records per second per task (0: as fast as the pipeline takes them); ``max.records`` stops after that many per
task (-1: never). Values are reproducible from ``random.seed``. The offset ``{"count": N}`` per task makes a
restarted task continue where it stopped instead of repeating ids, which makes it exactly-once capable; with
``transaction.boundary=connector`` a task commits a transaction after every ``batch.size``-th record.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from hub.sdk import (
    ConfigDef,
    ConfigType,
    ConnectorTransactionBoundaries,
    ExactlyOnceSupport,
    Importance,
    Schema,
    SourceConnector,
    SourceRecord,
    SourceTask,
    Struct,
)
from hub.sdk.records import NO_HEADERS
from hub.sdk.schema import BYTES_SCHEMA, FLOAT64_SCHEMA, INT32_SCHEMA, INT64_SCHEMA, STRING_SCHEMA, struct_schema

SHAPE_NAMES = ("users", "orders", "pageviews", "bytes")

CONFIG = (
    ConfigDef()
    .define("topic", ConfigType.STRING, doc="Topic to write to.", importance=Importance.HIGH, non_empty=True)
    .define(
        "quickstart", ConfigType.STRING, "users", "Record shape.", choices=("users", "orders", "pageviews", "bytes")
    )
    .define("rate", ConfigType.DOUBLE, 0.0, "Records per second per task; 0 is unlimited.", minimum=0)
    .define("max.records", ConfigType.LONG, -1, "Records per task before it stops producing; -1 is unlimited.")
    .define("batch.size", ConfigType.INT, 1000, "Most records returned by one poll.", minimum=1)
    .define("random.seed", ConfigType.LONG, 0, "Seed of the value generator.")
)

_NAMES = ("ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "ken", "dennis", "frances")
_PAGES = ("/", "/pricing", "/docs", "/blog", "/signup", "/login")
_STATUSES = ("new", "paid", "shipped", "delivered", "cancelled")

USERS = struct_schema(
    [
        ("id", INT64_SCHEMA),
        ("name", STRING_SCHEMA),
        ("email", STRING_SCHEMA),
        ("age", INT32_SCHEMA),
        ("created_at", INT64_SCHEMA),
    ],
    name="hub.datagen.User",
)
ORDERS = struct_schema(
    [("id", INT64_SCHEMA), ("user_id", INT64_SCHEMA), ("amount", FLOAT64_SCHEMA), ("status", STRING_SCHEMA)],
    name="hub.datagen.Order",
)
PAGEVIEWS = struct_schema(
    [("user_id", INT64_SCHEMA), ("page", STRING_SCHEMA), ("viewed_at", INT64_SCHEMA)], name="hub.datagen.Pageview"
)


# Values come from rng.random() scaled by hand: random.choice and randint are several times slower, and datagen
# feeds benchmarks where its own cost should stay small.


_USER_FIELDS = tuple(field.name for field in USERS.fields)


def _picks(options: tuple[str, ...], randoms: list[float]) -> list[str]:
    count = len(options)
    return [options[int(r * count)] for r in randoms]


def _randoms(size: int, rng: random.Random) -> list[float]:
    draw = rng.random
    return [draw() for _ in range(size)]


# Generators make a batch of rows a column at a time (ids from ``first``), each row the field values in schema
# order; they are valid values of the schema by construction.


def _users(first: int, size: int, rng: random.Random) -> list[list[Any]]:
    now = int(time.time() * 1000)
    names = _picks(_NAMES, _randoms(size, rng))
    ages = [18 + int(r * 73) for r in _randoms(size, rng)]
    return [
        [n, name, f"{name}{n}@example.com", age, now]
        for n, name, age in zip(range(first, first + size), names, ages, strict=True)
    ]


def _orders(first: int, size: int, rng: random.Random) -> list[list[Any]]:
    users = [1 + int(r * 10_000) for r in _randoms(size, rng)]
    amounts = [round(1 + r * 499, 2) for r in _randoms(size, rng)]
    statuses = _picks(_STATUSES, _randoms(size, rng))
    return [list(row) for row in zip(range(first, first + size), users, amounts, statuses, strict=True)]


def _pageviews(first: int, size: int, rng: random.Random) -> list[list[Any]]:
    now = int(time.time() * 1000)
    users = [1 + int(r * 10_000) for r in _randoms(size, rng)]
    pages = _picks(_PAGES, _randoms(size, rng))
    return [[user, page, now] for user, page in zip(users, pages, strict=True)]


Generator = Callable[[int, int, random.Random], list[list[Any]]]

#: shape → (value schema, generator of rows, index of the key field)
SHAPES: dict[str, tuple[Schema, Generator, int]] = {
    "users": (USERS, _users, 0),
    "orders": (ORDERS, _orders, 0),
    "pageviews": (PAGEVIEWS, _pageviews, 0),
    "bytes": (BYTES_SCHEMA, _users, 0),
}


class DatagenConnector(SourceConnector):
    """Fake records for demos and benchmarks (see the module docstring)."""

    aliases = ("Datagen", "io.confluent.kafka.connect.datagen.DatagenConnector")

    def config_def(self) -> ConfigDef:
        return CONFIG.unsupported("schema.string", "custom Avro schemas are not supported; use quickstart").unsupported(
            "schema.filename", "custom Avro schemas are not supported; use quickstart"
        )

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def exactly_once_support(self, config: dict[str, str]) -> ExactlyOnceSupport:
        """SUPPORTED: a task resumed from its offset ``{"count": N}`` produces the ids after N, in order."""
        return ExactlyOnceSupport.SUPPORTED

    def can_define_transaction_boundaries(self, config: dict[str, str]) -> ConnectorTransactionBoundaries:
        """SUPPORTED: with ``transaction.boundary=connector`` each task commits a transaction every ``batch.size``
        records."""
        return ConnectorTransactionBoundaries.SUPPORTED

    def task_class(self) -> type[SourceTask]:
        return DatagenTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [{**self.config, "task.index": str(index)} for index in range(max_tasks)]

    def stop(self) -> None:
        """Nothing to release."""


class DatagenTask(SourceTask):
    """Produces this task's share of fake records."""

    def start(self, config: dict[str, str]) -> None:
        settings = CONFIG.parse({k: v for k, v in config.items() if CONFIG.key(k) is not None})
        self.topic = settings["topic"]
        self.schema, self.make, self.key_field = SHAPES[settings["quickstart"]]
        self.rate = float(settings["rate"])
        self.max_records = int(settings["max.records"])
        self.batch_size = int(settings["batch.size"])
        index = int(config.get("task.index", "0"))
        self.partition = {"task": index}
        stored = self.context.offset_reader.offset(self.partition)
        self.count = int(stored["count"]) if stored else 0
        self.rng = random.Random(int(settings["random.seed"]) * 1000 + index + self.count)
        self.stride = 1_000_000_000_000 * index
        self._stopped = threading.Event()
        self._started = time.monotonic()
        self._sent_since_start = 0

    def poll(self) -> Sequence[SourceRecord]:
        if 0 <= self.max_records <= self.count:
            self._stopped.wait(0.5)
            return []
        size = self.batch_size
        if self.max_records >= 0:
            size = min(size, self.max_records - self.count)
        if self.rate > 0:
            due = int((time.monotonic() - self._started) * self.rate) - self._sent_since_start
            if due <= 0:
                self._stopped.wait(min(0.1, 1 / self.rate))
                return []
            size = min(size, due)
        schema, key_index, topic, partition = self.schema, self.key_field, self.topic, self.partition
        rows = self.make(self.stride + self.count + 1, size, self.rng)
        if schema is BYTES_SCHEMA:
            values: list[Any] = [orjson.dumps(dict(zip(_USER_FIELDS, row, strict=True))) for row in rows]
        else:
            values = [Struct.from_values(schema, row) for row in rows]
        first = self.count + 1
        records = [
            SourceRecord(
                topic, value, schema, row[key_index], INT64_SCHEMA, None, None, NO_HEADERS, partition, {"count": count}
            )
            for count, row, value in zip(range(first, first + size), rows, values, strict=True)
        ]
        self.count += size
        self._sent_since_start += size
        transactions = self.context.transaction_context
        if transactions is not None and self.count % self.batch_size < size:  # crossed a multiple of batch.size
            transactions.commit_transaction(records[size - 1 - self.count % self.batch_size])
        return records

    def stop(self) -> None:
        self._stopped.set()
