"""What a read_committed consumer keeps of fetched batches: Kafka's client-side filtering (its ``CompletedFetch``).

A read_committed fetch returns batches below the last stable offset together with the aborted transactions that
hold records in them (``(producer_id, first_offset)``, from the transaction index). Walking the batches in offset
order, a producer joins the *aborted* set once a batch of it reaches an aborted transaction's first offset; its
transactional batches are then skipped until its ABORT marker, which takes it out again. Control batches (markers)
are never delivered. Non-transactional batches are always kept.

Pure functions; thread-safe.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator

from hub.log.batch import BatchHeader, iter_batches
from hub.log.control import ABORT, control_type
from hub.log.records import decode_batch


def committed_batches(
    data: bytes | bytearray | memoryview, aborted: Iterable[tuple[int, int]]
) -> Iterator[tuple[int, BatchHeader]]:
    """``(position, header)`` of each batch of ``data`` a read_committed consumer delivers records from;
    ``aborted`` is the fetch's ``(producer_id, first_offset)`` list."""
    pending = [(first_offset, producer_id) for producer_id, first_offset in aborted]
    heapq.heapify(pending)
    aborting: set[int] = set()
    for position, header in iter_batches(data):
        while pending and pending[0][0] <= header.last_offset:
            aborting.add(heapq.heappop(pending)[1])
        if header.is_control:
            if header.producer_id in aborting and _is_abort(data, position):
                aborting.discard(header.producer_id)
            continue
        if header.is_transactional and header.producer_id in aborting:
            continue
        yield position, header


def _is_abort(data: bytes | bytearray | memoryview, position: int) -> bool:
    records = decode_batch(data, position).records
    return bool(records) and control_type(records[0].key) == ABORT
