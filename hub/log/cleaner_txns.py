"""What the log cleaner knows of transactions while it walks a partition (Kafka's ``CleanedTransactionMetadata``).

Fed the batches of the cleaned range in offset order, with the aborted transactions that hold records in it (from the
transaction index, whose entries may lie in later segments):

- a transactional batch of a producer inside an aborted transaction is *aborted*: the cleaner removes its records
  (and, as for any batch, keeps it empty when it is its producer's last batch); aborted records never enter the
  cleaner's key map, so they cannot make an older committed value of their key look superseded;
- an ABORT marker may go once no batch of its transaction remains: when this walk saw one, the marker stays (and
  its index entry is copied to the cleaned segment), so a consumer still learns the records are aborted;
- a COMMIT marker may go once no batch of its transaction remains.

A marker that may go is first stamped with a delete horizon (now + ``delete.retention.ms``) and removed by a
cleaning after it, so a consumer reading within ``delete.retention.ms`` still sees it (KIP-534, as for tombstones).

One instance per walk; not thread-safe.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from hub.log.batch import BatchHeader
from hub.log.txn_index import AbortedTxn


class CleanedTransactions:
    """Transaction state along one walk of the cleaner (see the module docstring)."""

    def __init__(self, aborted: Iterable[AbortedTxn]) -> None:
        known = list(aborted)
        self._by_marker = {txn.last_offset: txn for txn in known}
        self._pending = [(txn.first_offset, txn.last_offset, txn.producer_id, txn) for txn in known]
        heapq.heapify(self._pending)
        self._aborting: dict[int, AbortedTxn] = {}
        self._seen_aborted: set[int] = set()
        self._seen_committed: set[int] = set()
        #: Index entries of the ABORT markers kept, by marker offset.
        self.kept_entries: dict[int, AbortedTxn] = {}

    def _advance(self, offset: int) -> None:
        while self._pending and self._pending[0][0] <= offset:
            txn = heapq.heappop(self._pending)[3]
            self._aborting[txn.producer_id] = txn

    def on_data_batch(self, header: BatchHeader) -> bool:
        """A data batch in offset order; True when it belongs to an aborted transaction (drop its records)."""
        self._advance(header.last_offset)
        if not header.is_transactional or header.producer_id < 0:
            return False
        if header.producer_id in self._aborting:
            self._seen_aborted.add(header.producer_id)
            return True
        self._seen_committed.add(header.producer_id)
        return False

    def on_marker(self, header: BatchHeader, commit: bool) -> bool:
        """A marker in offset order; True when no batch of its transaction remains (it may go)."""
        self._advance(header.last_offset)
        producer_id = header.producer_id
        if commit:
            seen = producer_id in self._seen_committed
            self._seen_committed.discard(producer_id)
            return not seen
        self._aborting.pop(producer_id, None)
        seen = producer_id in self._seen_aborted
        self._seen_aborted.discard(producer_id)
        return not seen

    def keep_abort_marker(self, offset: int) -> None:
        """Note an ABORT marker the cleaned segment keeps: its index entry goes with it."""
        entry = self._by_marker.get(offset)
        if entry is not None:
            self.kept_entries[offset] = entry
