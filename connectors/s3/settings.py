"""The S3 connectors' typed settings, parsed from their options (``config.py``) and checked against each other.

``SinkSettings.parse`` / ``SourceSettings.parse`` turn a config into frozen settings and check what one option alone
cannot say (a time-based partitioner needs a time zone, a RecordField extractor a field, …), raising ConfigError
naming every option in trouble.

Immutable; safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.s3.class_names import TIME_PARTITIONERS, extractor_name, format_name, partitioner_name
from connectors.s3.config import SINK_CONFIG, SOURCE_CONFIG
from hub.sdk import Password
from hub.sdk.errors import ConfigError


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
        name = format_name(values["format.class"])
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

    name = partitioner_name(values["partitioner.class"]) or "DefaultPartitioner"
    settings = PartitionerSettings(
        name=name,
        field_names=tuple(field for field in values["partition.field.name"] if field),
        duration_ms=values["partition.duration.ms"],
        path_format=values["path.format"],
        locale=values["locale"],
        timezone=values["timezone"],
        extractor=extractor_name(values["timestamp.extractor"]) or "Wallclock",
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
