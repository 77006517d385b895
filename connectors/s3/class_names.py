"""Confluent's class names for the S3 formats, the storage partitioners and the timestamp extractors, and the short
names Hub uses for them (``json``, ``DailyPartitioner``, ``Record``, …).

A class may be written fully qualified or by its simple name; the ``*_name`` functions return Hub's short name or
None, the ``*_problem`` functions are the option validators that say what is accepted.
"""

from __future__ import annotations

from typing import Any

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


def format_name(value: Any) -> str | None:
    text = str(value)
    for name, full in FORMAT_CLASSES.items():
        if text in (full, full.rsplit(".", 1)[1]):
            return name
    return None


def format_problem(value: Any) -> str | None:
    if format_name(value) is None:
        return "one of " + ", ".join(FORMAT_CLASSES.values())
    return None


def partitioner_name(value: Any) -> str | None:
    text = str(value).removeprefix(PARTITIONER_PREFIX)
    return text if text in PARTITIONER_NAMES else None


def partitioner_problem(value: Any) -> str | None:
    if partitioner_name(value) is None:
        return "one of " + ", ".join(PARTITIONER_PREFIX + name for name in PARTITIONER_NAMES)
    return None


def extractor_name(value: Any) -> str | None:
    text = str(value).rsplit("$", 1)[-1].rsplit(".", 1)[-1]
    for name in EXTRACTORS:
        if text.lower() == name.lower():
            return name
    return None


def extractor_problem(value: Any) -> str | None:
    return None if extractor_name(value) else "one of Wallclock, Record, RecordField (custom classes are not supported)"
