"""Object formats: how the values of records become the bytes of an object, and back (for the source).

Confluent's four formats, under their class names (``format.class``):

| format | object | extension |
|---|---|---|
| JsonFormat | one JSON value per line, as JsonConverter writes it without schemas | ``.json`` (``.json.gz``) |
| AvroFormat | an Avro container file; its schema derived from the records' Connect schema | ``.avro`` |
| ParquetFormat | a Parquet file with the struct's fields as columns | ``.<codec>.parquet`` |
| ByteArrayFormat | each value's bytes followed by ``format.bytearray.separator`` | ``.bin`` (``.bin.gz``) |

Every object holds values of one schema (the writer starts new objects when the schema changes). Writers produce
the same bytes for the same values — gzip without a timestamp, Avro sync markers derived from the object name —
so a rewritten object is identical, not only equivalent.

A RecordWriter belongs to one object and one thread; Formats are immutable.
"""

from __future__ import annotations

import gzip
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import orjson

from connectors.s3.buffer import GzipOutput, SpillBuffer
from connectors.s3.json_values import Convert, json_lines
from connectors.s3.settings import FormatSettings
from hub.sdk import Schema, Struct
from hub.sdk.errors import DataError
from hub.sdk.schema import BYTES_SCHEMA

_BYTES_LIKE = (bytes, bytearray, memoryview)


class RecordWriter(ABC):
    """Writes the values of one object into its buffer."""

    @abstractmethod
    def write(self, values: Sequence[Any]) -> None:
        """Append values; all or nothing — on an error none of ``values`` was written."""

    @abstractmethod
    def finish(self) -> None:
        """Write what ends the object (footer, end of compression); nothing is written after."""


class Format(ABC):
    """One of the formats of ``format.class``."""

    #: Whether records need a value schema.
    needs_schema = False

    @property
    @abstractmethod
    def extension(self) -> str:
        """The end of the object names, with its dot (``.json.gz``)."""

    @abstractmethod
    def writer(self, out: SpillBuffer, schema: Schema | None, key: str) -> RecordWriter:
        """A writer of one object (named ``key``) of values of ``schema`` into ``out``."""

    @abstractmethod
    def read(self, data: IO[bytes]) -> Iterator[tuple[Schema | None, Any]]:
        """The (schema, value) pairs of an object, in order."""


class _JsonWriter(RecordWriter):
    def __init__(self, out: SpillBuffer, schema: Schema | None, settings: FormatSettings) -> None:
        self.out = out
        self.gzip = GzipOutput(out, settings.compression_level) if settings.gzip else None
        self.encode = json_lines(schema, settings.decimal_numeric)

    def write(self, values: Sequence[Any]) -> None:
        (self.gzip or self.out).write(self.encode(values))

    def finish(self) -> None:
        if self.gzip is not None:
            self.gzip.finish()


class JsonFormat(Format):
    def __init__(self, settings: FormatSettings) -> None:
        self.settings = settings

    @property
    def extension(self) -> str:
        return ".json.gz" if self.settings.gzip else ".json"

    def writer(self, out: SpillBuffer, schema: Schema | None, key: str) -> RecordWriter:
        return _JsonWriter(out, schema, self.settings)

    def read(self, data: IO[bytes]) -> Iterator[tuple[Schema | None, Any]]:
        stream: IO[bytes] = gzip.GzipFile(fileobj=data, mode="rb") if self.settings.gzip else data  # type: ignore[assignment]
        for line in stream:
            if line.strip():
                yield None, orjson.loads(line)


class _BytesWriter(RecordWriter):
    def __init__(self, out: SpillBuffer, settings: FormatSettings) -> None:
        self.out = out
        self.gzip = GzipOutput(out, settings.compression_level) if settings.gzip else None
        self.separator = settings.bytearray_separator

    def write(self, values: Sequence[Any]) -> None:
        for value in values:
            if not isinstance(value, _BYTES_LIKE):
                raise DataError(
                    f"ByteArrayFormat writes bytes values, got {type(value).__name__} "
                    "(use org.apache.kafka.connect.converters.ByteArrayConverter)"
                )
        separator = self.separator
        data = separator.join(bytes(value) for value in values) + separator
        (self.gzip or self.out).write(data)

    def finish(self) -> None:
        if self.gzip is not None:
            self.gzip.finish()


class ByteArrayFormat(Format):
    def __init__(self, settings: FormatSettings) -> None:
        self.settings = settings

    @property
    def extension(self) -> str:
        return self.settings.bytearray_extension + (".gz" if self.settings.gzip else "")

    def writer(self, out: SpillBuffer, schema: Schema | None, key: str) -> RecordWriter:
        return _BytesWriter(out, self.settings)

    def read(self, data: IO[bytes]) -> Iterator[tuple[Schema | None, Any]]:
        stream: IO[bytes] = gzip.GzipFile(fileobj=data, mode="rb") if self.settings.gzip else data  # type: ignore[assignment]
        separator = self.settings.bytearray_separator
        if not separator:
            yield BYTES_SCHEMA, stream.read()
            return
        rest = b""
        while chunk := stream.read(1024 * 1024):
            pieces = (rest + chunk).split(separator)
            rest = pieces.pop()
            for piece in pieces:
                yield BYTES_SCHEMA, piece
        if rest:
            yield BYTES_SCHEMA, rest


def make_format(settings: FormatSettings) -> Format:
    """The format of ``format.class`` (Avro and Parquet import their libraries only when chosen)."""
    if settings.name == "avro":
        from connectors.s3.avro_format import AvroFormat

        return AvroFormat(settings)
    if settings.name == "parquet":
        from connectors.s3.parquet_format import ParquetFormat

        return ParquetFormat(settings)
    if settings.name == "bytearray":
        return ByteArrayFormat(settings)
    return JsonFormat(settings)


def struct_reader(schema: Schema, field_reader: Callable[[Schema], Convert | None]) -> Convert:
    """A record read back from a file (a dict) → a Struct of ``schema``, each field through the converter
    ``field_reader`` gives for its schema (None: the value as read)."""
    fields = [(field, field_reader(field.schema)) for field in schema.fields]

    def struct(value: dict[str, Any] | None) -> Struct | None:
        if value is None:
            return None
        values = []
        for field, convert in fields:
            item = value.get(field.name)
            values.append(convert(item) if convert is not None and item is not None else item)
        return Struct.from_values(schema, values)

    return struct
