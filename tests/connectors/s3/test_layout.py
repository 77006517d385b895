"""Object names, path formats, partitioners and config checks of the S3 connectors (no server needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.s3.config import SINK_CONFIG, SOURCE_CONFIG
from connectors.s3.naming import NameParser, ObjectName, ObjectNamer
from connectors.s3.partitioners import (
    DefaultPartitioner,
    FieldPartitioner,
    TimeBasedPartitioner,
    field_time_extractor,
    make_partitioner,
    record_time,
)
from connectors.s3.settings import SinkSettings, SourceSettings
from connectors.s3.time_format import PathFormat
from hub.sdk import Struct
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.schema import (
    BOOLEAN_SCHEMA,
    INT32_SCHEMA,
    STRING_SCHEMA,
    struct_schema,
    timestamp_schema,
)
from tests.connectors.s3.conftest import JSON, record

BASE = {"s3.bucket.name": "b", "format.class": JSON, "flush.size": "10"}
ORDER = struct_schema(
    [("region", STRING_SCHEMA), ("shop", INT32_SCHEMA), ("open", BOOLEAN_SCHEMA), ("at", timestamp_schema())],
    name="order",
)
MAY_5_2024_1330_UTC = 1_714_915_800_000


def order(region: str = "eu", shop: int = 7, at: dt.datetime | None = None) -> Struct:
    when = at or dt.datetime(2024, 5, 5, 13, 30, tzinfo=dt.UTC)
    return Struct(ORDER, {"region": region, "shop": shop, "open": True, "at": when})


def sink_settings(**options: str) -> SinkSettings:
    return SinkSettings.parse({**BASE, **options})


# --- names -------------------------------------------------------------------------------------------------------


def test_object_names_are_confluents_with_the_start_offset_padded_to_ten_digits() -> None:
    namer = ObjectNamer("topics", "/", "+", 10, ".json")
    assert namer.key("orders", "partition=3", 3, 42) == "topics/orders/partition=3/orders+3+0000000042.json"


def test_object_names_follow_the_delimiters_and_padding_width() -> None:
    namer = ObjectNamer("backup", "#", "-", 4, ".avro")
    assert namer.key("orders", "region=eu", 0, 7) == "backup#orders#region=eu#orders-0-0007.avro"


def test_name_parser_reads_back_what_the_namer_writes_and_skips_other_objects() -> None:
    namer = ObjectNamer("topics", "/", "+", 10, ".json.gz")
    parser = NameParser("topics", "/", "+", ".json.gz")
    key = namer.key("my.topic_1", "year=2024/month=05", 12, 123456)
    assert parser.parse(key) == ObjectName("my.topic_1", 12, 123456, key)
    assert parser.parse("topics/orders/partition=0/orders+0+0000000001.json") is None  # another extension
    assert parser.parse("other/orders/partition=0/orders+0+0000000001.json.gz") is None  # outside topics.dir
    assert parser.parse("topics/orders/partition=0/notes.txt") is None
    assert parser.parse("topics/orders/partition=0/payments+0+0000000001.json.gz") is None  # not its topic


def test_parsed_names_sort_by_partition_then_start_offset() -> None:
    parser = NameParser("topics", "/", "+", ".json")
    keys = ["topics/t/a=2/t+1+0000000005.json", "topics/t/a=1/t+0+0000000010.json", "topics/t/a=1/t+0+0000000002.json"]
    names = sorted(name for key in keys if (name := parser.parse(key)) is not None)
    assert [(n.partition, n.start_offset) for n in names] == [(0, 2), (0, 10), (1, 5)]


# --- path formats ------------------------------------------------------------------------------------------------


def test_path_format_writes_joda_fields_and_quoted_text() -> None:
    moment = dt.datetime(2024, 5, 5, 3, 7, 9, 45_000, tzinfo=dt.UTC)
    assert PathFormat("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH").format(moment) == "year=2024/month=05/day=05/hour=03"
    assert PathFormat("yy-M-d H:m:s.SSS").format(moment) == "24-5-5 3:7:9.045"
    assert PathFormat("'it''s' D w e hh a").format(moment) == "it's 126 18 7 03 AM"
    assert PathFormat("MMM MMMM EEE EEEE").format(moment) == "May May Sun Sunday"
    assert PathFormat("Z ZZ").format(moment.astimezone(dt.timezone(dt.timedelta(hours=2)))) == "+0200 +02:00"


def test_path_format_refuses_unknown_letters_and_names_in_other_languages() -> None:
    with pytest.raises(ValueError, match="'q' is not supported"):
        PathFormat("yyyy/qq")
    with pytest.raises(ValueError, match="only in English"):
        PathFormat("MMMM", "fr-FR")
    assert PathFormat("YYYY/MM", "fr-FR").format(dt.datetime(2024, 1, 2)) == "2024/01"


# --- partitioners ------------------------------------------------------------------------------------------------


def test_default_partitioner_names_the_kafka_partition() -> None:
    assert DefaultPartitioner().encode(record(0, "x", partition=4)) == "partition=4"


def test_field_partitioner_joins_fields_and_refuses_what_it_cannot_name() -> None:
    partitioner = FieldPartitioner(("region", "shop", "open"), "/")
    assert partitioner.encode(record(0, order())) == "region=eu/shop=7/open=true"
    assert FieldPartitioner(("meta.zone",), "/").encode(record(0, {"meta": {"zone": "a"}})) == "meta.zone=a"
    with pytest.raises(DataError, match="no field 'missing'"):
        FieldPartitioner(("missing",), "/").encode(record(0, order()))
    with pytest.raises(DataError, match="needs a struct or map"):
        partitioner.encode(record(0, "plain"))
    with pytest.raises(DataError, match="takes strings, integers and booleans"):
        FieldPartitioner(("at",), "/").encode(record(0, order()))


def test_time_based_partitioner_floors_the_record_time_in_its_time_zone() -> None:
    settings = sink_settings(
        **{
            "partitioner.class": "io.confluent.connect.storage.partitioner.TimeBasedPartitioner",
            "partition.duration.ms": "7200000",
            "path.format": "'day'=dd/'hour'=HH",
            "locale": "en-US",
            "timezone": "America/New_York",
            "timestamp.extractor": "Record",
        }
    )
    partitioner = make_partitioner(settings.partitioner, "/")
    assert isinstance(partitioner, TimeBasedPartitioner)
    # 13:30 UTC is 09:30 in New York (EDT): the two-hour bucket starts at 08:00 local.
    assert partitioner.encode(record(0, "x", timestamp=MAY_5_2024_1330_UTC)) == "day=05/hour=08"


def test_daily_and_hourly_partitioners_use_confluents_fixed_paths() -> None:
    common = {"locale": "en", "timezone": "UTC", "timestamp.extractor": "RecordField", "timestamp.field": "at"}
    daily = make_partitioner(sink_settings(**{"partitioner.class": "DailyPartitioner", **common}).partitioner, "/")
    hourly = make_partitioner(sink_settings(**{"partitioner.class": "HourlyPartitioner", **common}).partitioner, "/")
    assert daily.encode(record(0, order())) == "year=2024/month=05/day=05"
    assert hourly.encode(record(0, order())) == "year=2024/month=05/day=05/hour=13"


def test_record_field_extractor_reads_millis_timestamps_dates_and_iso_strings() -> None:
    extract = field_time_extractor("t")
    assert extract(record(0, {"t": MAY_5_2024_1330_UTC})) == MAY_5_2024_1330_UTC
    assert extract(record(0, {"t": "2024-05-05T13:30:00Z"})) == MAY_5_2024_1330_UTC
    assert extract(record(0, {"t": dt.date(1970, 1, 2)})) == 86_400_000
    assert field_time_extractor("at")(record(0, order())) == MAY_5_2024_1330_UTC
    with pytest.raises(DataError, match="not an ISO-8601 time"):
        extract(record(0, {"t": "yesterday"}))
    with pytest.raises(DataError, match="has no timestamp"):
        record_time(record(0, "x"))


# --- configs -----------------------------------------------------------------------------------------------------


def test_confluent_class_names_and_defaults_are_accepted() -> None:
    settings = sink_settings(
        **{
            "storage.class": "io.confluent.connect.s3.storage.S3Storage",
            "schema.compatibility": "NONE",
            "store.kafka.keys": "false",
        }
    )
    assert settings.part_size == 25 * 1024 * 1024
    assert settings.store.topics_dir == "topics"
    assert settings.store.region == "us-west-2"
    assert settings.partitioner.name == "DefaultPartitioner"
    assert settings.format.name == "json"


def test_options_hub_does_not_implement_are_refused_with_the_reason() -> None:
    _, problems = SINK_CONFIG.errors({**BASE, "s3.sse.customer.key": "k", "store.kafka.keys": "true"})
    assert "customer-provided encryption keys are not supported" in problems["s3.sse.customer.key"][0]
    assert "writing keys is not supported" in problems["store.kafka.keys"][0]
    _, problems = SOURCE_CONFIG.errors({**BASE, "topic.regex.list": "a:.*"})
    assert "GENERALIZED" in problems["topic.regex.list"][0]


def test_part_size_below_five_mebibytes_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"s3\.part\.size"):
        sink_settings(**{"s3.part.size": "1048576"})


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"partitioner.class": "FieldPartitioner"}, "partition.field.name"),
        ({"partitioner.class": "TimeBasedPartitioner", "locale": "en", "timezone": "UTC", "path.format": "YYYY"},
         "partition.duration.ms"),
        ({"partitioner.class": "DailyPartitioner", "locale": "en"}, "timezone"),
        ({"partitioner.class": "HourlyPartitioner", "timezone": "UTC"}, "locale"),
        ({"partitioner.class": "DailyPartitioner", "locale": "en", "timezone": "Mars/Olympus"}, "timezone"),
        ({"partitioner.class": "TimeBasedPartitioner", "partition.duration.ms": "1000", "locale": "en",
          "timezone": "UTC", "path.format": "'x'=qq"}, "path.format"),
        ({"rotate.schedule.interval.ms": "60000"}, "timezone"),
        ({"format.class": "com.example.XmlFormat"}, "format.class"),
        ({"timestamp.extractor": "com.example.MyExtractor"}, "timestamp.extractor"),
    ],
)  # fmt: skip
def test_options_that_cannot_work_together_name_the_option(options: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as failure:
        sink_settings(**options)
    assert key in failure.value.errors


def test_source_settings_take_the_bucket_and_format() -> None:
    settings = SourceSettings.parse({"s3.bucket.name": "b", "format.class": "AvroFormat", "topics.dir": "/backup/"})
    assert settings.format.name == "avro"
    assert settings.store.topics_dir == "backup"
    assert settings.poll_interval_ms == 60_000
