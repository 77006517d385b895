"""Read throughput of a partition log next to plain sequential reads of the same bytes, measured in one run.

A log of ~16 KiB batches of 100-byte records is written once (several segments), then read from the page cache the
way a consumer's fetches do: from offset 0 to the end, 1 MiB per request. Cases:

- read: ``PartitionLog.read_slices`` then ``os.pread`` (``PartitionLog.read`` plus the next offset);
  reference: ``os.pread`` of 1 MiB chunks of the same segment files, opened separately.
- sendfile: ``PartitionLog.read_slices`` then ``os.sendfile`` (what the Kafka server does) into a file, since
  sendfile to /dev/null copies nothing; reference: ``os.sendfile`` of 1 MiB chunks of the same files.

Each case takes the best of five passes, alternating reference and Hub, so both see a warm cache.

Run: .venv/bin/python -m bench.log_read [--mb 256]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.log_append import RECORDS_PER_BATCH, make_batches
from bench.report import figure, ratio, stopwatch
from hub.log.config import TopicConfig
from hub.log.partition import PartitionLog

FETCH_BYTES = 1 << 20


def raw_read(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        position = 0
        while chunk := os.pread(fd, FETCH_BYTES, position):
            position += len(chunk)
        os.close(fd)
        total += position
    return total


def raw_sendfile(paths: list[Path], sink: int) -> int:
    os.ftruncate(sink, 0)
    os.lseek(sink, 0, os.SEEK_SET)
    total = 0
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        size = os.fstat(fd).st_size
        position = 0
        while position < size:
            position += os.sendfile(sink, fd, position, min(FETCH_BYTES, size - position))
        os.close(fd)
        total += position
    return total


def hub_read(log: PartitionLog) -> int:
    offset = total = 0
    end = log.log_end_offset
    while offset < end:
        # A consumer finds the next offset in the last batch it decodes; read_slices reports it without decoding.
        (piece,) = log.read_slices(offset, FETCH_BYTES)
        total += len(os.pread(piece.fd, piece.length, piece.position))
        offset = piece.next_offset
    return total


def hub_sendfile(log: PartitionLog, sink: int) -> int:
    os.ftruncate(sink, 0)
    os.lseek(sink, 0, os.SEEK_SET)
    offset = total = 0
    end = log.log_end_offset
    while offset < end:
        for piece in log.read_slices(offset, FETCH_BYTES):
            sent = 0
            while sent < piece.length:
                sent += os.sendfile(sink, piece.fd, piece.position + sent, piece.length - sent)
            total += sent
            offset = piece.next_offset
    return total


def best_of(passes: int, reference: Callable[[], int], hub: Callable[[], int]) -> tuple[float, float, int]:
    best_reference = best_hub = float("inf")
    size = 0
    for _ in range(passes):
        with stopwatch() as elapsed:
            size = reference()
        best_reference = min(best_reference, elapsed())
        with stopwatch() as elapsed:
            hub_size = hub()
        best_hub = min(best_hub, elapsed())
        if hub_size != size:
            raise SystemExit(f"read {hub_size} bytes from the log, {size} from the plain file")
    return best_reference, best_hub, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=256, help="size of the log read (default 256)")
    args = parser.parse_args()
    batches = make_batches(args.mb << 20)
    records = len(batches) * RECORDS_PER_BATCH
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        directory = Path(tmp)
        config = TopicConfig.build({"segment.bytes": str(64 << 20), "flush.messages": str(2**62)})
        log = PartitionLog(directory / "t-0", "t", 0, config)
        log.open()
        for batch in batches:
            log.append(batch)
        log.flush()
        # The reference reads the very same files: a separately written copy sits elsewhere in the page cache
        # and reads measurably faster or slower for that reason alone.
        files = [segment.log_path for segment in log.segments]
        sink = os.open(directory / "sink.bin", os.O_WRONLY | os.O_CREAT, 0o644)
        reference_s, hub_s, size = best_of(5, lambda: raw_read(files), lambda: hub_read(log))
        figure("read_raw", size / reference_s / 1e6, "MB/s")
        figure("read_hub", size / hub_s / 1e6, "MB/s")
        figure("read_hub_records", records / hub_s, "records/s")
        ratio("read", reference_s / hub_s, 1.0, target=0.80)
        reference_s, hub_s, size = best_of(5, lambda: raw_sendfile(files, sink), lambda: hub_sendfile(log, sink))
        figure("sendfile_raw", size / reference_s / 1e6, "MB/s")
        figure("sendfile_hub", size / hub_s / 1e6, "MB/s")
        figure("sendfile_hub_records", records / hub_s, "records/s")
        ratio("sendfile", reference_s / hub_s, 1.0, target=0.80)
        os.close(sink)
        log.close()


if __name__ == "__main__":
    main()
