"""An in-memory transactional store for unit tests of the exactly-once runner: what its producers commit and abort,
transaction by transaction, with Kafka's fencing by epoch per transactional id.

Only what the runner uses is here: ``transactional_producer`` (with init / begin / send_batch / commit / abort) and
an admin whose ``fence_producers`` bumps the epoch, as Kafka's Admin.fenceProducers does.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from hub.log.client import (
    ClientTimeoutError,
    InvalidTopicConfigError,
    OutgoingRecord,
    ProducerFencedError,
    SendOutcome,
    UnknownTopicError,
)

Written = tuple[str, bytes | None, bytes | None]


@dataclass
class FakeTransactionalStore:
    location: str = "fake"
    commits: list[list[Written]] = field(default_factory=list)
    aborts: list[list[Written]] = field(default_factory=list)
    epochs: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    made: list[str] = field(default_factory=list)
    events: list[tuple[str, str]] = field(default_factory=list)  # ("init" | "fence", transactional id), in order
    refuse_fencing: bool = False
    failing_topic: str | None = None  # sends to this topic fail, as a partition the store refuses

    def transactional_producer(
        self, transactional_id: str, *, transaction_timeout_ms: int = 60_000, options: Mapping[str, str] | None = None
    ) -> FakeTransactionalProducer:
        self.made.append(transactional_id)
        return FakeTransactionalProducer(self, transactional_id)

    def admin(self) -> FakeAdmin:
        return FakeAdmin(self)

    def committed(self, topic: str) -> list[Written]:
        return [record for commit in self.commits for record in commit if record[0] == topic]

    def fence(self, transactional_id: str) -> None:
        with self.lock:
            self.epochs[transactional_id] = self.epochs.get(transactional_id, 0) + 1


class FakeAdmin:
    def __init__(self, store: FakeTransactionalStore) -> None:
        self.store = store

    def fence_producers(self, transactional_ids: Collection[str], *, timeout_s: float = 30.0) -> None:
        if self.store.refuse_fencing:
            raise ClientTimeoutError("the fake store does not answer")
        for transactional_id in transactional_ids:
            self.store.events.append(("fence", transactional_id))
            self.store.fence(transactional_id)

    def cluster_id(self) -> str:
        return "fake"

    def create_topics(self, topics: Sequence[Any], *, if_not_exists: bool = False) -> None:
        raise InvalidTopicConfigError("the fake store creates no topics")

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> FakeAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeTransactionalProducer:
    def __init__(self, store: FakeTransactionalStore, transactional_id: str) -> None:
        self.store = store
        self.transactional_id = transactional_id
        self.epoch = -1
        self.pending: list[Written] | None = None
        self.closed = False

    def _check(self) -> None:
        if self.store.epochs.get(self.transactional_id, 0) != self.epoch:
            raise ProducerFencedError(f"producer of {self.transactional_id} with epoch {self.epoch} was fenced")

    def init_transactions(self, timeout_s: float = 60.0) -> None:
        self.store.events.append(("init", self.transactional_id))
        self.store.fence(self.transactional_id)
        self.epoch = self.store.epochs[self.transactional_id]

    def begin_transaction(self) -> None:
        self._check()
        assert self.pending is None, "begin with a transaction open"
        self.pending = []

    def send_batch(self, records: Sequence[OutgoingRecord]) -> Future[SendOutcome]:
        self._check()
        assert self.pending is not None, "send outside a transaction"
        outcome = SendOutcome([record[0] for record in records])
        for index, (topic, key, value, _, _, _) in enumerate(records):
            if topic == self.store.failing_topic:
                outcome.errors[index] = UnknownTopicError(f"{topic} is refused")
                continue
            outcome.written(index, 0, len(self.pending), 0)
            self.pending.append((topic, key, value))
        future: Future[SendOutcome] = Future()
        future.set_result(outcome)
        return future

    def commit_transaction(self, timeout_s: float = 60.0) -> None:
        with self.store.lock:
            self._check()
            assert self.pending is not None, "commit without a transaction"
            self.store.commits.append(self.pending)
        self.pending = None

    def abort_transaction(self, timeout_s: float = 60.0) -> None:
        self._check()
        assert self.pending is not None, "abort without a transaction"
        self.store.aborts.append(self.pending)
        self.pending = None

    def flush(self, timeout_s: float | None = None) -> None:
        """Everything is written at once."""

    def close(self) -> None:
        self.closed = True
