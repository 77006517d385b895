"""The S3 connectors run by the worker runtime: a round trip topic → bucket → topic, and failures as task statuses."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from hub.log.client.types import NewTopic
from hub.runtime.converters.json import JsonConverter
from hub.sdk import Struct
from hub.sdk.errors import ConfigError
from hub.sdk.schema import INT64_SCHEMA, STRING_SCHEMA, struct_schema
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.s3.conftest import objects, store_config
from tests.harness.process import free_port
from tests.harness.s3 import LocalS3
from tests.harness.servers import S3Server

pytestmark = pytest.mark.integration

ORDER = struct_schema([("id", INT64_SCHEMA), ("region", STRING_SCHEMA)], name="shop.Order")
PARTITIONS = 3
PER_PARTITION = 10
_JSON = JsonConverter()


def produce_orders(runtime: Runtime, topic: str) -> dict[int, list[dict[str, Any]]]:
    """Ten orders to each of three partitions, as JSON with schemas; the payloads sent per partition."""
    runtime.clients.admin().create_topics([NewTopic(topic, PARTITIONS)])
    sent: dict[int, list[dict[str, Any]]] = {p: [] for p in range(PARTITIONS)}
    with runtime.clients.producer() as producer:
        for n in range(PARTITIONS * PER_PARTITION):
            partition = n % PARTITIONS
            value = Struct(ORDER, {"id": n, "region": ("eu", "us")[n % 2]})
            key = _JSON.from_connect(topic, STRING_SCHEMA, str(n))
            producer.send(topic, key=key, value=_JSON.from_connect(topic, ORDER, value), partition=partition)
            sent[partition].append(value.to_dict())
        producer.flush(30)
    return sent


def test_a_topic_goes_to_the_bucket_and_back_with_its_partitions_and_order(
    runtime: Runtime, s3_server: S3Server, bucket: str
) -> None:
    sent = produce_orders(runtime, "orders")
    runtime.create(
        "archive",
        {
            "connector.class": "io.confluent.connect.s3.S3SinkConnector",
            "topics": "orders",
            **store_config(s3_server, bucket),
            "format.class": "JsonFormat",
            "flush.size": "5",
            "tasks.max": "2",
        },
    )
    runtime.wait_running("archive", tasks=2)
    wait_for(lambda: len(objects(s3_server, bucket)) == 6, 60, "two objects per partition")
    keys = sorted(objects(s3_server, bucket))
    assert keys[:2] == [
        "topics/orders/partition=0/orders+0+0000000000.json",
        "topics/orders/partition=0/orders+0+0000000005.json",
    ]

    runtime.clients.admin().create_topics([NewTopic("orders-restored", PARTITIONS)])
    runtime.create(
        "restore",
        {
            "connector.class": "io.confluent.connect.s3.source.S3SourceConnector",
            **store_config(s3_server, bucket),
            "format.class": "JsonFormat",
            "transforms": "rename",
            "transforms.rename.type": "RegexRouter",
            "transforms.rename.regex": "orders",
            "transforms.rename.replacement": "orders-restored",
            "s3.poll.interval.ms": "200",
        },
    )
    runtime.wait_running("restore")
    wait_for(
        lambda: sum(1 for _ in runtime.read_topic("orders-restored")) >= PARTITIONS * PER_PARTITION,
        60,
        "every record restored",
    )
    restored: dict[int, list[dict[str, Any]]] = {p: [] for p in range(PARTITIONS)}
    for consumed in runtime.read_topic("orders-restored"):
        assert consumed.value is not None
        restored[consumed.partition].append(json.loads(consumed.value)["payload"])
    assert restored == sent


def test_a_bucket_that_does_not_exist_fails_the_task_naming_it(runtime: Runtime, s3_server: S3Server) -> None:
    runtime.store(
        "lost",
        {
            "connector.class": "S3Sink",
            "topics": "orders",
            **store_config(s3_server, "gone-bucket"),
            "format.class": "JsonFormat",
            "flush.size": "5",
        },
    )
    status = runtime.wait_state("lost", "FAILED")
    assert f"bucket 'gone-bucket' does not exist at {s3_server.url}" in status["tasks"][0]["trace"]


def test_an_endpoint_nobody_answers_fails_the_task_naming_it(runtime: Runtime, s3_server: S3Server) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    runtime.store(
        "nowhere",
        {
            "connector.class": "S3Source",
            **store_config(s3_server, "b-1"),
            "store.url": url,
            "format.class": "JsonFormat",
            "s3.part.retries": "0",
        },
    )
    status = runtime.wait_state("nowhere", "FAILED")
    assert f"bucket 'b-1' at {url}" in status["tasks"][0]["trace"]


@pytest.fixture
def locked_bucket() -> Iterator[tuple[S3Server, str, dict[str, str]]]:
    """A moto server of its own that checks credentials (moto's IAM enforcement, switched on with its
    ``reset-auth`` API after setup), a bucket, and the keys of an IAM user without any permission."""
    local = LocalS3()
    server = local.start()
    try:
        options = {
            "endpoint_url": server.url,
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
            "region_name": server.region,
        }
        boto3.client("s3", **options).create_bucket(Bucket="locked")
        iam = boto3.client("iam", **options)
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        enforce = urllib.request.Request(
            f"{server.url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "application/json"}
        )
        urllib.request.urlopen(enforce, timeout=10).close()
        yield (
            server,
            "locked",
            {"aws.access.key.id": key["AccessKeyId"], "aws.secret.access.key": key["SecretAccessKey"]},
        )
    finally:
        local.stop()


def test_credentials_without_access_fail_the_task_with_access_denied(
    runtime: Runtime, locked_bucket: tuple[S3Server, str, dict[str, str]]
) -> None:
    server, bucket, keys = locked_bucket
    runtime.store(
        "denied",
        {
            "connector.class": "S3Sink",
            "topics": "orders",
            **store_config(server, bucket),
            **keys,
            "format.class": "JsonFormat",
            "flush.size": "5",
        },
    )
    status = runtime.wait_state("denied", "FAILED")
    assert f"access denied to bucket 'locked' at {server.url}" in status["tasks"][0]["trace"]
    assert keys["aws.secret.access.key"] not in json.dumps(status)


# --- validation tries the bucket: the configs above were stored before their bucket went away ---------------------


def _both(store: dict[str, str]) -> list[dict[str, str]]:
    """An S3Sink and an S3Source config on ``store``."""
    return [
        {"connector.class": "S3Sink", "topics": "orders", "format.class": "JsonFormat", "flush.size": "5", **store},
        {"connector.class": "io.confluent.connect.s3.source.S3SourceConnector", "format.class": "JsonFormat", **store},
    ]


def test_validation_passes_an_existing_bucket(runtime: Runtime, s3_server: S3Server, bucket: str) -> None:
    for config in _both(store_config(s3_server, bucket)):
        assert runtime.problems(config) == {}


def test_validation_refuses_a_missing_bucket_on_its_option(runtime: Runtime, s3_server: S3Server) -> None:
    for config in _both(store_config(s3_server, "gone-bucket")):
        problems = runtime.problems(config)
        assert problems == {"s3.bucket.name": [f"bucket 'gone-bucket' does not exist at {s3_server.url}"]}
        with pytest.raises(ConfigError, match="gone-bucket"):
            runtime.create("lost", config)
    assert runtime.herder.connectors() == []


def test_validation_refuses_an_endpoint_nobody_answers(runtime: Runtime, s3_server: S3Server, bucket: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    for config in _both({**store_config(s3_server, bucket), "store.url": url}):
        problems = runtime.problems(config)
        assert list(problems) == ["store.url"], problems
        assert f"cannot reach bucket '{bucket}' at {url}" in problems["store.url"][0]


def test_validation_refuses_credentials_without_access_on_the_secret(
    runtime: Runtime, locked_bucket: tuple[S3Server, str, dict[str, str]]
) -> None:
    server, bucket, keys = locked_bucket
    for config in _both({**store_config(server, bucket), **keys}):
        problems = runtime.problems(config)
        assert list(problems) == ["aws.secret.access.key"], problems
        assert f"access denied to bucket '{bucket}'" in problems["aws.secret.access.key"][0]
        assert keys["aws.secret.access.key"] not in json.dumps(problems)
