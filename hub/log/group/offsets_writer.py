"""The group coordinator's writer of ``__consumer_offsets`` (hub.log.ordered_writer): the coordinator's own records
share appends; a transaction's write (TxnOffsetCommit, keyed by its producer's id and epoch) is appended alone, as
that producer's batch.
"""

from __future__ import annotations

from hub.log.group.offsets_log import OFFSETS_TOPIC, OffsetsLog, Record
from hub.log.ordered_writer import OrderedWriter

#: A transaction's producer (id, epoch); None for the coordinator's own records.
Producer = tuple[int, int] | None


def offsets_writer(offsets_log: OffsetsLog) -> OrderedWriter[Producer]:
    """A writer appending to ``offsets_log`` (not started)."""

    def append(producer: Producer, records: list[Record]) -> None:
        if producer is None:
            offsets_log.append(records)
        else:
            offsets_log.append(records, producer_id=producer[0], producer_epoch=producer[1])

    return OrderedWriter(append, topic=OFFSETS_TOPIC, barrier_key=None, shares=lambda producer: producer is None)
