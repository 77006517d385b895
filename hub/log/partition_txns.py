"""PartitionTransactions: a partition log's transaction bookkeeping over its segments — the aborted-transaction
index entries markers add, their recomputation from the stored batches, the last stable offset, and the aborted
transactions of a fetched range. PartitionLog owns one and writes markers itself (they are appends).

Invariants: each segment's ``txn_index`` holds exactly the aborted transactions whose ABORT marker it holds, in
marker order, and an entry's last stable offset counts only the transactions still open once it ended, so an entry
written live equals the one a rebuild computes (a rebuild rewrites only files that differ).

Not thread-safe: every method but ``aborted_transactions`` runs under the owning partition's lock;
``aborted_transactions`` reads an immutable snapshot of segments.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from hub.log.batch import HEADER_SIZE, BatchHeader, parse_header
from hub.log.control import EndTxnMarker, decode_marker
from hub.log.errors import InvalidBatchError
from hub.log.producer_state import CompletedTxn, ProducerStateManager
from hub.log.segment import LogSegment
from hub.log.segments import LogSegments
from hub.log.txn_index import AbortedTxn

log = logging.getLogger("hub.log.partition")


class PartitionTransactions:
    """See the module docstring; ``producers`` is the partition's producer state."""

    def __init__(self, name: str, producers: ProducerStateManager) -> None:
        self.name = name
        self.producers = producers

    def record(
        self, header: BatchHeader, data: bytes | bytearray | memoryview, position: int, active: LogSegment
    ) -> None:
        """A batch just stored in ``active`` at ``position`` of ``data``: into the producer state, and an aborted
        transaction its marker ended into the active segment's index."""
        self.completed(self.producers.record(header, self.marker_of(header, data, position)), active)

    def completed(self, txn: CompletedTxn | None, active: LogSegment) -> None:
        """Index a transaction a marker just ended (the marker is in ``active``)."""
        if txn is not None and txn.aborted:
            active.txn_index.append(self._aborted_entry(txn))

    def _aborted_entry(self, txn: CompletedTxn) -> AbortedTxn:
        ongoing = [first for pid, first in self.producers.ongoing().items() if pid != txn.producer_id]
        return AbortedTxn(txn.producer_id, txn.first_offset, txn.last_offset, min(ongoing, default=txn.last_offset + 1))

    def rebuild(self, segments: LogSegments, high_watermark: int) -> None:
        """Replay every stored batch into the producer state and make each segment's index hold exactly the
        aborted transactions whose marker it holds."""
        by_segment: dict[int, list[AbortedTxn]] = {segment.base_offset: [] for segment in segments}
        self.producers.rebuild(())
        for segment in segments:
            entries = by_segment[segment.base_offset]
            for position, header in segment_headers(segment):
                marker = None
                if header.is_control and header.producer_id >= 0:
                    marker = self.marker_of(header, segment.read_at(position, header.size), 0)
                txn = self.producers.record(header, marker)
                if txn is not None and txn.aborted:
                    entries.append(self._aborted_entry(txn))
        self.producers.on_high_watermark(high_watermark)
        for segment in segments:
            if segment.txn_index.replace(by_segment[segment.base_offset]):
                log.info("%s: rebuilt the transaction index of segment %020d", self.name, segment.base_offset)

    def marker_of(
        self, header: BatchHeader, data: bytes | bytearray | memoryview, position: int
    ) -> EndTxnMarker | None:
        """What the stored control batch at ``position`` of ``data`` says; None for a data batch, or (with a warning)
        a control batch that is not a transaction marker: it ends nothing."""
        if not header.is_control or header.producer_id < 0:
            return None
        try:
            return decode_marker(data, position)
        except InvalidBatchError as exc:
            log.warning(
                "%s: control batch at offset %d is not a transaction marker: %s", self.name, header.base_offset, exc
            )
            return None

    def last_stable_offset(self, high_watermark: int, log_start_offset: int) -> int:
        """The least first offset of the open (or ended, not yet replicated) transactions, within
        [log start, high watermark]."""
        self.producers.on_high_watermark(high_watermark)
        first_unstable = self.producers.first_unstable_offset()
        if first_unstable is None:
            return high_watermark
        return min(high_watermark, max(first_unstable, log_start_offset))

    @staticmethod
    def aborted_transactions(segments: LogSegments, start_offset: int, upper_offset: int) -> list[AbortedTxn]:
        """The aborted transactions holding records in [start_offset, upper_offset), in marker order."""
        found: list[AbortedTxn] = []
        for segment in segments:
            if segment.next_offset <= start_offset and segment is not segments.active:
                continue
            for entry in segment.txn_index.overlapping(start_offset, upper_offset):
                found.append(entry)
                if entry.last_stable_offset >= upper_offset:
                    # Every transaction that began before the bound had ended when this one did.
                    return found
        return found


def segment_headers(segment: LogSegment) -> Iterator[tuple[int, BatchHeader]]:
    """Position and header of every batch of a segment (61 bytes read per batch)."""
    position = 0
    while position + HEADER_SIZE <= segment.size:
        header = parse_header(segment.read_at(position, HEADER_SIZE))
        yield position, header
        position += header.size
