"""MB/s of the S3 sink writing 1,000,000 records, next to boto3 uploading the same bytes directly, in one run.

Both run against one local S3 server (moto on 127.0.0.1, started here unless ``HUB_BENCH_S3_URL`` names one):

- **S3Sink**: one task, records handed to ``put`` in batches of 500 (the runtime's poll size) as SinkRecords with
  Struct values (10 fields: ids, a SKU, quantity, price, discount, status, a note, a Timestamp, a flag — about
  200 bytes of JSON), then ``pre_commit`` until every object is uploaded. ``flush.size`` 100,000 makes objects of
  about 20 MB (JSON lines), one PUT each. Timed: from the first ``put`` to the last upload.
- **reference**: the bytes of the objects the sink wrote, uploaded again by boto3 ``put_object`` as objects of the
  same sizes, one after the other, with the same client settings — as ``bytes`` (what a boto3 user writes; the
  target's reference) and as ``bytearray`` (the body type the sink hands botocore, sent with one socket write
  instead of 128 KiB pieces; no target, shown so the sink's own upload technique is not mistaken for free speed).
  Timed: the uploads only.
- **encoding only**: the sink's writer alone, sealed objects dropped instead of uploaded — the upper bound of the
  sink on this machine, printed so a missed target can be told apart from time lost to uploading.

Each is run three times, alternating, and the best time of each is kept (the local server's speed varies a lot
from one second to the next on a small machine). MB/s are megabytes (10^6) of object bytes per second. Figures
for JSON lines and for Parquet (snappy); the ratio of the sink to the ``bytes`` reference is checked against the
target for JSON lines (>= 0.70).

Run: ``python -m bench.s3 [RECORDS]`` (default 1,000,000).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator, Sequence

import boto3

from bench.report import figure, ratio, stopwatch
from connectors.s3.formats import make_format
from connectors.s3.naming import ObjectNamer
from connectors.s3.partitioners import make_partitioner
from connectors.s3.settings import SinkSettings, StoreSettings
from connectors.s3.sink import S3SinkConnector
from connectors.s3.storage import client_config
from connectors.s3.upload import Rotation
from connectors.s3.writer import TopicPartitionWriter
from hub.sdk import SinkRecord, Struct
from hub.sdk.schema import (
    BOOLEAN_SCHEMA,
    FLOAT64_SCHEMA,
    INT32_SCHEMA,
    INT64_SCHEMA,
    OPTIONAL_FLOAT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    STRING_SCHEMA,
    struct_schema,
    timestamp_schema,
)
from hub.sdk.testing import MemorySinkContext
from hub.tuning import tune_garbage_collector
from tests.harness.s3 import LocalS3
from tests.harness.servers import S3Server

TOPIC = "bench"
BATCH = 500
ROUNDS = 3
ROW = struct_schema(
    [
        ("id", INT64_SCHEMA),
        ("customer_id", INT32_SCHEMA),
        ("sku", STRING_SCHEMA),
        ("quantity", INT32_SCHEMA),
        ("price", FLOAT64_SCHEMA),
        ("discount", OPTIONAL_FLOAT64_SCHEMA),
        ("status", STRING_SCHEMA),
        ("note", OPTIONAL_STRING_SCHEMA),
        ("created_at", timestamp_schema()),
        ("active", BOOLEAN_SCHEMA),
    ],
    name="bench.Order",
)
STATUSES = ("new", "paid", "shipped", "done")
FORMATS = {
    "json": "io.confluent.connect.s3.format.json.JsonFormat",
    "parquet": "io.confluent.connect.s3.format.parquet.ParquetFormat",
}


@contextlib.contextmanager
def s3_server() -> Iterator[S3Server]:
    url = os.environ.get("HUB_BENCH_S3_URL")
    if url:
        yield S3Server.from_url(url)
        return
    local = LocalS3()
    try:
        yield local.start()
    finally:
        local.stop()


def make_records(count: int) -> list[SinkRecord]:
    """Distinct order rows as the sink receives them from the runtime."""
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    records = []
    for n in range(count):
        value = Struct.from_values(
            ROW,
            [
                n,
                n % 10_000,
                f"SKU-{n % 5000}",
                n % 7 + 1,
                (n % 1000) / 10,
                (n % 30) / 100 or None,
                STATUSES[n % 4],
                f"order note number {n} with some text",
                base + dt.timedelta(seconds=n),
                n % 2 == 0,
            ],
        )
        records.append(
            SinkRecord(
                topic=TOPIC,
                value=value,
                value_schema=ROW,
                kafka_partition=0,
                kafka_offset=n,
                timestamp=1_704_067_200_000 + n,
            )
        )
    return records


def sink_config(server: S3Server, bucket: str, format_name: str) -> dict[str, str]:
    return {
        "name": f"bench-{format_name}",
        "topics": TOPIC,
        "s3.bucket.name": bucket,
        "s3.region": server.region,
        "store.url": server.url,
        "aws.access.key.id": server.access_key,
        "aws.secret.access.key": server.secret_key,
        "format.class": FORMATS[format_name],
        "flush.size": "100000",
    }


def sink_seconds(config: dict[str, str], records: Sequence[SinkRecord]) -> float:
    """Seconds of one sink task writing ``records`` until every object is uploaded."""
    connector = S3SinkConnector()
    connector.start(config)
    task = connector.task_class()()
    tp = (TOPIC, 0)
    task.initialize(MemorySinkContext(config, {tp}))
    task.start(config)
    task.open([tp])
    try:
        with stopwatch() as elapsed:
            for start in range(0, len(records), BATCH):
                task.put(records[start : start + BATCH])
            committed = task.pre_commit({tp: len(records)})
        assert committed == {tp: len(records)}, committed
        return elapsed()
    finally:
        task.close([tp])
        task.stop()
        connector.stop()


class _Discard:
    """Stands in for the upload pipeline: sealed objects are dropped, as if S3 took no time."""

    def submit(self, rotation: Rotation) -> None:
        rotation.release()

    def idle(self, tp: object) -> bool:
        return True

    def durable(self, tp: object) -> None:
        return None


def encode_seconds(config: dict[str, str], records: Sequence[SinkRecord]) -> float:
    """Seconds of the sink's writer turning ``records`` into sealed objects, with no upload at all."""
    settings = SinkSettings.parse(config)
    object_format = make_format(settings.format)
    namer = ObjectNamer("topics", "/", "+", 10, object_format.extension)
    writer = TopicPartitionWriter(
        (TOPIC, 0),
        settings,
        object_format,
        make_partitioner(settings.partitioner, "/"),
        namer,
        _Discard(),  # type: ignore[arg-type]
        lambda record, error: None,
    )
    with stopwatch() as elapsed:
        for start in range(0, len(records), BATCH):
            writer.write(records[start : start + BATCH])
        writer.rotate()
    return elapsed()


def direct_seconds(client: object, bucket: str, bodies: Sequence[bytes | bytearray]) -> float:
    """Seconds of boto3 uploading ``bodies`` as new objects, one after the other."""
    with stopwatch() as elapsed:
        for index, body in enumerate(bodies):
            client.put_object(Bucket=bucket, Key=f"direct/{index:04d}", Body=body)  # type: ignore[attr-defined]
    return elapsed()


def measure(client: object, server: S3Server, format_name: str, records: Sequence[SinkRecord]) -> None:
    """Best of ``ROUNDS`` rounds of the sink and of the two references, alternating, and their ratios."""
    bucket = f"hub-bench-{format_name}"
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    best: dict[str, float] = {}
    size = objects = 0
    for _ in range(ROUNDS):
        config = sink_config(server, bucket, format_name)
        seconds = {"sink": sink_seconds(config, records), "encode": encode_seconds(config, records)}
        listing = client.list_objects_v2(Bucket=bucket, Prefix="topics/")["Contents"]  # type: ignore[attr-defined]
        keys = [item["Key"] for item in listing]
        bodies = [client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys]  # type: ignore[attr-defined]
        size, objects = sum(len(body) for body in bodies), len(bodies)
        seconds["bytes"] = direct_seconds(client, bucket, bodies)
        seconds["bytearray"] = direct_seconds(client, bucket, [bytearray(body) for body in bodies])
        for name, value in seconds.items():
            best[name] = min(best.get(name, value), value)
        for key in keys + [f"direct/{index:04d}" for index in range(objects)]:
            client.delete_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    client.delete_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    count = len(records)
    figure(f"{format_name}_objects", objects, "objects")
    figure(f"{format_name}_bytes_per_record", size / count, "bytes")
    figure(f"s3_sink_{format_name}", size / best["sink"] / 1e6, "MB/s")
    figure(f"s3_sink_{format_name}_records", count / best["sink"], "records/s")
    figure(f"sink_encoding_only_{format_name}", size / best["encode"] / 1e6, "MB/s")
    figure(f"boto3_put_{format_name}", size / best["bytes"] / 1e6, "MB/s")
    figure(f"boto3_put_bytearray_{format_name}", size / best["bytearray"] / 1e6, "MB/s")
    target = 0.7 if format_name == "json" else None
    ratio(f"sink_{format_name}_vs_boto3_put", best["bytes"], best["sink"], target=target)
    ratio(f"sink_{format_name}_vs_boto3_put_bytearray", best["bytearray"], best["sink"])
    ratio(f"sink_encoding_only_{format_name}_vs_boto3_put", best["bytes"], best["encode"])


def main(argv: list[str]) -> None:
    count = int(argv[1]) if len(argv) > 1 else 1_000_000
    records = make_records(count)
    tune_garbage_collector()  # as in Hub's worker process (hub/tuning.py)
    figure("records", count, "records")
    with s3_server() as server:
        settings = StoreSettings(
            bucket="",
            region=server.region,
            endpoint_url=server.url,
            access_key_id=server.access_key,
            secret_access_key=server.secret_key,
            path_style=True,
            retries=3,
            retry_backoff_ms=200,
            topics_dir="topics",
            directory_delim="/",
            file_delim="+",
        )
        client = boto3.client(
            "s3",
            endpoint_url=server.url,
            aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key,
            config=client_config(settings),
        )
        for format_name in FORMATS:
            measure(client, server, format_name, records)


if __name__ == "__main__":
    main(sys.argv)
