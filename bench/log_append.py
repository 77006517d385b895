"""Append throughput of a partition log next to plain write+fsync of the same bytes, measured in one run.

Batches are what a Kafka client sends: 100-byte records, 160 per batch (~16 KiB, the Java client's default
batch.size). Cases:

- durable (Hub's default, flush.messages=1): one appender waits for each append's fsync, like acks=all with one
  request in flight; reference: write + fsync per batch.
- group commit: 8 threads append concurrently and share fsyncs; same reference.
- OS flush (flush.messages large): appends acknowledged once written; reference: plain writes, one fsync at the end.

Run: .venv/bin/python -m bench.log_append [--mb 64]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from pathlib import Path

from bench.report import figure, ratio, stopwatch
from hub.log.config import TopicConfig
from hub.log.flusher import Flusher
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, encode_batch

RECORD_BYTES = 100
RECORDS_PER_BATCH = 160


def make_batches(total_bytes: int) -> list[bytes]:
    value = b"x" * (RECORD_BYTES - 10)
    one = encode_batch(
        [NewRecord(b"key-%05d" % i, value, timestamp=1_700_000_000_000) for i in range(RECORDS_PER_BATCH)]
    )
    return [one] * max(1, total_bytes // len(one))


def raw_write(directory: Path, batches: list[bytes], *, fsync_each: bool) -> float:
    path = directory / "raw.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with stopwatch() as elapsed:
        for batch in batches:
            os.write(fd, batch)
            if fsync_each:
                os.fsync(fd)
        os.fsync(fd)
    os.close(fd)
    path.unlink()
    return elapsed()


def hub_append(directory: Path, batches: list[bytes], *, threads: int, configs: dict[str, str]) -> tuple[float, int]:
    flusher = Flusher()
    flusher.start()
    log = PartitionLog(
        directory / "t-0", "t", 0, TopicConfig.build({"segment.bytes": str(256 << 20), **configs}), flusher=flusher
    )
    log.open()
    share = len(batches) // threads

    def append(part: list[bytes]) -> None:
        for batch in part:
            log.append_and_wait(batch)

    workers = [threading.Thread(target=append, args=(batches[i * share : (i + 1) * share],)) for i in range(threads)]
    with stopwatch() as elapsed:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        log.flush()
    fsyncs = log.fsync_count
    log.close()
    flusher.close()
    for path in (directory / "t-0").iterdir():
        path.unlink()
    (directory / "t-0").rmdir()
    return elapsed(), fsyncs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="data appended per case (default 64)")
    args = parser.parse_args()
    batches = make_batches(args.mb << 20)
    total = sum(len(batch) for batch in batches)
    records = len(batches) * RECORDS_PER_BATCH
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        directory = Path(tmp)
        cases = [
            ("durable", 1, {}, True),
            ("group_commit_8_threads", 8, {}, True),
            ("os_flush", 1, {"flush.messages": str(2**62), "flush.ms": str(2**62)}, False),
        ]
        for name, threads, configs, fsync_each in cases:
            reference_s = raw_write(directory, batches, fsync_each=fsync_each)
            hub_s, rounds = hub_append(directory, batches, threads=threads, configs=configs)
            figure(f"{name}_raw", total / reference_s / 1e6, "MB/s")
            figure(f"{name}_hub", total / hub_s / 1e6, "MB/s")
            figure(f"{name}_hub_records", records / hub_s, "records/s")
            figure(f"{name}_hub_fsyncs_per_append", rounds / len(batches), "")
            ratio(f"append_{name}", reference_s / hub_s * 1.0, 1.0, target=0.70)


if __name__ == "__main__":
    main()
