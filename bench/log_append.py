"""Append throughput of a partition log next to plain write+fsync of the same bytes, measured in one run.

Batches are what a Kafka client sends: 100-byte records, 160 per batch (~16 KiB, the Java client's default
batch.size). Cases:

- durable (Hub's default, flush.messages=1): one appender waits for each append's fsync, like acks=all with one
  request in flight; reference: write + fsync per batch.
- group commit: 8 threads append concurrently and share fsyncs, each doing the fsync itself when no other
  thread's covers its append (``append_and_wait``), or all waiting on the Flusher thread (``append().wait()``, the
  path an event loop uses); same reference.
- the same with 1 MiB batches (10,000 records each).
- OS flush (flush.messages large): appends acknowledged once written; reference: plain writes, one fsync at the end.
  No target: here the fixed per-batch cost (CRC check, header stamping) shows against writes into the page cache.
- validation cost (OS flush, so nothing hides it): each codec appended with hub.log.validator's checks and with them
  switched off (the append path as it was before them), same batches; ``ratio_validation_<codec>`` is the
  throughput with the checks over without (1.0 = free). Compressed batches are decompressed and their records
  walked; uncompressed ones only get header checks.

Run: .venv/bin/python -m bench.log_append [--mb 64]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from pathlib import Path

from bench.report import figure, ratio, stopwatch
from hub.log import append_batches as append_module
from hub.log.compression import Compression
from hub.log.config import TopicConfig
from hub.log.flusher import Flusher
from hub.log.partition import PartitionLog
from hub.log.records import NewRecord, encode_batch

RECORD_BYTES = 100
RECORDS_PER_BATCH = 160


def make_batches(
    total_bytes: int, records_per_batch: int = RECORDS_PER_BATCH, compression: Compression = Compression.NONE
) -> list[bytes]:
    """Batches holding ``total_bytes`` of records (before compression)."""
    value = b"x" * (RECORD_BYTES - 10)
    one = encode_batch(
        [NewRecord(b"key-%05d" % i, value, timestamp=1_700_000_000_000) for i in range(records_per_batch)],
        compression=compression,
    )
    return [one] * max(1, total_bytes // (RECORD_BYTES * records_per_batch))


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


def hub_append(
    directory: Path, batches: list[bytes], *, threads: int, configs: dict[str, str], flusher_thread: bool = False
) -> tuple[float, int]:
    flusher = Flusher()
    flusher.start()
    log = PartitionLog(
        directory / "t-0", "t", 0, TopicConfig.build({"segment.bytes": str(256 << 20), **configs}), flusher=flusher
    )
    log.open()
    share = len(batches) // threads

    def append(part: list[bytes]) -> None:
        for batch in part:
            if flusher_thread:
                log.append(batch).wait()
            else:
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
    large = {"max.message.bytes": str(2 << 20)}
    os_flush = {"flush.messages": str(2**62), "flush.ms": str(2**62)}
    cases = [
        # name, records per batch, threads, topic configs, via the Flusher thread, reference fsyncs each write, target
        ("durable", RECORDS_PER_BATCH, 1, {}, False, True, 0.70),
        ("group_commit_8_threads", RECORDS_PER_BATCH, 8, {}, False, True, 0.70),
        ("group_commit_flusher_8_threads", RECORDS_PER_BATCH, 8, {}, True, True, 0.70),
        ("durable_1mib_batches", 10_000, 1, large, False, True, 0.70),
        ("os_flush", RECORDS_PER_BATCH, 1, os_flush, False, False, None),
        ("os_flush_1mib_batches", 10_000, 1, {**large, **os_flush}, False, False, None),
    ]
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        directory = Path(tmp)
        for name, per_batch, threads, configs, via_flusher, fsync_each, target in cases:
            batches = make_batches(args.mb << 20, per_batch)
            total = sum(len(batch) for batch in batches)
            reference_s = raw_write(directory, batches, fsync_each=fsync_each)
            hub_s, fsyncs = hub_append(directory, batches, threads=threads, configs=configs, flusher_thread=via_flusher)
            figure(f"{name}_raw", total / reference_s / 1e6, "MB/s")
            figure(f"{name}_hub", total / hub_s / 1e6, "MB/s")
            figure(f"{name}_hub_records", len(batches) * per_batch / hub_s, "records/s")
            figure(f"{name}_appends", len(batches), "appends")
            figure(f"{name}_fsyncs", fsyncs, "fsyncs")
            ratio(f"append_{name}", reference_s / hub_s, 1.0, target=target)
        validation_cost(directory, args.mb, os_flush)


def validation_cost(directory: Path, megabytes: int, configs: dict[str, str]) -> None:
    checks = append_module.validate_client_batch
    for kind in Compression:
        batches = make_batches(megabytes << 20, compression=kind)
        records = len(batches) * RECORDS_PER_BATCH
        best: dict[bool, float] = {}
        for _ in range(3):  # alternate, best of three: the two runs see the same page cache and CPU
            for validated in (True, False):
                append_module.validate_client_batch = checks if validated else _no_checks
                try:
                    seconds, _ = hub_append(directory, batches, threads=1, configs=configs)
                finally:
                    append_module.validate_client_batch = checks
                best[validated] = min(best.get(validated, seconds), seconds)
        name = kind.name.lower()
        figure(f"validation_{name}_with", records / best[True], "records/s")
        figure(f"validation_{name}_without", records / best[False], "records/s")
        ratio(f"validation_{name}", best[False], best[True])


def _no_checks(*_: object, **__: object) -> None:
    return None


if __name__ == "__main__":
    main()
