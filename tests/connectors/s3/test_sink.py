"""S3Sink against the S3 server of the harness: names, formats, partitioners, rotation, exactly-once, errors."""

from __future__ import annotations

import gzip
import io
import json
import logging
import time
from typing import Any

import fastavro
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from connectors.s3.formats import make_format
from connectors.s3.settings import SinkSettings
from connectors.s3.sink import S3SinkTask
from hub.sdk import Struct
from hub.sdk.errors import ConnectorError, DataError, RetriableError
from hub.sdk.schema import INT32_SCHEMA, INT64_SCHEMA, STRING_SCHEMA, struct_schema
from tests.connectors.s3.conftest import (
    AVRO,
    BYTES,
    PARQUET,
    Reporter,
    SinkDriver,
    objects,
    record,
    s3_client,
    sink_config,
)
from tests.harness.process import free_port
from tests.harness.servers import S3Server

pytestmark = pytest.mark.integration

ORDER = struct_schema([("id", INT64_SCHEMA), ("region", STRING_SCHEMA), ("qty", INT32_SCHEMA)], name="shop.Order")
HOUR_MS = 3_600_000
T0 = 1_714_915_800_000  # 2024-05-05 13:30 UTC


def order(n: int, region: str = "eu") -> Struct:
    return Struct(ORDER, {"id": n, "region": region, "qty": n % 5})


def orders(offsets: range, partition: int = 0, **kwargs: Any) -> list[Any]:
    return [record(n, order(n), ORDER, partition=partition, **kwargs) for n in offsets]


def json_ids(data: bytes) -> list[int]:
    return [json.loads(line)["id"] for line in data.splitlines()]


# --- names and formats -------------------------------------------------------------------------------------------


def test_objects_are_named_after_their_first_offset_and_hold_flush_size_records(
    s3_server: S3Server, bucket: str
) -> None:
    with SinkDriver(sink_config(s3_server, bucket)) as sink:
        sink.put(orders(range(7)))
        assert sink.commit({("orders", 0): 7}) == {("orders", 0): 6}, "record 6 is in no complete object yet"
    found = objects(s3_server, bucket)
    assert sorted(found) == [
        "topics/orders/partition=0/orders+0+0000000000.json",
        "topics/orders/partition=0/orders+0+0000000003.json",
    ]
    assert json_ids(found["topics/orders/partition=0/orders+0+0000000003.json"]) == [3, 4, 5]


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"s3.compression.type": "gzip"}, "orders+0+0000000000.json.gz"),
        ({"format.class": AVRO, "avro.codec": "deflate"}, "orders+0+0000000000.avro"),
        ({"format.class": PARQUET, "parquet.codec": "zstd"}, "orders+0+0000000000.zstd.parquet"),
        ({"format.class": PARQUET}, "orders+0+0000000000.snappy.parquet"),
    ],
)
def test_every_format_writes_objects_readers_of_that_format_read(
    s3_server: S3Server, bucket: str, options: dict[str, str], name: str
) -> None:
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put(orders(range(3)))
        sink.commit()
    [(key, data)] = objects(s3_server, bucket).items()
    assert key == f"topics/orders/partition=0/{name}"
    if name.endswith(".gz"):
        assert json_ids(gzip.decompress(data)) == [0, 1, 2]
    elif name.endswith(".avro"):
        assert [row["id"] for row in fastavro.reader(io.BytesIO(data))] == [0, 1, 2]
    else:
        assert pq.read_table(io.BytesIO(data)).column("id").to_pylist() == [0, 1, 2]


def test_bytearray_objects_hold_the_raw_values(s3_server: S3Server, bucket: str) -> None:
    with SinkDriver(sink_config(s3_server, bucket, **{"format.class": BYTES})) as sink:
        sink.put([record(n, f"line {n}".encode()) for n in range(3)])
        sink.commit()
    assert objects(s3_server, bucket) == {
        "topics/orders/partition=0/orders+0+0000000000.bin": b"line 0\nline 1\nline 2\n"
    }


def test_topics_dir_delimiters_and_padding_shape_the_names(s3_server: S3Server, bucket: str) -> None:
    options = {"topics.dir": "archive/kafka", "file.delim": "-", "filename.offset.zero.pad.width": "4"}
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put(orders(range(3)))
        sink.commit()
    assert list(objects(s3_server, bucket)) == ["archive/kafka/orders/partition=0/orders-0-0000.json"]


# --- partitioners and rotation -----------------------------------------------------------------------------------


def test_field_partitioner_writes_a_directory_per_value_and_rotates_them_together(
    s3_server: S3Server, bucket: str
) -> None:
    options = {
        "partitioner.class": "io.confluent.connect.storage.partitioner.FieldPartitioner",
        "partition.field.name": "region",
        "flush.size": "4",
    }
    regions = ["eu", "us", "us", "eu", "ap", "eu"]
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put([record(n, order(n, region), ORDER) for n, region in enumerate(regions)])
        assert sink.commit() == {("orders", 0): 4}
    found = {key: json_ids(data) for key, data in objects(s3_server, bucket).items()}
    assert found == {
        "topics/orders/region=eu/orders+0+0000000000.json": [0, 3],
        "topics/orders/region=us/orders+0+0000000001.json": [1, 2],
    }


def test_hourly_partitioner_with_record_time_rotates_when_the_hour_changes(s3_server: S3Server, bucket: str) -> None:
    options = {
        "partitioner.class": "io.confluent.connect.storage.partitioner.HourlyPartitioner",
        "locale": "en-US",
        "timezone": "UTC",
        "timestamp.extractor": "Record",
        "rotate.interval.ms": str(HOUR_MS),
        "flush.size": "100",
    }
    times = [T0, T0 + 60_000, T0 + HOUR_MS, T0 + HOUR_MS + 1, T0 + 3 * HOUR_MS]
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put([record(n, order(n), ORDER, timestamp=at) for n, at in enumerate(times)])
        assert sink.commit() == {("orders", 0): 4}
    found = {key: json_ids(data) for key, data in objects(s3_server, bucket).items()}
    assert found == {
        "topics/orders/year=2024/month=05/day=05/hour=13/orders+0+0000000000.json": [0, 1],
        "topics/orders/year=2024/month=05/day=05/hour=14/orders+0+0000000002.json": [2, 3],
    }


def test_time_based_partitioner_with_a_record_field_and_its_own_path_format(s3_server: S3Server, bucket: str) -> None:
    schema = struct_schema([("id", INT64_SCHEMA), ("at", INT64_SCHEMA)])
    options = {
        "partitioner.class": "TimeBasedPartitioner",
        "path.format": "'dt'=YYYY-MM-dd",
        "locale": "en",
        "partition.duration.ms": str(24 * HOUR_MS),
        "timezone": "Asia/Tokyo",
        "timestamp.extractor": "RecordField",
        "timestamp.field": "at",
        "flush.size": "2",
    }
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put([record(n, Struct(schema, {"id": n, "at": T0 + n * 6 * HOUR_MS}), schema) for n in range(2)])
        sink.commit()
    # 13:30 UTC is 22:30 in Tokyo on May 5th; six hours later it is May 6th there.
    assert list(objects(s3_server, bucket)) == [
        "topics/orders/dt=2024-05-05/orders+0+0000000000.json",
        "topics/orders/dt=2024-05-06/orders+0+0000000001.json",
    ]


def test_rotate_interval_cuts_objects_by_record_time_with_the_default_partitioner(
    s3_server: S3Server, bucket: str
) -> None:
    options = {"rotate.interval.ms": "1000", "flush.size": "100"}
    times = [T0, T0 + 400, T0 + 999, T0 + 1000, T0 + 1500, T0 + 2100]
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put([record(n, order(n), ORDER, timestamp=at) for n, at in enumerate(times)])
        assert sink.commit() == {("orders", 0): 5}
    found = {key.rsplit("+", 1)[1]: json_ids(data) for key, data in objects(s3_server, bucket).items()}
    assert found == {"0000000000.json": [0, 1, 2], "0000000003.json": [3, 4]}


def test_scheduled_rotation_uploads_open_objects_on_the_wall_clock(s3_server: S3Server, bucket: str) -> None:
    options = {"rotate.schedule.interval.ms": "300", "timezone": "UTC", "flush.size": "100"}
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put(orders(range(2)))
        assert sink.commit({("orders", 0): 2}) == {}
        time.sleep(0.35)
        assert sink.commit({("orders", 0): 2}) == {("orders", 0): 2}
    assert [json_ids(data) for data in objects(s3_server, bucket).values()] == [[0, 1]]


def test_a_new_value_schema_starts_new_objects(s3_server: S3Server, bucket: str) -> None:
    other = struct_schema([("id", INT64_SCHEMA)], name="shop.Other")
    with SinkDriver(sink_config(s3_server, bucket, **{"flush.size": "10", "format.class": AVRO})) as sink:
        sink.put([*orders(range(2)), record(2, Struct(other, {"id": 2}), other), *orders(range(3, 4))])
        assert sink.commit({("orders", 0): 4}) == {("orders", 0): 3}
    found = objects(s3_server, bucket)
    assert [key.rsplit("/", 1)[1] for key in found] == ["orders+0+0000000000.avro", "orders+0+0000000002.avro"]


def test_partitions_are_written_and_committed_separately(s3_server: S3Server, bucket: str) -> None:
    mixed = [r for pair in zip(orders(range(4), 0), orders(range(2), 1), strict=False) for r in pair]
    mixed += orders(range(2, 4), 1)
    partitions = [("orders", 0), ("orders", 1)]
    with SinkDriver(sink_config(s3_server, bucket, **{"flush.size": "2"}), partitions=partitions) as sink:
        sink.put(mixed)
        assert sink.commit({("orders", 0): 4, ("orders", 1): 4}) == {("orders", 0): 4, ("orders", 1): 4}
    assert len(objects(s3_server, bucket, "topics/orders/partition=1/")) == 2


# --- exactly once ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format_class", [AVRO, PARQUET, "JsonFormat"])
def test_a_task_restarted_from_the_committed_offset_rewrites_the_same_objects(
    s3_server: S3Server, bucket: str, format_class: str
) -> None:
    config = sink_config(
        s3_server,
        bucket,
        **{
            "format.class": format_class,
            "flush.size": "3",
            "partitioner.class": "FieldPartitioner",
            "partition.field.name": "region",
        },
    )
    regions = ["eu", "us", "eu", "eu", "us", "us", "eu", "ap", "us", "eu", "eu"]
    records = [record(n, order(n, region), ORDER) for n, region in enumerate(regions)]
    with SinkDriver(config) as first:
        first.put(records[:8])  # objects from 0..5 uploaded, 6 and 7 open — then the task dies, nothing committed
    before = objects(s3_server, bucket)
    with SinkDriver(config) as again:  # starts from the last committed offset, 0
        again.put(records)
        assert again.commit({("orders", 0): 11}) == {("orders", 0): 9}
    after = objects(s3_server, bucket)
    assert {key: after[key] for key in before} == before, "same names, same bytes"
    assert len(after) == len(before) + 3
    fmt = make_format(SinkSettings.parse(config).format)
    ids = sorted(value.get("id") for data in after.values() for _, value in fmt.read(io.BytesIO(data)))
    assert ids == list(range(9)), "every record once: no duplicates, no gaps"


def test_a_redelivered_batch_after_an_s3_outage_is_not_written_twice(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = sink_config(s3_server, bucket, **{"s3.part.retries": "2", "retry.backoff.ms": "1234"})
    with SinkDriver(config) as sink:
        client = sink.task._bucket.client  # type: ignore[union-attr]
        real_put = client.put_object
        calls = {"n": 0}

        def unreachable(**kwargs: Any) -> Any:
            calls["n"] += 1
            raise EndpointConnectionError(endpoint_url=s3_server.url)

        monkeypatch.setattr(client, "put_object", unreachable)
        caplog.set_level(logging.WARNING)
        batch = orders(range(4))
        sink.put(batch)  # the upload runs in the background and fails after its retries
        sink.task.pipeline.wait()
        with pytest.raises(RetriableError, match="S3 unavailable"):
            sink.put(batch)  # the failure surfaces here
        assert calls["n"] == 3, "one try and s3.part.retries retries"
        assert sink.context.timeouts == [1234]
        monkeypatch.setattr(client, "put_object", real_put)
        sink.put(batch)  # redelivered
        sink.put(orders(range(4, 6)))
        assert sink.commit({("orders", 0): 6}) == {("orders", 0): 6}
    found = objects(s3_server, bucket)
    assert sorted(i for data in found.values() for i in json_ids(data)) == list(range(6))
    assert "retry 1 of 2" in caplog.text


def test_transient_errors_are_retried_with_backoff(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SinkDriver(sink_config(s3_server, bucket)) as sink:
        client = sink.task._bucket.client  # type: ignore[union-attr]
        real_put = client.put_object
        failures = [
            ClientError({"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "PutObject")
        ] * 2

        def flaky(**kwargs: Any) -> Any:
            if failures:
                raise failures.pop()
            return real_put(**kwargs)

        monkeypatch.setattr(client, "put_object", flaky)
        sink.put(orders(range(3)))
        assert sink.commit({("orders", 0): 3}) == {("orders", 0): 3}
    assert len(objects(s3_server, bucket)) == 1


def test_a_reassigned_partition_rewinds_to_the_last_uploaded_record(s3_server: S3Server, bucket: str) -> None:
    tp = ("orders", 0)
    with SinkDriver(sink_config(s3_server, bucket)) as sink:
        sink.put(orders(range(5)))  # 0..2 uploaded, 3 and 4 open
        sink.task.close([tp])  # revoked: open objects dropped
        sink.task.open([tp])  # given back: the consumer would continue at 5
        assert sink.context.seeks == {tp: 3}
        assert sink.commit({tp: 7}) == {tp: 3}
        sink.put(orders(range(5, 7)))  # fetched before the rewind took effect: dropped
        sink.put(orders(range(9)))  # a consumer back at its committed offset: 0..2 are uploaded, dropped
        sink.put(orders(range(3, 9)))  # and the rewind arriving after that: a redelivery, skipped
        assert sink.commit({tp: 9}) == {tp: 9}
    found = objects(s3_server, bucket)
    assert sorted(i for data in found.values() for i in json_ids(data)) == list(range(9))


def test_large_objects_go_up_in_parts_and_spill_to_disk(s3_server: S3Server, bucket: str) -> None:
    megabyte = 1024 * 1024
    options = {
        "format.class": BYTES,
        "flush.size": "11",
        "s3.part.size": str(5 * megabyte),
        "hub.s3.spill.threshold.bytes": str(megabyte),
        "format.bytearray.separator": "",
    }
    values = [bytes([n]) * megabyte for n in range(11)]
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        sink.put([record(n, value) for n, value in enumerate(values)])
        assert sink.commit({("orders", 0): 11}) == {("orders", 0): 11}
    key = "topics/orders/partition=0/orders+0+0000000000.bin"
    head = s3_client(s3_server).head_object(Bucket=bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-3"), "a multipart upload of three parts"
    assert objects(s3_server, bucket)[key] == b"".join(values)


def test_a_failed_multipart_upload_leaves_no_object_and_fails_the_task(
    s3_server: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    megabyte = 1024 * 1024
    options = {"format.class": BYTES, "flush.size": "6", "s3.part.size": str(5 * megabyte)}
    with SinkDriver(sink_config(s3_server, bucket, **options)) as sink:
        client = sink.task._bucket.client  # type: ignore[union-attr]
        real_part = client.upload_part

        def part(**kwargs: Any) -> Any:
            if kwargs["PartNumber"] == 2:
                raise ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
                    "UploadPart",
                )
            return real_part(**kwargs)

        monkeypatch.setattr(client, "upload_part", part)
        sink.put([record(n, bytes(megabyte)) for n in range(6)])
        assert sink.commit({("orders", 0): 6}) == {}
        with pytest.raises(ConnectorError, match=f"access denied to bucket '{bucket}'"):
            sink.put([record(6, b"x")])
    client = s3_client(s3_server)
    assert objects(s3_server, bucket) == {}
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads"), "the upload was aborted"


# --- bad records and errors --------------------------------------------------------------------------------------


def test_null_values_fail_the_task_unless_ignored(s3_server: S3Server, bucket: str) -> None:
    with SinkDriver(sink_config(s3_server, bucket)) as sink, pytest.raises(ConnectorError, match="null value"):
        sink.put([record(0, None)])
    with SinkDriver(sink_config(s3_server, bucket, **{"behavior.on.null.values": "ignore"})) as sink:
        sink.put([record(0, None), *orders(range(1, 4))])
        assert sink.commit({("orders", 0): 4}) == {("orders", 0): 4}
    assert list(objects(s3_server, bucket)) == ["topics/orders/partition=0/orders+0+0000000001.json"]


def test_records_a_format_refuses_go_to_the_errant_record_reporter(s3_server: S3Server, bucket: str) -> None:
    reporter = Reporter()
    config = sink_config(s3_server, bucket, **{"format.class": AVRO, "flush.size": "2"})
    with SinkDriver(config, reporter=reporter) as sink:
        sink.put([record(0, {"schemaless": True}), *orders(range(1, 3))])
        assert sink.commit({("orders", 0): 3}) == {("orders", 0): 3}
    assert [(r.kafka_offset, type(e)) for r, e in reporter.reported] == [(0, DataError)]
    assert list(objects(s3_server, bucket)) == ["topics/orders/partition=0/orders+0+0000000001.avro"]
    with SinkDriver(config) as sink, pytest.raises(ConnectorError, match="record orders-0@0 cannot be written"):
        sink.put([record(0, {"schemaless": True})])


def test_a_bucket_that_does_not_exist_fails_the_start_naming_it(s3_server: S3Server) -> None:
    task = S3SinkTask()
    with pytest.raises(ConnectorError, match=f"bucket 'no-such-bucket' does not exist at {s3_server.url}"):
        task.start(sink_config(s3_server, "no-such-bucket"))


def test_an_endpoint_nobody_answers_fails_the_start_naming_it(s3_server: S3Server) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    config = {**sink_config(s3_server, "some-bucket"), "store.url": url, "s3.part.retries": "1"}
    with pytest.raises(ConnectorError, match=f"bucket 'some-bucket' at {url}.*Could not connect"):
        S3SinkTask().start(config)
