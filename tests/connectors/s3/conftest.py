"""S3 test helpers: a fresh bucket per test on the harness's S3 server, configs, a sink task driven by hand."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from connectors.s3.sink import S3SinkConnector, S3SinkTask
from hub.sdk import ErrantRecordReporter, SinkRecord, SinkTaskContext
from tests.harness.servers import S3Server

JSON = "io.confluent.connect.s3.format.json.JsonFormat"
AVRO = "io.confluent.connect.s3.format.avro.AvroFormat"
PARQUET = "io.confluent.connect.s3.format.parquet.ParquetFormat"
BYTES = "io.confluent.connect.s3.format.bytearray.ByteArrayFormat"


def s3_client(server: S3Server) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name=server.region,
    )


def new_bucket(server: S3Server) -> str:
    name = f"hub-test-{uuid.uuid4().hex[:24]}"
    s3_client(server).create_bucket(Bucket=name)
    return name


@pytest.fixture
def bucket(s3_server: S3Server) -> str:
    """A new, empty bucket."""
    return new_bucket(s3_server)


def store_config(server: S3Server, bucket: str) -> dict[str, str]:
    return {
        "s3.bucket.name": bucket,
        "s3.region": server.region,
        "store.url": server.url,
        "aws.access.key.id": server.access_key,
        "aws.secret.access.key": server.secret_key,
        "s3.retry.backoff.ms": "10",
    }


def sink_config(server: S3Server, bucket: str, **options: str) -> dict[str, str]:
    return {
        "name": "s3-sink",
        "topics": "orders",
        **store_config(server, bucket),
        "format.class": JSON,
        "flush.size": "3",
        **options,
    }


def objects(server: S3Server, bucket: str, prefix: str = "") -> dict[str, bytes]:
    """Every object of the bucket under ``prefix``, by name."""
    client = s3_client(server)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", ())]
    return {key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


class Reporter(ErrantRecordReporter):
    """Keeps what a task reports."""

    def __init__(self) -> None:
        self.reported: list[tuple[SinkRecord, BaseException]] = []

    def report(self, record: SinkRecord, error: BaseException) -> Future[None]:
        self.reported.append((record, error))
        done: Future[None] = Future()
        done.set_result(None)
        return done


@dataclass
class Context(SinkTaskContext):
    """A sink context that records rewinds and retry timeouts."""

    settings: dict[str, str]
    reporter: ErrantRecordReporter | None = None
    seeks: dict[tuple[str, int], int] = field(default_factory=dict)
    timeouts: list[int] = field(default_factory=list)

    @property
    def config(self) -> dict[str, str]:
        return self.settings

    def assignment(self) -> set[tuple[str, int]]:
        return set()

    def offset(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.seeks.update(offsets)

    def timeout(self, timeout_ms: int) -> None:
        self.timeouts.append(timeout_ms)

    def pause(self, *partitions: tuple[str, int]) -> None: ...

    def resume(self, *partitions: tuple[str, int]) -> None: ...

    def request_commit(self) -> None: ...

    @property
    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        return self.reporter


@dataclass
class SinkDriver:
    """One sink task, driven as the runtime drives it."""

    config: dict[str, str]
    partitions: Sequence[tuple[str, int]] = (("orders", 0),)
    reporter: ErrantRecordReporter | None = None
    task: S3SinkTask = field(init=False)
    context: Context = field(init=False)

    def __enter__(self) -> SinkDriver:
        S3SinkConnector().start(self.config)
        self.task = S3SinkTask()
        self.context = Context(self.config, self.reporter)
        self.task.initialize(self.context)
        self.task.start(self.config)
        self.task.open(list(self.partitions))
        return self

    def put(self, records: Sequence[SinkRecord]) -> None:
        self.task.put(records)

    def commit(self, consumed: Mapping[tuple[str, int], int] | None = None) -> dict[tuple[str, int], int]:
        """What ``pre_commit`` lets the runtime commit, given what was consumed (default: 1000 per partition)."""
        return dict(self.task.pre_commit(consumed or dict.fromkeys(self.partitions, 1000)))

    def __exit__(self, *exc: object) -> None:
        self.task.close(list(self.partitions))
        self.task.stop()


def record(
    offset: int,
    value: Any,
    schema: Any = None,
    *,
    partition: int = 0,
    topic: str = "orders",
    timestamp: int | None = None,
) -> SinkRecord:
    return SinkRecord(
        topic=topic,
        value=value,
        value_schema=schema,
        kafka_partition=partition,
        kafka_offset=offset,
        timestamp=timestamp,
    )
