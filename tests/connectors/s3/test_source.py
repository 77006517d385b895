"""S3Source against the S3 server of the harness: restoring what the sink wrote, in order, resuming mid-object."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from connectors.s3.source import S3SourceConnector, S3SourceTask
from hub.sdk import SourceRecord, Struct
from hub.sdk.errors import ConnectorError
from hub.sdk.schema import INT64_SCHEMA, STRING_SCHEMA, struct_schema
from hub.sdk.testing import MemoryOffsets, MemorySourceContext
from tests.connectors.s3.conftest import AVRO, BYTES, PARQUET, SinkDriver, record, s3_client, sink_config, store_config
from tests.harness.servers import S3Server

pytestmark = pytest.mark.integration

ITEM = struct_schema([("id", INT64_SCHEMA), ("name", STRING_SCHEMA)], name="shop.Item")


def item(n: int) -> Struct:
    return Struct(ITEM, {"id": n, "name": f"item {n}"})


def source_config(server: S3Server, bucket: str, **options: str) -> dict[str, str]:
    return {
        "name": "s3-source",
        **store_config(server, bucket),
        "format.class": "JsonFormat",
        "s3.poll.interval.ms": "50",
        **options,
    }


def write(server: S3Server, bucket: str, partitions: dict[int, int], **options: str) -> None:
    """Writes ``count`` items to each partition through the sink (flush.size 3)."""
    tps = [("orders", p) for p in partitions]
    with SinkDriver(sink_config(server, bucket, **options), partitions=tps) as sink:
        for partition, count in partitions.items():
            sink.put([record(n, item(n), ITEM, partition=partition) for n in range(count)])
        sink.commit(dict.fromkeys(tps, 1000))


class SourceRun:
    """One source task over shared offsets, polled until it has what a test wants."""

    def __init__(self, config: dict[str, str], offsets: MemoryOffsets | None = None) -> None:
        self.offsets = offsets or MemoryOffsets()
        self.task = S3SourceTask()
        self.task.initialize(MemorySourceContext(config, self.offsets))
        self.task.start(config)

    def read(self, count: int, timeout_s: float = 10) -> list[SourceRecord]:
        records: list[SourceRecord] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            batch = self.task.poll()
            for polled in batch:  # committed as the runtime would once stored
                self.offsets.stored[_key(polled.source_partition)] = dict(polled.source_offset)
            records += batch
        return records

    def stop(self) -> None:
        self.task.stop()


def _key(partition: Any) -> str:
    import json

    return json.dumps(dict(partition), sort_keys=True)


def values(records: list[SourceRecord]) -> list[Any]:
    return [r.value["id"] if isinstance(r.value, dict) else r.value.get("id") for r in records]


def test_source_restores_each_partition_in_offset_order(s3_server: S3Server, bucket: str) -> None:
    write(s3_server, bucket, {0: 9, 1: 6})
    run = SourceRun(source_config(s3_server, bucket))
    records = run.read(15)
    run.stop()
    assert len(records) == 15
    by_partition = {p: [r for r in records if r.kafka_partition == p] for p in (0, 1)}
    assert values(by_partition[0]) == list(range(9))
    assert values(by_partition[1]) == list(range(6))
    assert {r.topic for r in records} == {"orders"}
    assert records[0].value == {"id": 0, "name": "item 0"}
    assert records[0].value_schema is None
    assert records[2].source_offset == {
        "object": "topics/orders/partition=0/orders+0+0000000000.json",
        "index": 3,
        "complete": True,
    }


@pytest.mark.parametrize("format_class", [AVRO, PARQUET])
def test_source_restores_structs_with_their_schema(s3_server: S3Server, bucket: str, format_class: str) -> None:
    write(s3_server, bucket, {0: 6}, **{"format.class": format_class})
    run = SourceRun(source_config(s3_server, bucket, **{"format.class": format_class}))
    records = run.read(6)
    run.stop()
    assert [r.value.to_dict() for r in records] == [item(n).to_dict() for n in range(6)]
    assert records[0].value_schema is not None
    assert records[0].value_schema.name == "shop.Item"


def test_source_restores_bytes(s3_server: S3Server, bucket: str) -> None:
    with SinkDriver(sink_config(s3_server, bucket, **{"format.class": BYTES, "s3.compression.type": "gzip"})) as sink:
        sink.put([record(n, f"line {n}".encode()) for n in range(3)])
        sink.commit()
    config = source_config(s3_server, bucket, **{"format.class": BYTES, "s3.compression.type": "gzip"})
    run = SourceRun(config)
    assert [r.value for r in run.read(3)] == [b"line 0", b"line 1", b"line 2"]
    run.stop()


def test_a_restarted_source_resumes_mid_object_without_repeating_records(s3_server: S3Server, bucket: str) -> None:
    write(s3_server, bucket, {0: 9})
    config = source_config(s3_server, bucket, **{"record.batch.max.size": "2"})
    first = SourceRun(config)
    read_first = first.read(4)  # two polls: the first object and one record of the second
    first.stop()
    assert values(read_first) == [0, 1, 2, 3]
    again = SourceRun(config, first.offsets)
    rest = again.read(5)
    assert values(rest) == [4, 5, 6, 7, 8]
    assert again.read(1, timeout_s=0.3) == [], "nothing more"
    again.stop()


def test_new_objects_are_found_by_the_next_listing(s3_server: S3Server, bucket: str) -> None:
    write(s3_server, bucket, {0: 3})
    run = SourceRun(source_config(s3_server, bucket))
    assert values(run.read(3)) == [0, 1, 2]
    with SinkDriver(sink_config(s3_server, bucket)) as sink:  # the sink goes on where it was
        sink.put([record(n, item(n), ITEM) for n in range(3, 6)])
        sink.commit()
    assert values(run.read(3)) == [3, 4, 5]
    run.stop()


def test_objects_the_sink_did_not_write_are_ignored(s3_server: S3Server, bucket: str) -> None:
    write(s3_server, bucket, {0: 3})
    client = s3_client(s3_server)
    client.put_object(Bucket=bucket, Key="topics/orders/partition=0/notes.txt", Body=b"hello")
    client.put_object(Bucket=bucket, Key="topics/orders/partition=0/orders+0+0000000003.avro", Body=b"x")
    client.put_object(Bucket=bucket, Key="elsewhere/orders/partition=0/orders+0+0000000003.json", Body=b"{}\n")
    run = SourceRun(source_config(s3_server, bucket))
    assert values(run.read(10, timeout_s=0.5)) == [0, 1, 2]
    run.stop()


def test_tasks_share_the_partitions_between_them(s3_server: S3Server, bucket: str) -> None:
    write(s3_server, bucket, dict.fromkeys(range(4), 3))
    connector = S3SourceConnector()
    connector.start(source_config(s3_server, bucket))
    configs = connector.task_configs(2)
    seen: list[set[int]] = []
    for config in configs:
        run = SourceRun(config)
        seen.append({r.kafka_partition for r in run.read(12, timeout_s=0.5)})  # type: ignore[misc]
        run.stop()
    assert seen[0] | seen[1] == {0, 1, 2, 3}
    assert not seen[0] & seen[1]


def test_stop_from_another_thread_ends_a_waiting_poll(s3_server: S3Server, bucket: str) -> None:
    run = SourceRun(source_config(s3_server, bucket, **{"s3.poll.interval.ms": "60000"}))
    run.task.poll()  # lists the empty bucket; the next poll waits
    returned = threading.Event()
    thread = threading.Thread(target=lambda: (run.task.poll(), returned.set()))
    thread.start()
    time.sleep(0.1)
    began = time.monotonic()
    run.stop()
    assert returned.wait(2)
    assert time.monotonic() - began < 1.5


def test_a_bucket_that_does_not_exist_fails_the_start(s3_server: S3Server) -> None:
    task = S3SourceTask()
    task.initialize(MemorySourceContext({}, MemoryOffsets()))
    with pytest.raises(ConnectorError, match="bucket 'missing-bucket' does not exist"):
        task.start(source_config(s3_server, "missing-bucket"))
