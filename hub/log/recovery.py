"""Start-up recovery of one partition directory: finish or roll back file operations a crash interrupted, then
load the segments, re-validating everything the recovery point does not vouch for.

Order of work, each step logged on the ``hub.log.recovery`` logger with the topic-partition and file names:

1. A segment swap by the log cleaner (see ``PartitionLog.replace_segments``) whose ``.log.swap`` file exists had
   finished writing the cleaned segment, so it is completed: live segments whose base offset lies inside the
   swap's offsets are removed and the ``.swap`` files take their final names.
2. Leftovers are removed: ``.deleted`` (retired segments), ``.cleaned`` (a cleaner's unfinished output: the swap
   is rolled back), ``.swap`` index files without their log file, ``.tmp`` (half-written JSON files).
3. Segments that end at or below the recovery point are trusted; their indexes are sanity-checked (size a
   multiple of the entry size, entries increasing, last entry inside the segment) and rebuilt when they fail.
4. Every later segment is re-read batch by batch with CRC checks (``corrupt=True``); the log is truncated at the
   first torn or corrupt batch, later segments are removed, and a warning says how many bytes and which offsets
   were dropped.

Runs before the partition is published, so it needs no locking.
"""

from __future__ import annotations

import logging
from pathlib import Path

from hub.log.checkpoint import fsync_dir
from hub.log.segment import CLEANED_SUFFIX, DELETED_SUFFIX, LOG_SUFFIX, SWAP_SUFFIX, LogSegment

log = logging.getLogger("hub.log.recovery")

_BASE_DIGITS = 20


def _base_of(path: Path) -> int:
    return int(path.name[:_BASE_DIGITS])


def _live_bases(directory: Path) -> list[int]:
    return sorted(_base_of(path) for path in directory.glob("*" + LOG_SUFFIX))


def complete_swaps(directory: Path, name: str, *, index_interval_bytes: int) -> None:
    """Finish every segment swap whose cleaned log reached its ``.swap`` name (step 1 above)."""
    for swap_log in sorted(directory.glob("*" + LOG_SUFFIX + SWAP_SUFFIX)):
        swapped = LogSegment(
            directory, _base_of(swap_log), index_interval_bytes=index_interval_bytes, suffix=SWAP_SUFFIX
        )
        swapped.open()
        swapped.scan(validate=True)
        replaced = [base for base in _live_bases(directory) if swapped.base_offset <= base < swapped.next_offset]
        for base in replaced:
            LogSegment(directory, base).delete_files()
        swapped.rename_files("")
        swapped.close()
        fsync_dir(directory)
        log.warning(
            "%s: completed an interrupted segment swap: %s replaces segment(s) %s (offsets %d to %d)",
            name,
            swapped.log_path.name,
            ", ".join(f"{base:020d}" for base in replaced) or "none",
            swapped.base_offset,
            swapped.next_offset - 1,
        )


def remove_leftovers(directory: Path, name: str) -> None:
    """Remove files of retired segments, unfinished cleaner output and half-written JSON files (step 2)."""
    leftovers = [
        *directory.glob("*" + DELETED_SUFFIX),
        *directory.glob("*" + CLEANED_SUFFIX),
        *directory.glob("*" + SWAP_SUFFIX),
        *directory.glob("*.tmp"),
    ]
    for path in sorted(leftovers):
        path.unlink()
        if path.name.endswith(CLEANED_SUFFIX):
            log.warning("%s: rolled back an unfinished segment swap: removed %s", name, path.name)
        else:
            log.info("%s: removed leftover %s", name, path.name)


def load_segments(directory: Path, name: str, *, recovery_point: int, index_interval_bytes: int) -> list[LogSegment]:
    """Open the partition's segments in offset order, recovering those past ``recovery_point`` (steps 3-4)."""
    complete_swaps(directory, name, index_interval_bytes=index_interval_bytes)
    remove_leftovers(directory, name)
    bases = _live_bases(directory)
    segments: list[LogSegment] = []
    for position, base in enumerate(bases):
        segment = LogSegment(directory, base, index_interval_bytes=index_interval_bytes)
        following = bases[position + 1] if position + 1 < len(bases) else None
        if following is not None and following <= recovery_point:
            segment.open(next_offset=following)
            segments.append(segment)
            continue
        segment.open()
        report = segment.scan(validate=True)
        segments.append(segment)
        if report.truncated_bytes:
            later = bases[position + 1 :]
            log.warning(
                "%s: recovery truncated segment %s at position %d: dropped %d bytes from offset %s on (%s)%s",
                name,
                segment.log_path.name,
                report.valid_bytes,
                report.truncated_bytes,
                report.first_dropped_offset,
                report.reason,
                f"; removed {len(later)} later segment(s) starting at offsets {', '.join(map(str, later))}"
                if later
                else "",
            )
            for base_after in later:
                LogSegment(directory, base_after).delete_files()
            fsync_dir(directory)
            break
    return segments
