"""The S3 connectors' options — Confluent's names and defaults — and the typed settings parsed from them.

``SINK_CONFIG`` and ``SOURCE_CONFIG`` declare every option the connectors take, plus the options of Confluent's S3
sink Hub knows but does not implement (refused with the reason). ``SinkSettings.parse`` / ``SourceSettings.parse``
turn a config into frozen settings and check what one option alone cannot say (a time-based partitioner needs a
time zone, a RecordField extractor a field, …), raising ConfigError naming the option in trouble.

Hub's own options start with ``hub.s3.``: ``hub.s3.spill.threshold.bytes`` bounds the memory of each open object
(past it the object's bytes go to a temporary file) and ``hub.s3.parquet.row.group.records`` fixes the rows of a
Parquet row group.

Immutable; safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.sdk import ConfigDef, ConfigType, Importance, Password
from hub.sdk.errors import ConfigError

STORAGE = "S3"
WRITES = "Writes"
FORMAT = "Format"
PARTITIONING = "Partitioner"
SOURCE = "Source"

MIB = 1024 * 1024
DEFAULT_CHAIN = "com.amazonaws.auth.DefaultAWSCredentialsProviderChain"
S3_STORAGE_CLASS = "io.confluent.connect.s3.storage.S3Storage"

FORMAT_PREFIX = "io.confluent.connect.s3.format."
#: Confluent's format classes by the short name Hub uses for them.
FORMAT_CLASSES = {
    "json": FORMAT_PREFIX + "json.JsonFormat",
    "avro": FORMAT_PREFIX + "avro.AvroFormat",
    "parquet": FORMAT_PREFIX + "parquet.ParquetFormat",
    "bytearray": FORMAT_PREFIX + "bytearray.ByteArrayFormat",
}
PARTITIONER_PREFIX = "io.confluent.connect.storage.partitioner."
PARTITIONER_NAMES = (
    "DefaultPartitioner",
    "FieldPartitioner",
    "TimeBasedPartitioner",
    "DailyPartitioner",
    "HourlyPartitioner",
)
TIME_PARTITIONERS = ("TimeBasedPartitioner", "DailyPartitioner", "HourlyPartitioner")
EXTRACTORS = ("Wallclock", "Record", "RecordField")
PARQUET_CODECS = ("none", "uncompressed", "snappy", "gzip", "zstd", "lz4", "brotli")
AVRO_CODECS = ("null", "deflate", "snappy", "bzip2")


def _format_name(value: Any) -> str | None:
    text = str(value)
    for name, full in FORMAT_CLASSES.items():
        if text in (full, full.rsplit(".", 1)[1]):
            return name
    return None


def _format_problem(value: Any) -> str | None:
    if _format_name(value) is None:
        return "one of " + ", ".join(FORMAT_CLASSES.values())
    return None


def _partitioner_name(value: Any) -> str | None:
    text = str(value).removeprefix(PARTITIONER_PREFIX)
    return text if text in PARTITIONER_NAMES else None


def _partitioner_problem(value: Any) -> str | None:
    if _partitioner_name(value) is None:
        return "one of " + ", ".join(PARTITIONER_PREFIX + name for name in PARTITIONER_NAMES)
    return None


def _extractor_name(value: Any) -> str | None:
    text = str(value).rsplit("$", 1)[-1].rsplit(".", 1)[-1]
    for name in EXTRACTORS:
        if text.lower() == name.lower():
            return name
    return None


def _extractor_problem(value: Any) -> str | None:
    return (
        None if _extractor_name(value) else "one of Wallclock, Record, RecordField (custom classes are not supported)"
    )


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
            validator=_format_problem,
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
        validator=_partitioner_problem,
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
        validator=_extractor_problem,
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
        validator=_partitioner_problem,
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


@dataclass(frozen=True)
class StoreSettings:
    """Where the bucket is and how to talk to it."""

    bucket: str
    region: str
    endpoint_url: str | None
    access_key_id: str | None
    secret_access_key: str | None
    path_style: bool
    retries: int
    retry_backoff_ms: int
    topics_dir: str
    directory_delim: str
    file_delim: str

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> StoreSettings:
        secret = values["aws.secret.access.key"]
        return cls(
            bucket=values["s3.bucket.name"],
            region=values["s3.region"] or "us-east-1",
            endpoint_url=values["store.url"] or None,
            access_key_id=values["aws.access.key.id"] or None,
            secret_access_key=(secret.value if isinstance(secret, Password) else secret) or None,
            path_style=values["s3.path.style.access.enabled"],
            retries=values["s3.part.retries"],
            retry_backoff_ms=values["s3.retry.backoff.ms"],
            topics_dir=values["topics.dir"].strip(values["directory.delim"]),
            directory_delim=values["directory.delim"],
            file_delim=values["file.delim"],
        )

    @property
    def where(self) -> str:
        """The bucket and endpoint, for messages."""
        return f"bucket '{self.bucket}' at {self.endpoint_url or f'AWS S3 ({self.region})'}"


@dataclass(frozen=True)
class FormatSettings:
    """How records become bytes of an object, and back."""

    name: str  # json, avro, parquet or bytearray
    gzip: bool
    compression_level: int
    decimal_numeric: bool
    bytearray_extension: str
    bytearray_separator: bytes
    avro_codec: str
    parquet_codec: str
    parquet_row_group_records: int

    @classmethod
    def from_values(cls, values: Mapping[str, Any], raw: Mapping[str, Any]) -> FormatSettings:
        name = _format_name(values["format.class"])
        assert name is not None  # the key's validator refused other values
        codec = str(values.get("parquet.codec", "snappy")).lower()
        return cls(
            name=name,
            gzip=str(values["s3.compression.type"]).lower() == "gzip" and name in ("json", "bytearray"),
            compression_level=int(values.get("s3.compression.level", -1)),
            decimal_numeric=str(values["json.decimal.format"]).upper() == "NUMERIC",
            bytearray_extension=values["format.bytearray.extension"],
            # Taken as written: parsing strips whitespace, and the separator usually is whitespace.
            bytearray_separator=str(raw.get("format.bytearray.separator", "\n")).encode(),
            avro_codec=str(values.get("avro.codec", "null")),
            parquet_codec="none" if codec == "uncompressed" else codec,
            parquet_row_group_records=int(values.get("hub.s3.parquet.row.group.records", 50_000)),
        )


@dataclass(frozen=True)
class PartitionerSettings:
    """Which partitioner, with its options checked against each other."""

    name: str
    field_names: tuple[str, ...]
    duration_ms: int
    path_format: str
    locale: str
    timezone: str
    extractor: str
    timestamp_field: str

    @property
    def time_based(self) -> bool:
        return self.name in TIME_PARTITIONERS


@dataclass(frozen=True)
class SinkSettings:
    """Every option of the sink, typed."""

    store: StoreSettings
    format: FormatSettings
    partitioner: PartitionerSettings
    flush_size: int
    rotate_interval_ms: int
    rotate_schedule_interval_ms: int
    rotate_on_partition_change: bool
    part_size: int
    offset_pad_width: int
    ignore_nulls: bool
    retry_backoff_ms: int
    spill_threshold_bytes: int
    timezone: str
    upload_args: Mapping[str, str]

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> SinkSettings:
        values = SINK_CONFIG.parse(config)
        problems: dict[str, list[str]] = {}
        partitioner = _partitioner_settings(values, problems)
        timezone = str(values["timezone"])
        if values["rotate.schedule.interval.ms"] > 0 and not timezone:
            problems.setdefault("timezone", []).append("rotate.schedule.interval.ms needs a timezone")
        upload_args: dict[str, str] = {}
        if values["s3.ssea.name"]:
            upload_args["ServerSideEncryption"] = values["s3.ssea.name"]
            if values["s3.sse.kms.key.id"]:
                upload_args["SSEKMSKeyId"] = values["s3.sse.kms.key.id"]
        if values["s3.acl.canned"]:
            upload_args["ACL"] = values["s3.acl.canned"]
        if problems:
            raise ConfigError(problems)
        return cls(
            store=StoreSettings.from_values(values),
            format=FormatSettings.from_values(values, config),
            partitioner=partitioner,
            flush_size=values["flush.size"],
            rotate_interval_ms=values["rotate.interval.ms"],
            rotate_schedule_interval_ms=values["rotate.schedule.interval.ms"],
            rotate_on_partition_change=values["rotate.file.on.partition.change"],
            part_size=values["s3.part.size"],
            offset_pad_width=values["filename.offset.zero.pad.width"],
            ignore_nulls=str(values["behavior.on.null.values"]).lower() == "ignore",
            retry_backoff_ms=values["retry.backoff.ms"],
            spill_threshold_bytes=values["hub.s3.spill.threshold.bytes"],
            timezone=timezone or "UTC",
            upload_args=upload_args,
        )


@dataclass(frozen=True)
class SourceSettings:
    """Every option of the source, typed."""

    store: StoreSettings
    format: FormatSettings
    poll_interval_ms: int
    batch_max_size: int
    spill_threshold_bytes: int

    @classmethod
    def parse(cls, config: Mapping[str, Any]) -> SourceSettings:
        values = SOURCE_CONFIG.parse(config)
        return cls(
            store=StoreSettings.from_values(values),
            format=FormatSettings.from_values(values, config),
            poll_interval_ms=values["s3.poll.interval.ms"],
            batch_max_size=values["record.batch.max.size"],
            spill_threshold_bytes=values["hub.s3.spill.threshold.bytes"],
        )


def _partitioner_settings(values: Mapping[str, Any], problems: dict[str, list[str]]) -> PartitionerSettings:
    from connectors.s3.time_format import PathFormat  # the pattern is checked by compiling it

    name = _partitioner_name(values["partitioner.class"]) or "DefaultPartitioner"
    settings = PartitionerSettings(
        name=name,
        field_names=tuple(field for field in values["partition.field.name"] if field),
        duration_ms=values["partition.duration.ms"],
        path_format=values["path.format"],
        locale=values["locale"],
        timezone=values["timezone"],
        extractor=_extractor_name(values["timestamp.extractor"]) or "Wallclock",
        timestamp_field=values["timestamp.field"],
    )

    def problem(key: str, message: str) -> None:
        problems.setdefault(key, []).append(message)

    if name == "FieldPartitioner" and not settings.field_names:
        problem("partition.field.name", "FieldPartitioner needs at least one field name")
    if settings.time_based:
        if name == "TimeBasedPartitioner":
            if settings.duration_ms <= 0:
                problem("partition.duration.ms", "TimeBasedPartitioner needs a positive partition.duration.ms")
            if not settings.path_format:
                problem("path.format", "TimeBasedPartitioner needs a path.format")
        if not settings.locale:
            problem("locale", f"{name} needs a locale (e.g. en-US)")
        if not settings.timezone:
            problem("timezone", f"{name} needs a timezone (e.g. UTC)")
        if settings.extractor == "RecordField" and not settings.timestamp_field:
            problem("timestamp.field", "the RecordField extractor needs timestamp.field")
        pattern = path_format_of(settings)
        if pattern:
            try:
                PathFormat(pattern, settings.locale or "en")
            except ValueError as exc:
                problem("path.format", str(exc))
    if settings.timezone:
        try:
            ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problem("timezone", f"unknown time zone {settings.timezone!r} (use an IANA name such as UTC)")
    return settings


DAILY_FORMAT = "'year'=YYYY/'month'=MM/'day'=dd"
HOURLY_FORMAT = DAILY_FORMAT + "/'hour'=HH"


def path_format_of(settings: PartitionerSettings) -> str:
    """The path pattern a time-based partitioner uses (Daily and Hourly have fixed ones)."""
    return {"DailyPartitioner": DAILY_FORMAT, "HourlyPartitioner": HOURLY_FORMAT}.get(
        settings.name, settings.path_format
    )


def duration_of(settings: PartitionerSettings) -> int:
    """The time span of a directory of a time-based partitioner (Daily and Hourly have fixed ones)."""
    return {"DailyPartitioner": 86_400_000, "HourlyPartitioner": 3_600_000}.get(settings.name, settings.duration_ms)
