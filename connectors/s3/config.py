"""The S3 connectors' options: Confluent's names and defaults, declared for the sink and the source.

``SINK_CONFIG`` and ``SOURCE_CONFIG`` declare every option the connectors take, plus the options of Confluent's S3
sink Hub knows but does not implement (refused with the reason); both start from the options that reach the bucket.
``settings.py`` turns a config into typed settings.

Hub's own options start with ``hub.s3.``: ``hub.s3.spill.threshold.bytes`` bounds the memory of each open object
(past it the object's bytes go to a temporary file) and ``hub.s3.parquet.row.group.records`` fixes the rows of a
Parquet row group.

Immutable; safe to share between threads.
"""

from __future__ import annotations

from typing import Any

from connectors.s3.class_names import (
    PARTITIONER_PREFIX,
    extractor_problem,
    format_problem,
    partitioner_problem,
)
from hub.sdk import ConfigDef, ConfigType, Importance

STORAGE = "S3"
WRITES = "Writes"
FORMAT = "Format"
PARTITIONING = "Partitioner"
SOURCE = "Source"

MIB = 1024 * 1024
DEFAULT_CHAIN = "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
S3_STORAGE_CLASS = "io.confluent.connect.s3.storage.S3Storage"
PARQUET_CODECS = ("none", "uncompressed", "snappy", "gzip", "zstd", "lz4", "brotli")
AVRO_CODECS = ("null", "deflate", "snappy", "bzip2")


def _enabled_problem(what: str) -> Any:
    def check(value: Any) -> str | None:
        return f"{what} is not supported by Hub's S3 connectors" if value else None

    return check


def _connection_config() -> ConfigDef:
    """Options both connectors take to reach the bucket."""
    return (
        ConfigDef()
        .define(
            "s3.bucket.name",
            ConfigType.STRING,
            doc="The bucket.",
            importance=Importance.HIGH,
            non_empty=True,
            group=STORAGE,
        )
        .define(
            "s3.region",
            ConfigType.STRING,
            "us-west-2",
            "The bucket's AWS region.",
            importance=Importance.MEDIUM,
            group=STORAGE,
        )
        .define(
            "store.url",
            ConfigType.STRING,
            "",
            "Endpoint of an S3-compatible store (MinIO, moto…); empty: AWS.",
            group=STORAGE,
        )
        .define(
            "aws.access.key.id",
            ConfigType.STRING,
            "",
            "Access key; empty: boto3's credential chain (environment, profile, instance role).",
            group=STORAGE,
        )
        .define("aws.secret.access.key", ConfigType.PASSWORD, "", "Secret key of aws.access.key.id.", group=STORAGE)
        .define(
            "s3.credentials.provider.class",
            ConfigType.CLASS,
            DEFAULT_CHAIN,
            "Only the default chain (boto3's equivalent) is supported.",
            choices=(DEFAULT_CHAIN,),
            group=STORAGE,
        )
        .define(
            "s3.path.style.access.enabled",
            ConfigType.BOOLEAN,
            True,
            "Address buckets as ENDPOINT/BUCKET rather than BUCKET.ENDPOINT.",
            group=STORAGE,
        )
        .define(
            "s3.part.retries",
            ConfigType.INT,
            3,
            "Retries of a failed S3 request before giving up.",
            minimum=0,
            group=STORAGE,
        )
        .define(
            "s3.retry.backoff.ms",
            ConfigType.LONG,
            200,
            "First wait before retrying an S3 request; doubles with each retry.",
            minimum=0,
            group=STORAGE,
        )
        .define("topics.dir", ConfigType.STRING, "topics", "Top-level directory of the objects.", group=STORAGE)
        .define(
            "directory.delim",
            ConfigType.STRING,
            "/",
            "Delimiter of directories in object names.",
            non_empty=True,
            group=STORAGE,
        )
        .define(
            "file.delim",
            ConfigType.STRING,
            "+",
            "Delimiter of topic, partition and offset in object names.",
            non_empty=True,
            group=STORAGE,
        )
        .define(
            "format.class",
            ConfigType.CLASS,
            doc="JsonFormat, AvroFormat, ParquetFormat or ByteArrayFormat.",
            importance=Importance.HIGH,
            validator=format_problem,
            group=FORMAT,
        )
        .define(
            "s3.compression.type",
            ConfigType.STRING,
            "none",
            "gzip compresses JSON and ByteArray objects.",
            choices=("none", "gzip"),
            case_insensitive_choices=True,
            group=FORMAT,
        )
        .define(
            "json.decimal.format",
            ConfigType.STRING,
            "BASE64",
            "Decimals in JSON: BASE64 (unscaled bytes) or NUMERIC (numbers).",
            choices=("BASE64", "NUMERIC"),
            case_insensitive_choices=True,
            group=FORMAT,
        )
        .define(
            "format.bytearray.extension", ConfigType.STRING, ".bin", "Extension of ByteArray objects.", group=FORMAT
        )
        .define(
            "format.bytearray.separator",
            ConfigType.STRING,
            "\n",
            "Bytes written after each ByteArray value.",
            group=FORMAT,
        )
        .define(
            "storage.class",
            ConfigType.CLASS,
            S3_STORAGE_CLASS,
            "The storage (S3 only).",
            choices=(S3_STORAGE_CLASS,),
            group=STORAGE,
        )
        .unsupported("s3.proxy.url", "proxies are not supported; use the HTTPS_PROXY environment variable")
        .unsupported("s3.proxy.user", "proxies are not supported; use the HTTPS_PROXY environment variable")
        .unsupported("s3.proxy.password", "proxies are not supported; use the HTTPS_PROXY environment variable")
        .unsupported("s3.wan.mode", "transfer acceleration is not supported")
    )


SINK_CONFIG = (
    _connection_config()
    .define(
        "flush.size",
        ConfigType.INT,
        doc="Records of a topic partition per object set before it is uploaded.",
        importance=Importance.HIGH,
        minimum=1,
        group=WRITES,
    )
    .define(
        "rotate.interval.ms",
        ConfigType.LONG,
        -1,
        "Upload once a record's time is this far past the first record's time (-1: off).",
        group=WRITES,
    )
    .define(
        "rotate.schedule.interval.ms",
        ConfigType.LONG,
        -1,
        "Upload on a wall-clock schedule (-1: off); breaks exactly-once, see the docs.",
        group=WRITES,
    )
    .define(
        "rotate.file.on.partition.change",
        ConfigType.BOOLEAN,
        True,
        "With rotate.interval.ms and a time-based partitioner, upload when records move to another time partition.",
        group=WRITES,
    )
    .define(
        "s3.part.size",
        ConfigType.INT,
        25 * MIB,
        "Objects larger than this are uploaded in parts of this size.",
        minimum=5 * MIB,
        group=WRITES,
    )
    .define(
        "s3.compression.level",
        ConfigType.INT,
        -1,
        "gzip level (-1: zlib's default).",
        minimum=-1,
        maximum=9,
        group=FORMAT,
    )
    .define(
        "filename.offset.zero.pad.width",
        ConfigType.INT,
        10,
        "Digits of the start offset in object names.",
        minimum=0,
        group=WRITES,
    )
    .define(
        "behavior.on.null.values",
        ConfigType.STRING,
        "fail",
        "A record with a null value: fail the task, or ignore it.",
        choices=("fail", "ignore"),
        case_insensitive_choices=True,
        group=WRITES,
    )
    .define(
        "schema.compatibility",
        ConfigType.STRING,
        "NONE",
        "NONE: a record with another value schema starts new objects.",
        choices=("NONE",),
        case_insensitive_choices=True,
        group=WRITES,
    )
    .define(
        "retry.backoff.ms",
        ConfigType.LONG,
        5000,
        "Wait before a batch is redelivered after S3 stayed unavailable through s3.part.retries.",
        minimum=0,
        group=WRITES,
    )
    .define("avro.codec", ConfigType.STRING, "null", "Avro block codec.", choices=AVRO_CODECS, group=FORMAT)
    .define(
        "parquet.codec",
        ConfigType.STRING,
        "snappy",
        "Parquet compression codec.",
        choices=PARQUET_CODECS,
        case_insensitive_choices=True,
        group=FORMAT,
    )
    .define(
        "s3.ssea.name",
        ConfigType.STRING,
        "",
        "Server-side encryption: empty, AES256 or aws:kms.",
        choices=("", "AES256", "aws:kms"),
        group=STORAGE,
    )
    .define("s3.sse.kms.key.id", ConfigType.STRING, "", "KMS key of s3.ssea.name=aws:kms.", group=STORAGE)
    .define(
        "s3.acl.canned",
        ConfigType.STRING,
        "",
        "Canned ACL of the objects (e.g. bucket-owner-full-control).",
        group=STORAGE,
    )
    .define(
        "partitioner.class",
        ConfigType.CLASS,
        PARTITIONER_PREFIX + "DefaultPartitioner",
        "How records are spread over directories.",
        validator=partitioner_problem,
        group=PARTITIONING,
    )
    .define(
        "partition.field.name",
        ConfigType.LIST,
        "",
        "FieldPartitioner: the value fields naming the directory.",
        group=PARTITIONING,
    )
    .define(
        "partition.duration.ms",
        ConfigType.LONG,
        -1,
        "TimeBasedPartitioner: the time span of a directory.",
        group=PARTITIONING,
    )
    .define(
        "path.format",
        ConfigType.STRING,
        "",
        "TimeBasedPartitioner: Joda-Time pattern of the directory, e.g. 'year'=YYYY/'month'=MM/'day'=dd.",
        group=PARTITIONING,
    )
    .define(
        "locale",
        ConfigType.STRING,
        "",
        "Locale of path.format (month and day names are English only).",
        group=PARTITIONING,
    )
    .define(
        "timezone",
        ConfigType.STRING,
        "",
        "Time zone of path.format and rotate.schedule.interval.ms.",
        group=PARTITIONING,
    )
    .define(
        "timestamp.extractor",
        ConfigType.STRING,
        "Wallclock",
        "Time of a record: Wallclock (when written), Record (its timestamp) or RecordField.",
        validator=extractor_problem,
        group=PARTITIONING,
    )
    .define(
        "timestamp.field",
        ConfigType.STRING,
        "timestamp",
        "RecordField: the value field holding the time.",
        group=PARTITIONING,
    )
    .define(
        "store.kafka.keys",
        ConfigType.BOOLEAN,
        False,
        "Not supported: keys are not written.",
        validator=_enabled_problem("writing keys"),
        group=FORMAT,
    )
    .define(
        "store.kafka.headers",
        ConfigType.BOOLEAN,
        False,
        "Not supported: headers are not written.",
        validator=_enabled_problem("writing headers"),
        group=FORMAT,
    )
    .define(
        "s3.object.tagging",
        ConfigType.BOOLEAN,
        False,
        "Not supported: objects are not tagged.",
        validator=_enabled_problem("object tagging"),
        group=STORAGE,
    )
    .define(
        "hub.s3.spill.threshold.bytes",
        ConfigType.LONG,
        25 * MIB,
        "Bytes of an open object kept in memory (as Confluent's sink keeps an s3.part.size buffer); past them "
        "the object continues in a temporary file.",
        minimum=0,
        group=WRITES,
    )
    .define(
        "hub.s3.parquet.row.group.records",
        ConfigType.INT,
        50_000,
        "Rows per Parquet row group.",
        minimum=1,
        group=FORMAT,
    )
    .unsupported("keys.format.class", "keys are not written (store.kafka.keys)")
    .unsupported("headers.format.class", "headers are not written (store.kafka.headers)")
    .unsupported("s3.sse.customer.key", "customer-provided encryption keys are not supported")
    .unsupported("enable.conditional.writes", "Hub makes objects exactly-once by deterministic names; see the docs")
    .unsupported("max.files.scan.limit", "Hub makes objects exactly-once by deterministic names; see the docs")
    .unsupported("partitioner.max.open.files", "memory is bounded by hub.s3.spill.threshold.bytes instead")
    .unsupported("s3.elastic.buffer.enable", "memory is bounded by hub.s3.spill.threshold.bytes instead")
    .unsupported("s3.elastic.buffer.init.capacity", "memory is bounded by hub.s3.spill.threshold.bytes instead")
    .unsupported("tombstone.encoded.partition", "behavior.on.null.values=write is not supported")
)

SOURCE_CONFIG = (
    _connection_config()
    .define(
        "mode",
        ConfigType.STRING,
        "RESTORE_BACKUP",
        "Only RESTORE_BACKUP: objects written by the S3 sink.",
        choices=("RESTORE_BACKUP",),
        case_insensitive_choices=True,
        group=SOURCE,
    )
    .define(
        "s3.poll.interval.ms",
        ConfigType.LONG,
        60_000,
        "Wait between listings of the bucket once every object was read.",
        minimum=0,
        group=SOURCE,
    )
    .define("record.batch.max.size", ConfigType.INT, 200, "Most records returned by one poll.", minimum=1, group=SOURCE)
    .define(
        "partitioner.class",
        ConfigType.CLASS,
        PARTITIONER_PREFIX + "DefaultPartitioner",
        "Accepted for Confluent's configs; the layout is read from the object names.",
        validator=partitioner_problem,
        group=SOURCE,
    )
    .define(
        "hub.s3.spill.threshold.bytes",
        ConfigType.LONG,
        8 * MIB,
        "Bytes of a downloaded object kept in memory; past them it goes to a temporary file.",
        minimum=0,
        group=SOURCE,
    )
    .unsupported("topic.regex.list", "the GENERALIZED mode is not supported; objects are restored to their topics")
)
