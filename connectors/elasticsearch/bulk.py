"""Bulk writing with the latest write per document winning: operations are buffered, coalesced per document and
sent in bulk requests on up to ``max.in.flight.requests`` threads, **never two requests for one document at a
time**.

Why serialise per id rather than use external versions from offsets (Confluent's way): offsets of different
partitions are not comparable, so a key that moved between partitions had its newer data rejected as "older" there;
versions do not apply to upserts or data streams; and a retry of an older request cannot overtake a newer one
when the newer one is only sent after the older one finished. A document's operations therefore reach the server
in the order the records came, whatever the concurrency and retries; a replay after a crash re-applies the same
sequence and ends in the same state.

Coalescing keeps one waiting operation per document: a later index or delete replaces it; a later partial update
(``write.method=UPSERT``) is merged into it (into a full document when one was waiting, into a fresh one after a
delete) — the result the server would reach applying them one by one. The records of every coalesced operation
are acknowledged when the surviving one is written.

Retries: a request refused as a whole for a reason worth retrying (unreachable server, timeout, 429, 5xx) and the
items of an answered request that failed with 429 or 5xx are sent again after an exponential backoff with jitter,
``max.retries`` times; after that they wait in the buffer (their documents stay blocked for later operations) and
go again once the backoff has passed — nothing is dropped. Other item failures are returned to the caller with
the server's error type.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from connectors.elasticsearch.client import SearchClient, UnavailableError
from connectors.elasticsearch.documents import dumps

log = logging.getLogger(__name__)

#: Error types of documents the server could not take as they are (behavior.on.malformed.documents).
MALFORMED = frozenset(
    {
        "mapper_parsing_exception",
        "document_parsing_exception",
        "illegal_argument_exception",
        "action_request_validation_exception",
        "strict_dynamic_mapping_exception",
    }
)
#: Error type of an operation refused because the document changed meanwhile (another writer).
VERSION_CONFLICT = "version_conflict_engine_exception"
MAX_BACKOFF_S = 30.0
MAX_TIMEOUT_S = 300.0
#: How long waiting operations may wait for a fuller request while other requests run.
FILL_WAIT_S = 0.2


@dataclass
class Op:
    """One document operation and the records it stands for (each an opaque token for the caller)."""

    index: str
    doc_id: str | None
    action: str  # index, create, update or delete
    source: Any
    records: list[Any]
    _encoded: bytes | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple[str, str] | None:
        return (self.index, self.doc_id) if self.doc_id is not None else None

    def lines(self) -> bytes:
        """The operation's NDJSON lines (encoded once)."""
        if self._encoded is None:
            self._encoded = self._encode()
        return self._encoded

    def _encode(self) -> bytes:
        meta: dict[str, Any] = {"_index": self.index}
        if self.doc_id is not None:
            meta["_id"] = self.doc_id
        head = dumps({self.action: meta})
        if self.action == "delete":
            return head + b"\n"
        body = {"doc": self.source, "doc_as_upsert": True} if self.action == "update" else self.source
        return head + b"\n" + dumps(body) + b"\n"


def deep_merge(base: Any, changes: Any) -> Any:
    """``changes`` applied over ``base`` as a partial update does (objects merged recursively)."""
    if not isinstance(base, dict) or not isinstance(changes, dict):
        return changes
    merged = dict(base)
    for name, value in changes.items():
        merged[name] = deep_merge(merged.get(name), value) if isinstance(value, dict) else value
    return merged


def coalesce(older: Op, newer: Op) -> Op:
    """The one operation with the effect of ``older`` then ``newer`` on the same document."""
    records = older.records + newer.records
    if newer.action != "update":
        return Op(newer.index, newer.doc_id, newer.action, newer.source, records)
    if older.action == "update":
        return Op(newer.index, newer.doc_id, "update", deep_merge(older.source, newer.source), records)
    if older.action == "index":
        return Op(newer.index, newer.doc_id, "index", deep_merge(older.source, newer.source), records)
    return Op(newer.index, newer.doc_id, "index", newer.source, records)  # an upsert after a delete creates


@dataclass
class Refused:
    """An operation the server refused for good, with its reason and the server's error type."""

    op: Op
    reason: str
    error_type: str

    @property
    def malformed(self) -> bool:
        return self.error_type in MALFORMED

    @property
    def conflict(self) -> bool:
        return self.error_type == VERSION_CONFLICT


@dataclass
class Outcome:
    """What became of one batch: written, refused, or still to write (server unavailable)."""

    written: list[Op] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    unavailable: list[Op] = field(default_factory=list)
    error: str = ""
    fatal: BaseException | None = None


class BulkWriter:
    """Buffers operations and sends them (see the module docstring). All methods run on the task's thread; the
    requests run on a pool of ``in_flight`` threads."""

    def __init__(
        self,
        client: SearchClient,
        *,
        batch_size: int,
        bulk_bytes: int,
        in_flight: int,
        max_retries: int,
        backoff_s: float,
        timeout_s: float,
        stopped: threading.Event,
        name: str,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.batch_size = batch_size
        self.bulk_bytes = bulk_bytes
        self.in_flight = in_flight
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s  # of one bulk request; lengthened when requests time out
        self._timeout_lock = threading.Lock()
        self.stopped = stopped
        self.name = name
        self._rng = rng
        self._pool = ThreadPoolExecutor(in_flight, thread_name_prefix=f"bulk-{name}")
        self._waiting: dict[Any, Op] = {}
        self._blocked: set[tuple[str, str]] = set()
        self._futures: dict[Future[Outcome], list[Op]] = {}
        self._unique = itertools.count()
        self._resume_at = 0.0
        self._fill_until = 0.0
        self.buffered = 0  # records waiting or in flight
        self.outage_since: float | None = None

    # --- buffering ------------------------------------------------------------------------------------------------

    def add(self, op: Op) -> None:
        """Buffers an operation (coalesced with one waiting for the same document)."""
        if not self._waiting:
            self._fill_until = time.monotonic() + FILL_WAIT_S
        self.buffered += len(op.records)
        key: Any = op.key if op.key is not None and op.action != "create" else ("", next(self._unique))
        waiting = self._waiting.get(key)
        self._waiting[key] = coalesce(waiting, op) if waiting is not None else op

    def _requeue(self, ops: list[Op]) -> None:
        """Puts back operations whose request failed; they are older than any waiting one for their document."""
        for op in ops:
            key: Any = op.key if op.key is not None and op.action != "create" else ("", next(self._unique))
            newer = self._waiting.pop(key, None)
            self._waiting[key] = coalesce(op, newer) if newer is not None else op

    @property
    def idle(self) -> bool:
        return not self._waiting and not self._futures

    # --- sending --------------------------------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Sends what waits, in batches, while fewer than ``in_flight`` requests run and no outage backoff holds."""
        if time.monotonic() < self._resume_at:
            return
        while self._waiting and len(self._futures) < self.in_flight:
            if self._futures and len(self._waiting) < self.batch_size and time.monotonic() < self._fill_until:
                return  # requests are running: let the next one fill up a little (a slow server pays per request)
            batch = self._next_batch()
            if not batch:
                return
            future = self._pool.submit(self._send, batch)
            self._futures[future] = batch

    def _next_batch(self) -> list[Op]:
        batch: list[Op] = []
        size = 0
        taken = []
        for key, op in self._waiting.items():
            if op.key is not None and op.key in self._blocked:
                continue
            encoded = len(op.lines()) if self.bulk_bytes > 0 else 0
            if batch and self.bulk_bytes > 0 and size + encoded > self.bulk_bytes:
                break
            batch.append(op)
            taken.append(key)
            size += encoded
            if len(batch) >= self.batch_size:
                break
        for key in taken:
            op = self._waiting.pop(key)
            if op.key is not None:
                self._blocked.add(op.key)
        return batch

    def collect(self, timeout_s: float = 0.0) -> Iterator[Outcome]:
        """Outcomes of finished requests (waiting up to ``timeout_s`` for one), unblocking their documents."""
        if not self._futures:
            return
        done, _ = wait(list(self._futures), timeout=timeout_s, return_when=FIRST_COMPLETED)
        for future in done:
            batch = self._futures.pop(future)
            for op in batch:
                if op.key is not None:
                    self._blocked.discard(op.key)
            outcome = future.result()
            if outcome.unavailable:
                self._requeue(outcome.unavailable)
                self._resume_at = time.monotonic() + self._backoff(self.max_retries)
                if self.outage_since is None:
                    self.outage_since = time.monotonic()
                log.warning(
                    "%s: %d document(s) wait for the search server: %s",
                    self.name,
                    len(outcome.unavailable),
                    outcome.error,
                )
            elif outcome.written:
                self.outage_since = None
            finished = outcome.written + [refused.op for refused in outcome.refused]
            self.buffered -= sum(len(op.records) for op in finished)
            yield outcome

    def _lengthen_timeout(self) -> None:
        """A bulk request timed out: the server is slower than ``read.timeout.ms`` allows, and resending at once
        only adds to its load (it may still be indexing the first one). Later requests wait twice as long, up to
        MAX_TIMEOUT_S; the doubling is logged."""
        with self._timeout_lock:
            if self.timeout_s < MAX_TIMEOUT_S:
                self.timeout_s = min(MAX_TIMEOUT_S, self.timeout_s * 2)
                log.warning(
                    "%s: a bulk request timed out; waiting up to %.0f s for answers from now on",
                    self.name,
                    self.timeout_s,
                )

    def _backoff(self, attempt: int) -> float:
        base = min(MAX_BACKOFF_S, self.backoff_s * float(2**attempt))
        return base * (0.5 + self._rng())

    def _send(self, batch: list[Op]) -> Outcome:
        """Runs on a pool thread: the request, and its retries (see the module docstring)."""
        outcome = Outcome()
        ops = batch
        attempt = 0
        while ops:
            try:
                response = self.client.bulk(b"".join(op.lines() for op in ops), self.timeout_s)
            except UnavailableError as exc:
                outcome.error = str(exc)
                retry = ops
                if exc.timed_out:
                    self._lengthen_timeout()
            except BaseException as exc:  # a request the server refuses as a whole: the task cannot go on
                outcome.fatal = exc
                outcome.unavailable = ops
                return outcome
            else:
                retry = self._sort(ops, response, outcome)
            if not retry:
                break
            if attempt >= self.max_retries or self.stopped.is_set():
                outcome.unavailable = retry
                break
            self.stopped.wait(self._backoff(attempt))
            attempt += 1
            ops = retry
        return outcome

    def _sort(self, ops: list[Op], response: dict[str, Any], outcome: Outcome) -> list[Op]:
        """Files each item as written or refused; returns the ops to retry."""
        retry: list[Op] = []
        items = response.get("items") or []
        if len(items) != len(ops):
            outcome.error = f"the server answered {len(items)} items for {len(ops)} operations"
            return ops
        for op, item in zip(ops, items, strict=True):
            result = next(iter(item.values()))
            status = int(result.get("status", 500))
            if status < 300 or (status == 404 and op.action == "delete") or (status == 409 and op.action == "create"):
                outcome.written.append(op)
            elif status == 429 or status >= 500:
                outcome.error = f"item status {status}: {_reason(result)}"
                retry.append(op)
            else:
                error = result.get("error") or {}
                kind = error.get("type", "") if isinstance(error, dict) else ""
                outcome.refused.append(Refused(op, f"{status} {_reason(result)}", kind))
        return retry

    def close(self) -> None:
        self.stopped.set()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason += f" ({cause.get('reason')})"
        return reason
    return str(error or result.get("result", ""))
